/**
 * The core's layer-effects results as protocol messages. Pure (no vscode), so the conversion is
 * checked against the webview's guards in the unit tests.
 */
import { sweepRowsCandidates } from '../../core/experiment/fileNames';
import { ARTIFACT_EXTENSION } from '../../core/vectors/artifact';
import type { EffectScore as CoreScore, LayerEffect as CoreEffect, LayerEffectsUpdate, SweepHeatmap } from '../../core/experiment/layerEffects';
import {
  ConfusionsNotification,
  ConvergenceNotification,
  HeatmapNotification,
  LayerEffectNotification,
  NormsNotification,
  type EffectScore,
  type HeatmapGrid,
  type IpcMessage,
  type LayerEffect,
} from '../../protocol';

/** JSON has no NaN / Infinity: they travel as null. */
const finite = (x: number): number | null => (Number.isFinite(x) ? x : null);
/** Where null is not allowed (norms, rates), a non-finite value is a bug upstream; 0 keeps the charts drawable. */
const finiteOr0 = (x: number): number => (Number.isFinite(x) ? x : 0);

export function wireScore(s: CoreScore): EffectScore {
  return { accuracy: finiteOr0(s.accuracy), macroF1: finiteOr0(s.macroF1), meanMargin: finite(s.meanMargin) };
}

export function wireEffect(e: CoreEffect): LayerEffect {
  return { layer: e.layer, only: wireScore(e.only), allBut: wireScore(e.allBut) };
}

export function wireHeatmap(g: SweepHeatmap): HeatmapGrid {
  const cells = (m: (number | null)[][]) => m.map((row) => row.map((v) => (v === null ? null : finite(v))));
  return {
    shots: g.shots,
    refreshEvery: g.refreshEvery,
    extStrengths: [...g.extStrengths],
    evalStrengths: [...g.evalStrengths],
    macroF1: cells(g.macroF1),
    accuracy: cells(g.accuracy),
  };
}

/** One update of run `runId` as the notification to post. `sweepSource` names the sweep file the heatmap came from. */
export function updateMessage(runId: number, update: LayerEffectsUpdate, sweepSource: string | null): IpcMessage {
  switch (update.kind) {
    case 'norms':
      return NormsNotification.create({ runId, rowLabels: [...update.rowLabels], norms: update.norms.map((row) => row.map(finiteOr0)) });
    case 'convergence':
      return ConvergenceNotification.create({
        runId,
        points: update.points.map((p) => ({ episode: p.episode, relativeChange: p.relativeChange === null ? null : finite(p.relativeChange) })),
      });
    case 'heatmap':
      return HeatmapNotification.create({ runId, source: sweepSource, grids: update.grids.map(wireHeatmap) });
    case 'reference':
      return ConfusionsNotification.create({
        runId,
        labels: [...update.labels],
        icl: { confusion: update.confusion.icl.map((r) => [...r]), score: wireScore(update.icl) },
        iv: { confusion: update.confusion.iv.map((r) => [...r]), score: wireScore(update.iv) },
      });
    case 'layer':
      return LayerEffectNotification.create({ runId, effect: wireEffect(update.effect), done: update.done, total: update.total });
  }
}

/** Files next to `<stem>.ivec.safetensors` that may hold its sweep rows, in the order they are tried (sweepRowsCandidates, fileNames.ts). */
export function sweepCandidates(stem: string): string[] {
  return sweepRowsCandidates(`${stem}${ARTIFACT_EXTENSION}`);
}

/** Problems with an envelope for an `nLayers`-layer model (undefined: fine). */
export function envelopeProblem(values: readonly number[], nLayers: number): string | undefined {
  if (values.length !== nLayers) return `the envelope has ${values.length} values but the model has ${nLayers} layers`;
  const bad = values.findIndex((x) => !Number.isFinite(x));
  if (bad >= 0) return `envelope value ${bad} is not a finite number`;
  return undefined;
}
