/** Chart colours from the VS Code theme (`--vscode-*` CSS variables), read with getComputedStyle. */
export interface Theme {
  foreground: string;
  muted: string;
  gridLines: string;
  background: string;
  fontFamily: string;
  fontSize: number;
  /** Colours for data series, in order. */
  series: string[];
  /** Steering one layer alone / all layers but one / ICL reference / IV on all layers. */
  only: string;
  allBut: string;
  icl: string;
  iv: string;
  /** Colour of grid cells at their highest value. */
  heat: string;
}

const FALLBACK = {
  foreground: '#cccccc',
  muted: '#8b8b8b',
  lines: 'rgba(128, 128, 128, 0.35)',
  background: '#1e1e1e',
  font: 'system-ui, sans-serif',
  blue: '#3794ff',
  orange: '#d18616',
  green: '#89d185',
  purple: '#b180d7',
  red: '#f14c4c',
  yellow: '#cca700',
};

/** Reads the theme from an element's computed style (the document root by default). */
export function readTheme(element: Element = document.documentElement): Theme {
  const style = getComputedStyle(element);
  const v = (name: string, fallback: string) => style.getPropertyValue(name).trim() || fallback;
  const blue = v('--vscode-charts-blue', FALLBACK.blue);
  const orange = v('--vscode-charts-orange', FALLBACK.orange);
  const green = v('--vscode-charts-green', FALLBACK.green);
  const purple = v('--vscode-charts-purple', FALLBACK.purple);
  const red = v('--vscode-charts-red', FALLBACK.red);
  const yellow = v('--vscode-charts-yellow', FALLBACK.yellow);
  const foreground = v('--vscode-charts-foreground', v('--vscode-foreground', FALLBACK.foreground));
  return {
    foreground,
    muted: v('--vscode-descriptionForeground', FALLBACK.muted),
    gridLines: v('--vscode-charts-lines', FALLBACK.lines),
    background: v('--vscode-editor-background', FALLBACK.background),
    fontFamily: v('--vscode-font-family', FALLBACK.font),
    fontSize: Number.parseFloat(v('--vscode-font-size', '13')) || 13,
    series: [blue, orange, green, purple, red, yellow],
    only: blue,
    allBut: orange,
    icl: v('--vscode-descriptionForeground', FALLBACK.muted),
    iv: green,
    heat: blue,
  };
}

/** A CSS colour between transparent (t = 0) and `color` (t = 1), resolved by the browser. */
export function mix(color: string, t: number): string {
  const pct = Math.round(Math.max(0, Math.min(1, t)) * 100);
  return `color-mix(in srgb, ${color} ${pct}%, transparent)`;
}
