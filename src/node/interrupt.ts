/**
 * Ctrl-C and SIGTERM in the CLI. The first Ctrl-C during a run that polls `interruption` (see
 * `pollInterruption`) asks it to stop at its next check, where the core throws CancelledError and the
 * CLI exits 130 after saying what was kept; a second Ctrl-C, a first one when nothing polls, and
 * SIGTERM stop the process at once. Outputs are written synchronously (writeAtomic and the ONNX
 * export: a temporary name, then a rename), and signal handlers run only between synchronous
 * stretches, so no stop leaves a half-written output or its temporary file behind; the temporary
 * names a SIGKILL leaves are removed by the next write of the same path (staleTemporaries, files.ts).
 */
import type { Cancellation } from '../core/errors';

const state = { cancelled: false, polled: false };
const kept: string[] = [];

/** The process's Ctrl-C as the core's Cancellation. */
export const interruption: Cancellation = {
  get cancelled() {
    return state.cancelled;
  },
};

/** `interruption`, for a run that polls it: from now on the first Ctrl-C lets the run stop at its next check. */
export function pollInterruption(): Cancellation {
  state.polled = true;
  return interruption;
}

/** Records what a stopped run leaves behind on purpose (a sweep's finished rows), for the closing message. */
export function keepOnInterrupt(what: string): void {
  kept.push(what);
}

/** The closing words of an interrupted run. */
export function interruptedMessage(): string {
  return `interrupted: ${kept.length > 0 ? `kept ${kept.join('; ')}; nothing else written` : 'nothing written'}`;
}

/** Installs the handlers; `label` starts their messages (`iv extract`). */
export function installInterruptHandlers(label: string): void {
  const say = (message: string) => process.stderr.write(`${process.stderr.isTTY ? '\n' : ''}${label}: ${message}\n`);
  const stop = (signal: 'SIGINT' | 'SIGTERM') => {
    if (signal === 'SIGINT' && state.polled && !state.cancelled) {
      state.cancelled = true;
      say('stopping at the next step (press Ctrl-C again to stop at once)');
      return;
    }
    state.cancelled = true;
    say(interruptedMessage());
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}
