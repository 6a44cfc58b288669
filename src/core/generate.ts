import { throwIfCancelled, type Cancellation } from './errors';
import type { GenerationEdits, SteerableModel } from './model';
import { makeSampler, type SamplingOptions } from './sampling';

export interface GenerateOptions extends SamplingOptions {
  maxNewTokens: number;
  edits?: GenerationEdits;
  /** Stop at the end-of-sequence token (default true). */
  stopAtEos?: boolean;
  onToken?: (id: number) => void;
  cancellation?: Cancellation;
}

export interface GenerationTimings {
  /** Time to run the prompt and produce the first new token's logits. */
  prefillMs: number;
  /** Time of the decoding steps after the first new token. */
  decodeMs: number;
  /** Decoding steps per second (each step feeds one token through the KV-cached model). */
  decodeTokensPerSecond: number;
}

export interface Generation {
  /** The new tokens (without the prompt). */
  tokens: number[];
  stopReason: 'eos' | 'max-tokens' | 'context';
  timings: GenerationTimings;
}

/** Autoregressive generation with a KV cache; edits apply to the prompt and/or to every new token. */
export async function generate(model: SteerableModel, prompt: readonly number[], options: GenerateOptions): Promise<Generation> {
  const pick = makeSampler(options);
  const stopAtEos = options.stopAtEos ?? true;
  const { eosId, maxSeqLen } = model.info;
  const session = await model.startDecoding();
  try {
    let start = performance.now();
    let logits = await session.prefill(prompt, options.edits?.prompt);
    const prefillMs = performance.now() - start;
    start = performance.now();
    const tokens: number[] = [];
    let steps = 0;
    let stopReason: Generation['stopReason'] = 'max-tokens';
    while (tokens.length < options.maxNewTokens) {
      throwIfCancelled(options.cancellation);
      const next = pick(logits);
      if (stopAtEos && next === eosId) {
        stopReason = 'eos';
        break;
      }
      tokens.push(next);
      options.onToken?.(next);
      if (tokens.length === options.maxNewTokens) break;
      if (session.length >= maxSeqLen) {
        stopReason = 'context';
        break;
      }
      logits = await session.step(next, options.edits?.everyNewToken);
      steps++;
    }
    const decodeMs = performance.now() - start;
    return { tokens, stopReason, timings: { prefillMs, decodeMs, decodeTokensPerSecond: steps > 0 ? (steps / decodeMs) * 1000 : 0 } };
  } finally {
    session.dispose();
  }
}
