/** Inline prompt steering: steered vs unsteered completions, per-token effects, token spans, prompt blocks (pure core: no vscode). */
export * from './rows';
export * from './steer';
export * from './spans';
export * from './blocks';
