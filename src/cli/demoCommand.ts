import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadDataset } from '../core/datasets';
import { writeAtomic } from '../core/fsAtomic';
import { extractArtifact } from '../core/experiment/extraction';
import { specFromArtifact } from '../core/experiment/artifacts';
import { evaluateMethod, fitCalibration, type MethodSpec } from '../core/experiment/methods';
import { prepareTask } from '../core/experiment/task';
import { EXTRACT_DEFAULTS } from '../core/iv/extract';
import { formatMetricsTable } from '../core/metrics';
import { writeArtifact } from '../core/vectors/artifact';
import { loadModel } from '../runtime/loadModel';
import { resultJson } from './evalCommand';
import { MODEL_OPTIONS, loadOptions, num, parse, stderrLog } from './options';
import { progressLine } from './taskOptions';

/**
 * The demo task: first-name gender with the label words "she" / "he", prompts starting with BOS.
 * Of the built-ins it is the one where stories15M ranks queries above chance (label-margin AUC about
 * 0.6-0.7 on validation): TinyStories pairs names with pronouns all the time. On the sentiment lexicon
 * and on spam its margins are close to chance, whatever the label words.
 */
export const DEMO_TASK = { dataset: 'stdlib:first-names', labelWords: { female: 'she', male: 'he' }, bos: true } as const;

export async function demoCommand(argv: string[]): Promise<void> {
  const { values } = parse(argv, { ...MODEL_OPTIONS, 'out-dir': { type: 'string', default: join('.iv', 'demo') }, episodes: { type: 'string' } });
  const outDir = values['out-dir'] as string;
  // 1000 test episodes: the 95% interval of an accuracy near 0.5 is then about +-0.03 (resampled by name).
  const episodes = num(values, 'episodes', 1000, { min: 10, max: 1e6, integer: true });
  const loaded = await loadModel(loadOptions(values, stderrLog));
  try {
    const { model, tokenizer } = loaded;
    const dataset = await loadDataset(DEMO_TASK.dataset, { labelWords: { ...DEMO_TASK.labelWords } });
    const task = prepareTask(dataset, tokenizer, model.info, { bos: DEMO_TASK.bos });
    stderrLog(`demo: ${model.info.name} on ${dataset.id} (${dataset.labels.join(' / ')}), ${dataset.counts.train?.rows} train / ${dataset.counts.validation?.rows} validation / ${dataset.counts.test?.rows} test names`);
    const base = { split: 'test' as const, shots: 1, episodes, seed: 42, demoOrder: 'shuffled' as const, resamples: 1000 };
    const validation = { ...base, split: 'validation' as const, episodes: 200, resamples: 0 };
    const extract = (method: 'iv' | 'tv' | 'fv') =>
      extractArtifact(model, task, {
        method,
        iv: { ...EXTRACT_DEFAULTS },
        validation,
        fv: { effectEpisodes: 20, topHeads: 6 },
        tokenizerSha256: tokenizer.sha256,
        onProgress: progressLine(`extract ${method}`),
      });
    const iv = await extract('iv');
    const tv = await extract('tv');
    const fv = await extract('fv');
    const specs: [string, MethodSpec, number][] = [
      ['ICL 0-shot', { method: 'icl' }, 0],
      ['ICL 1-shot', { method: 'icl' }, 1],
      ['ICL 1-shot calibrated', { method: 'icl-calibrated', bias: await fitCalibration(model, task, validation) }, 1],
      ['IV 1-shot (a2=0.5)', specFromArtifact(iv.artifact, 'iv', model.info, task, 0.5, 'all'), 1],
      ['TV 1-shot', specFromArtifact(tv.artifact, 'tv', model.info, task, 1, 'all'), 1],
      ['FV 1-shot', specFromArtifact(fv.artifact, 'fv', model.info, task, 1, 'all'), 1],
    ];
    const rows = [];
    for (const [name, spec, shots] of specs) {
      const opts = { ...base, shots };
      const r = await evaluateMethod(model, task, spec, { ...opts, onProgress: progressLine(name) });
      rows.push({ name, metrics: r.metrics, json: resultJson(name, spec, opts, r) });
    }
    mkdirSync(outDir, { recursive: true });
    const artifactPath = join(outDir, 'first-names.ivec.safetensors');
    iv.artifact.metadata.metrics = { test: rows.find((r) => r.name.startsWith('IV'))!.json };
    writeArtifact(artifactPath, iv.artifact);
    const resultsPath = join(outDir, 'results.json');
    const extraction = { ms: iv.ms, forwardPasses: iv.stats.forwardPasses, tokens: iv.stats.tokens };
    writeAtomic(resultsPath, `${JSON.stringify({ model: model.info.name, dataset: dataset.id, labels: dataset.labels, episodes, extraction, rows: rows.map((r) => r.json) }, null, 2)}\n`);
    process.stdout.write(`${formatMetricsTable(rows, task.labels)}\n\n`);
    process.stdout.write(`IV extraction: ${iv.stats.forwardPasses} forward passes in ${(iv.ms / 1000).toFixed(1)} s. Wrote ${artifactPath} and ${resultsPath}.\n`);
  } finally {
    await loaded.model.dispose();
  }
}
