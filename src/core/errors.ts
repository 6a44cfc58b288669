/** Where a user-facing problem is: enough to jump to it (file, 1-based line, field). */
export interface Location {
  file?: string;
  line?: number;
  field?: string;
}

/**
 * An error caused by the user's input or environment (bad file, missing model, wrong option),
 * as opposed to a bug. Its message is shown as is, so it must say what is wrong and where.
 */
export class UserError extends Error {
  readonly location: Location;
  constructor(message: string, location: Location = {}) {
    super(formatMessage(message, location));
    this.name = 'UserError';
    this.location = location;
  }
}

function formatMessage(message: string, { file, line, field }: Location): string {
  const where = [file, line !== undefined ? `line ${line}` : undefined, field !== undefined ? `field "${field}"` : undefined]
    .filter((x) => x !== undefined)
    .join(', ');
  return where ? `${where}: ${message}` : message;
}

/** Thrown when the user cancels a long run; callers treat it as a clean stop, not a failure. */
export class CancelledError extends Error {
  constructor() {
    super('cancelled');
    this.name = 'CancelledError';
  }
}

/** Cancellation as the core sees it: a flag to poll between batches (VS Code tokens and AbortSignals adapt to it). */
export interface Cancellation {
  readonly cancelled: boolean;
}

export function throwIfCancelled(c: Cancellation | undefined): void {
  if (c?.cancelled) throw new CancelledError();
}
