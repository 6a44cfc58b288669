/** Every command id the extension registers or runs (package.json contributes the same ids; a test checks both lists match). */
export const COMMAND_IDS = {
  extract: 'iterativeVectors.extract',
  evaluate: 'iterativeVectors.evaluate',
  sweep: 'iterativeVectors.sweep',
  compareMethods: 'iterativeVectors.compareMethods',
  rerun: 'iterativeVectors.rerun',
  selectModel: 'iterativeVectors.selectModel',
  exportGguf: 'iterativeVectors.exportGguf',
  showLog: 'iterativeVectors.showLog',
  showLayers: 'iterativeVectors.showLayers',
  steerPrompt: 'iterativeVectors.steerPrompt',
  compare: 'iterativeVectors.compare',
  setStrength: 'iterativeVectors.setStrength',
  chooseVector: 'iterativeVectors.inline.chooseVector',
  clearHeatmap: 'iterativeVectors.inline.clear',
  inlineShowLayers: 'iterativeVectors.inline.showLayers',
  lastPanelReport: 'iterativeVectors.internal.lastPanelReport',
} as const;
