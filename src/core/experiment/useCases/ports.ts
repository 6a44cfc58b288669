/** What a use case reports through and is stopped by; each face supplies its own (stderr, a progress notification, a panel). */
import type { Cancellation } from '../../errors';
import type { RunStats } from '../../icl/scoring';
import type { SteerableModel } from '../../model';
import { forwardRates } from '../resultJson';

export interface RunPorts {
  /** A line for the log (progress lines aside). */
  log(message: string): void;
  warn(message: string): void;
  /** A new phase ("extracting iv"): `share` of the whole run, where the face shows one bar. */
  phase?(message: string, share?: number): void;
  progress?(done: number, total: number): void;
  cancellation?: Cancellation;
  /** What a run that stops leaves behind on purpose (a sweep's finished rows, to resume from), for the face to say. */
  kept?(what: string): void;
}

/** The loaded model as the use cases need it. */
export interface ModelHandle {
  model: SteerableModel;
  tokenizerSha256: string;
}

/** The speed figures of a run: its wall time and the forward-time rates of evalResultJson. */
export function timingsOf(stats: RunStats, ms: number) {
  return { ms, ...forwardRates(stats) };
}
