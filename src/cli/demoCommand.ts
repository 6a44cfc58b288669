import { join } from 'node:path';
import { loadDataset } from '../core/datasets';
import { prepareTask } from '../core/experiment/task';
import { EXTRACT_DEFAULTS } from '../core/iv/extract';
import { FV_DEFAULTS } from '../core/baselines/functionVectors';
import { TV_SHOTS_GRID } from '../core/experiment/methods';
import { loadModel } from '../runtime/loadModel';
import { compareMethods } from './compareCommand';
import { MODEL_OPTIONS, loadOptions, num, parse, stderrLog } from './options';

/**
 * The demo task: first-name gender with the label words "she" / "he", prompts starting with BOS.
 * Of the built-ins it is the one where stories15M ranks queries above chance (label-margin AUC about
 * 0.8 zero-shot, 0.7 1-shot): TinyStories pairs names with pronouns all the time. On the sentiment lexicon and on spam
 * its margins stay close to chance whatever the label words (measured on validation, 300 episodes).
 */
export const DEMO_TASK = { dataset: 'stdlib:first-names', labelWords: { female: 'she', male: 'he' }, bos: true } as const;

export async function demoCommand(argv: string[]): Promise<void> {
  const { values } = parse(argv, { ...MODEL_OPTIONS, 'out-dir': { type: 'string', default: join('.iv', 'demo') }, episodes: { type: 'string' } });
  const outDir = values['out-dir'] as string;
  // 1000 test episodes: the 95% interval of an accuracy near 0.5 is then about +-0.035 (resampled by name).
  const episodes = num(values, 'episodes', 1000, { min: 10, max: 1e6, integer: true });
  const loaded = await loadModel(loadOptions(values, stderrLog));
  try {
    const { model, tokenizer } = loaded;
    const dataset = await loadDataset(DEMO_TASK.dataset, { labelWords: { ...DEMO_TASK.labelWords } });
    const task = prepareTask(dataset, tokenizer, model.info, { bos: DEMO_TASK.bos });
    stderrLog(`demo: ${model.info.name} on ${dataset.id} (${dataset.labels.join(' / ')}): ${dataset.counts.train?.rows} train, ${dataset.counts.validation?.rows} validation, ${dataset.counts.test?.rows} test names`);
    const test = { split: 'test' as const, shots: 1, episodes, seed: 42, demoOrder: 'shuffled' as const, resamples: 1000 };
    const validation = { ...test, split: 'validation' as const, episodes: 200, resamples: 0 };
    const artifact = join(outDir, 'first-names.ivec.safetensors');
    const results = join(outDir, 'results.json');
    const { table, report } = await compareMethods(loaded, task, {
      test,
      validation,
      extract: { iv: { ...EXTRACT_DEFAULTS }, validation, tv: { shotsGrid: [...TV_SHOTS_GRID] }, fv: { ...FV_DEFAULTS }, tokenizerSha256: tokenizer.sha256 },
      ivStrength: 0.5,
      artifact,
      results,
    });
    const perf = report.performance as { extraction: { ms: number; forwardPasses: number } };
    process.stdout.write(`${table}\n\nIV extraction (paper defaults: E=200, k=4, b=10, a1=0.3): ${perf.extraction.forwardPasses} forward passes in ${(perf.extraction.ms / 1000).toFixed(1)} s.\nWrote ${artifact} and ${results}.\n`);
  } finally {
    await loaded.model.dispose();
  }
}
