/**
 * Lets the event loop run. Long synchronous stretches of the science (tokenizing thousands of
 * prompts) call it between chunks, so that an editor hosting them stays responsive.
 */
export function yieldNow(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
