import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadDataset } from '../node/datasets';
import { evaluateMethod } from '../core/experiment/methods';
import { runSweep } from '../core/experiment/sweep';
import { prepareTask, splitRows } from '../core/experiment/task';
import type { RunStats } from '../core/icl/scoring';
import { EXTRACT_DEFAULTS, extractIterativeVectors } from '../core/iv/extract';
import { runEngineBaseline } from '../runtime/bench/engineBench';
import type { LoadedModel } from '../runtime/loadModel';

export interface WorkloadRow {
  workload: string;
  forwardPasses: number;
  tokens: number;
  ms: number;
  forwardPassesPerSecond: number;
  tokensPerSecond: number;
  /** Engine's plain batched prefill tokens/s, timed right before and after this workload. */
  engineTokensPerSecond: number;
  ratioToEngine: number;
}

/** SST-2 from the shared datasets when present (the reference workload), else a built-in. */
export function defaultBenchDataset(): string {
  const sst2 = join(process.env.IV_SHARED_DIR ?? join('..', 'shared'), 'datasets', 'sst2');
  return existsSync(join(sst2, 'train.jsonl')) ? sst2 : 'stdlib:first-names';
}

/**
 * The algorithm's workloads against the engine: Algorithm 1 with the paper's defaults, Algorithm 2
 * (1-shot, 200 validation episodes) and a small sweep, each bracketed by engine baseline runs so
 * that the ratio compares like with like on a machine whose speed drifts. Tokens/s counts real
 * (unpadded) prompt tokens over the wall time of the whole workload, bookkeeping included.
 */
export async function runWorkloadBench(loaded: LoadedModel, source: string, log: (m: string) => void): Promise<{ dataset: string; rows: WorkloadRow[] }> {
  const { model, tokenizer } = loaded;
  const dataset = await loadDataset(source);
  const task = prepareTask(dataset, tokenizer, model.info);
  const train = splitRows(task, 'train');
  const validation = { split: 'validation' as const, shots: 1, episodes: 200, seed: 42, demoOrder: 'shuffled' as const, resamples: 0 };
  const workloads: [string, () => Promise<RunStats>][] = [
    ['extraction (E=200, k=4, b=10)', async () => (await extractIterativeVectors(model, task.verbalizer, train, { ...EXTRACT_DEFAULTS })).stats],
    ['evaluation (1-shot, 200 episodes)', async () => (await evaluateMethod(model, task, { method: 'icl' }, validation)).stats],
    [
      'sweep (k=1, a1=0.3, a2 in {0.5, 0.9}, E=50, 100 episodes)',
      async () =>
        (
          await runSweep(
            model,
            task,
            { shots: [1], extStrengths: [0.3], evalStrengths: [0.5, 0.9], noIterationStrengths: [] },
            {
              extract: { ...EXTRACT_DEFAULTS, episodes: 50 },
              eval: { ...validation, episodes: 100 },
              injectAt: 'all',
            },
          )
        ).stats,
    ],
  ];
  const rows: WorkloadRow[] = [];
  for (const [workload, run] of workloads) {
    log(`workload: ${workload}...`);
    const before = await runEngineBaseline(model, 3);
    const start = performance.now();
    const stats = await run();
    const ms = performance.now() - start;
    const after = await runEngineBaseline(model, 3);
    const engineTokensPerSecond = (before.tokensPerSecond + after.tokensPerSecond) / 2;
    const tokensPerSecond = (stats.tokens / ms) * 1000;
    rows.push({
      workload,
      forwardPasses: stats.forwardPasses,
      tokens: stats.tokens,
      ms,
      forwardPassesPerSecond: (stats.forwardPasses / ms) * 1000,
      tokensPerSecond,
      engineTokensPerSecond,
      ratioToEngine: tokensPerSecond / engineTokensPerSecond,
    });
  }
  return { dataset: dataset.id, rows };
}
