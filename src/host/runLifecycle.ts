/**
 * The run lifecycle the layer panel and inline steering share: one run at a time, the latest wins
 * (a new run supersedes the one in flight, which stops at its next check and whose results are
 * dropped), user cancel, and the error policy. No VS Code: the unit tests drive it.
 */
import { CancelledError, UserError, type Cancellation } from '../core/errors';

/** A command's outcome when it was cancelled (by the user, or superseded by a newer run). */
export interface Cancelled {
  cancelled: true;
}

/** One run of a RunSlot. Pass it to the core as its Cancellation. */
export interface Run extends Cancellation {
  /** Grows with each run of the slot. */
  readonly id: number;
  /** A newer run replaced it, or the slot was disposed: its results go nowhere. */
  readonly superseded: boolean;
  /** Also stop (as cancelled) when `source` fires, e.g. the token of the run's progress notification. */
  follow(source: Cancellation): void;
}

/** How a run ended: `superseded` runs are dropped quietly, `cancelled` ones are quiet, `failed` ones go through the error policy. */
export type RunOutcome<T> = { status: 'done'; value: T } | { status: 'cancelled' } | { status: 'superseded' } | { status: 'failed'; error: unknown };

class RunState implements Run {
  private stop: 'superseded' | 'cancelled' | undefined;
  private readonly sources: Cancellation[] = [];

  constructor(readonly id: number) {}

  get superseded(): boolean {
    return this.stop === 'superseded';
  }

  get cancelled(): boolean {
    return this.stop !== undefined || this.sources.some((s) => s.cancelled);
  }

  follow(source: Cancellation): void {
    this.sources.push(source);
  }

  /** Superseded wins: once a newer run exists, nobody waits for this one's outcome, cancelled or not. */
  end(reason: 'superseded' | 'cancelled'): void {
    if (reason === 'superseded' || this.stop === undefined) this.stop = reason;
  }
}

/** Where runs take turns: each waits for the one before it to settle (one model runs one thing at a time). */
export class RunSlot {
  private latest: RunState | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private disposed = false;

  /** `lastId`: the id of the last run before this slot (run ids keep growing across webview reloads). */
  constructor(private lastId = 0) {}

  /** The latest run until it settles. */
  get current(): Run | undefined {
    return this.latest;
  }

  /** Starts `work` after the run in flight, which it supersedes. The outcome never rejects. */
  start<T>(work: (run: Run) => Promise<T>): { run: Run; outcome: Promise<RunOutcome<T>> } {
    this.latest?.end('superseded');
    const run = new RunState(++this.lastId);
    if (this.disposed) run.end('superseded');
    this.latest = run;
    const outcome = this.tail.then(() => settle(run, work));
    this.tail = outcome;
    void outcome.then(() => {
      if (this.latest === run) this.latest = undefined;
    });
    return { run, outcome };
  }

  /** The user's cancel: the latest run stops at its next check. */
  cancel(): void {
    this.latest?.end('cancelled');
  }

  /** Supersedes the run in flight and any later one. */
  dispose(): void {
    this.disposed = true;
    this.latest?.end('superseded');
  }
}

async function settle<T>(run: RunState, work: (run: Run) => Promise<T>): Promise<RunOutcome<T>> {
  if (run.superseded) return { status: 'superseded' };
  try {
    const value = await work(run);
    // Only the latest run delivers, even one that finished before it looked at its cancellation.
    return run.superseded ? { status: 'superseded' } : { status: 'done', value };
  } catch (error) {
    if (run.superseded) return { status: 'superseded' };
    return isCancellation(error) ? { status: 'cancelled' } : { status: 'failed', error };
  }
}

/** The core's CancelledError, or VS Code's CancellationError (named "Canceled"), which VS Code APIs throw. */
export function isCancellation(e: unknown): boolean {
  return e instanceof CancelledError || (e instanceof Error && e.name === 'Canceled');
}

/**
 * The error policy: a UserError is shown as is (it names the file, line or field), anything else is
 * logged with its stack; a cancellation is quiet (undefined). `subject` names what failed.
 */
export function failureReport(subject: string, e: unknown): { log: string; message: string } | undefined {
  if (isCancellation(e)) return undefined;
  if (e instanceof UserError) return { log: `${subject}: ${e.message}`, message: `${subject}: ${e.message}` };
  const err = e instanceof Error ? e : new Error(String(e));
  return { log: `${subject} failed: ${err.stack ?? err.message}`, message: `${subject} failed: ${err.message}` };
}
