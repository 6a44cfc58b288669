import * as vscode from 'vscode';
import type { Cancellation } from '../core/errors';
import { failureReport, isCancellation, type Cancelled } from './runLifecycle';
import { COMMAND_IDS } from './commandIds';

export type { Cancelled } from './runLifecycle';

const SHOW_LOG = 'Show Log';

/** What a long run sees: the core's cancellation flag and a progress reporter. */
export interface RunContext {
  cancellation: Cancellation;
  /** A new phase ("extracting iv"): replaces the message; its progress fills `share` of the bar (default: what is left). */
  phase(message: string, share?: number): void;
  /** `done` of `total` units of the current phase (the bar follows it). */
  progress(done: number, total: number): void;
}

/** The CancellationToken as the core's `{ cancelled }` flag, polled between batches. */
export function cancellationOf(token: vscode.CancellationToken): Cancellation {
  return {
    get cancelled() {
      return token.isCancellationRequested;
    },
  };
}

/**
 * Runs `work` under a cancellable notification whose title links to the log. Progress is shown as
 * "phase: done/total"; each phase fills its share of the bar. Cancelling sets the flag the core polls; the run then
 * throws CancelledError from its next check.
 */
export function withRunProgress<T>(title: string, work: (ctx: RunContext) => Promise<T>): Thenable<T> {
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `${title} · [Show Log](command:${COMMAND_IDS.showLog})`, cancellable: true },
    async (progress, token) => {
      let phase = '';
      let reported = 0;
      let start = 0;
      let span = 100;
      let last = 0;
      const ctx: RunContext = {
        cancellation: cancellationOf(token),
        phase(message, share) {
          phase = message;
          start = reported;
          span = share === undefined ? 100 - start : Math.min(100 - start, Math.max(0, share * 100));
          progress.report({ message });
        },
        progress(done, total) {
          const fraction = total > 0 ? Math.min(1, done / total) : 0;
          const now = Date.now();
          if (done < total && now - last < 250) return;
          last = now;
          // withProgress bars only grow: report what this phase adds beyond what was shown.
          const increment = Math.max(0, start + fraction * span - reported);
          reported += increment;
          progress.report({ message: `${phase}${phase ? ': ' : ''}${done}/${total}`, increment });
        },
      };
      return work(ctx);
    },
  );
}

/**
 * Runs a command body with the extension's error policy: a UserError is shown as is (it names the
 * file, line or field) with a "Show Log" button, a CancelledError is a quiet note, anything else is
 * shown and logged with its stack. Palette calls then resolve undefined; programmatic calls
 * (`interactive` false) reject with the same error, except cancellation, which resolves `{ cancelled: true }`.
 */
export async function runCommand<T>(
  name: string,
  log: vscode.LogOutputChannel,
  interactive: boolean,
  body: () => Promise<T>,
): Promise<T | Cancelled | undefined> {
  try {
    return await body();
  } catch (e) {
    if (isCancellation(e)) {
      log.info(`${name}: cancelled`);
      void vscode.window.showInformationMessage(`Iterative Vectors: ${name} cancelled; nothing was written.`);
      return interactive ? undefined : { cancelled: true };
    }
    reportFailure(log, name, e);
    if (interactive) return undefined;
    throw e;
  }
}

/** The error policy (failureReport) applied: logged, and shown with "Show Log" unless `show` is false; a cancellation is quiet. */
export function reportFailure(log: vscode.LogOutputChannel, subject: string, e: unknown, show = true): void {
  const failure = failureReport(subject, e);
  if (!failure) return;
  log.error(failure.log);
  if (show) void showError(failure.message, log);
}

async function showError(message: string, log: vscode.LogOutputChannel): Promise<void> {
  if ((await vscode.window.showErrorMessage(`Iterative Vectors: ${message}`, SHOW_LOG)) === SHOW_LOG) log.show(true);
}

/** An information message with buttons; "Show Log" is handled here, the others returned. */
export async function notify(log: vscode.LogOutputChannel, message: string, ...buttons: string[]): Promise<string | undefined> {
  const choice = await vscode.window.showInformationMessage(message, ...buttons, SHOW_LOG);
  if (choice === SHOW_LOG) {
    log.show(true);
    return undefined;
  }
  return choice;
}
