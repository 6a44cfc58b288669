import { throwIfCancelled, type Cancellation } from '../errors';
import type { Example } from '../datasets';
import type { Edit, SteerableModel } from '../model';
import type { ScoredPrediction } from '../metrics';
import { argmax } from '../sampling';
import { yieldNow } from '../yieldNow';
import { BATCH_TOKENS, lengthSortedBatches } from './batches';
import type { Episode } from './episodes';
import type { Prompt, Verbalizer } from './prompt';

/** Interventions of a steering method for one prompt of a batch (sequence `seq`). */
export type Steering = (prompt: Prompt, seq: number) => readonly Edit[];

export interface RunStats {
  forwardPasses: number;
  tokens: number;
  ms: number;
}

export interface ScoreOptions {
  steering?: Steering;
  cancellation?: Cancellation;
  onProgress?: (done: number, total: number) => void;
}

/** Every episode's prompt, yielding to the event loop every few dozen (tokenization is synchronous). */
export async function buildPrompts(verbalizer: Verbalizer, split: readonly Example[], episodes: readonly Episode[]): Promise<Prompt[]> {
  const prompts: Prompt[] = [];
  for (const e of episodes) {
    if (prompts.length % 8 === 7) await yieldNow();
    prompts.push(
      verbalizer.build(
        e.support.map((i) => split[i]),
        split[e.query],
      ),
    );
  }
  return prompts;
}

/**
 * Algorithm 2's inner loop for any method: every episode's prompt in length-sorted batches, logits
 * only at the query's io position, prediction = argmax over the classes' first label tokens.
 */
export async function scoreEpisodes(
  model: SteerableModel,
  verbalizer: Verbalizer,
  split: readonly Example[],
  episodes: readonly Episode[],
  options: ScoreOptions = {},
): Promise<{ predictions: ScoredPrediction[]; stats: RunStats; prompts: Prompt[] }> {
  const prompts = await buildPrompts(verbalizer, split, episodes);
  const labelTokens = verbalizer.labelFirstTokens;
  const predictions = new Array<ScoredPrediction>(prompts.length);
  const stats: RunStats = { forwardPasses: 0, tokens: 0, ms: 0 };
  const batches = lengthSortedBatches(
    prompts.map((p) => p.tokens.length),
    BATCH_TOKENS,
  );
  let done = 0;
  for (const batch of batches) {
    throwIfCancelled(options.cancellation);
    const edits = options.steering ? batch.flatMap((i, seq) => options.steering!(prompts[i], seq)) : [];
    const start = performance.now();
    const run = await model.forward({
      tokens: batch.map((i) => prompts[i].tokens),
      logits: batch.map((i, seq) => ({ seq, pos: prompts[i].ioPositions[prompts[i].ioPositions.length - 1] })),
      edits,
    });
    stats.ms += performance.now() - start;
    stats.forwardPasses += batch.length;
    stats.tokens += batch.reduce((acc, i) => acc + prompts[i].tokens.length, 0);
    batch.forEach((i, seq) => {
      const labelLogits = Float32Array.from(labelTokens, (t) => run.logits[seq][t]);
      predictions[i] = { gold: split[episodes[i].query].label, predicted: argmax(labelLogits), labelLogits, item: episodes[i].query };
    });
    done += batch.length;
    options.onProgress?.(done, prompts.length);
  }
  return { predictions, stats, prompts };
}
