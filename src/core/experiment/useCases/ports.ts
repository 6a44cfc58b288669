/** What a use case reports through and is stopped by; each face supplies its own (stderr, a progress notification, a panel). */
import type { Cancellation } from '../../errors';
import type { SteerableModel } from '../../model';

export interface RunPorts {
  /** A line for the log (progress lines aside). */
  log(message: string): void;
  warn(message: string): void;
  /** A new phase ("extracting iv"): `share` of the whole run, where the face shows one bar. */
  phase?(message: string, share?: number): void;
  progress?(done: number, total: number): void;
  cancellation?: Cancellation;
}

/** The loaded model as the use cases need it. */
export interface ModelHandle {
  model: SteerableModel;
  tokenizerSha256: string;
}

/** The speed figures of a run: forward passes and tokens per second of forward time. */
export function timingsOf(stats: { forwardPasses: number; tokens: number; ms: number }, ms: number) {
  const rate = (n: number) => (stats.ms > 0 ? (n / stats.ms) * 1000 : 0);
  return {
    ms,
    forwardMs: stats.ms,
    forwardPasses: stats.forwardPasses,
    tokens: stats.tokens,
    forwardPassesPerSecond: rate(stats.forwardPasses),
    tokensPerSecond: rate(stats.tokens),
  };
}
