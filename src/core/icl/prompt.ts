import { UserError } from '../errors';
import type { Tokenizer } from '../model';
import type { Example } from '../datasets';

/** The official verbalizer: `text.rstrip() + "\n" + label`, samples joined by "\n\n\n", no instruction. */
export const IO_SEPARATOR = '\n';
export const EXAMPLE_SEPARATOR = '\n\n\n';

export interface PromptOptions {
  /** Start with the BOS token (the official code has none; the embedded model was trained with it). */
  bos: boolean;
  /** Cap of one sample's input in tokens (the official code: 256); tighter caps come from the context. */
  maxSampleTokens: number;
  /** The model's context: an episode that would not fit gets every sample's input capped equally. */
  maxSeqLen: number;
}

export interface Prompt {
  tokens: number[];
  /** The io position of each demonstration, then the query's last: the separator token that precedes the label. */
  ioPositions: number[];
  /** Class of each demonstration (the query's class is not in the prompt). */
  demoLabels: number[];
  /** Input tokens removed from samples so that the episode fits, per sample (demonstrations, then query). */
  cut: number[];
}

/**
 * Builds prompts token by token, segment by segment, so that io positions are exact. Segments are
 * tokenized as they occur in the whole prompt string: only the first segment gets SentencePiece's
 * dummy prefix space, and "\n" is a byte token that never merges with its neighbours, so the
 * concatenation equals the tokenization of the joined string. Each sample's text and each label is
 * tokenized once and cached.
 */
export class Verbalizer {
  private readonly cache = new Map<string, number[]>();
  /** The tokenizer's BOS, encoded once when prompts start with it. */
  private bosTokens: number[] | undefined;
  readonly labelTokens: number[][];
  private readonly separator: number[];
  private readonly exampleSeparator: number[];

  constructor(
    private readonly tokenizer: Tokenizer,
    readonly labels: readonly string[],
    readonly options: PromptOptions,
  ) {
    this.separator = tokenizer.encode(IO_SEPARATOR, { prefixSpace: false });
    this.exampleSeparator = tokenizer.encode(EXAMPLE_SEPARATOR, { prefixSpace: false });
    this.labelTokens = labels.map((l) => tokenizer.encode(l, { prefixSpace: false }));
    const owner = new Map<number, string>();
    this.labelTokens.forEach((t, i) => {
      if (t.length === 0) throw new UserError(`the label word "${labels[i]}" has no tokens`, { field: 'labels' });
      const other = owner.get(t[0]);
      if (other !== undefined) {
        throw new UserError(
          `the label words "${other}" and "${labels[i]}" start with the same token ("${tokenizer.tokenText(t[0])}"), so first-token scoring cannot tell them apart; map them to other words`,
          { field: 'labels' },
        );
      }
      owner.set(t[0], labels[i]);
    });
  }

  /** The token each class is scored by: the first token of its label word as it appears after the separator. */
  get labelFirstTokens(): number[] {
    return this.labelTokens.map((t) => t[0]);
  }

  /** Tokens of a sample's input: trailing whitespace stripped, dummy prefix only when it opens the prompt. */
  private text(text: string, first: boolean): number[] {
    const key = `${first ? 1 : 0}:${text}`;
    let tokens = this.cache.get(key);
    if (!tokens) {
      tokens = this.tokenizer.encode(text.trimEnd(), { prefixSpace: first });
      this.cache.set(key, tokens);
    }
    return tokens;
  }

  /** A sample input's length in tokens as it appears inside a prompt (tokenized once, cached for the prompts). */
  inputLength(text: string): number {
    return this.text(text, false).length;
  }

  /** The prompt of demonstrations (with their labels) followed by the query (without its label). */
  build(demos: readonly Example[], query: Example): Prompt {
    const { bos, maxSampleTokens, maxSeqLen } = this.options;
    const samples = [...demos, query];
    const inputs = samples.map((ex, i) => this.text(ex.text, i === 0));
    const bosTokens = bos ? (this.bosTokens ??= this.tokenizer.encode('', { bos: true })) : [];
    const fixed =
      bosTokens.length +
      demos.reduce((acc, ex) => acc + this.separator.length + this.labelTokens[ex.label].length + this.exampleSeparator.length, 0) +
      this.separator.length;
    const cap = inputCap(inputs.map((t) => t.length), maxSeqLen - fixed, maxSampleTokens);
    const tokens: number[] = [...bosTokens];
    const ioPositions: number[] = [];
    const cut: number[] = [];
    samples.forEach((ex, i) => {
      const input = inputs[i];
      cut.push(Math.max(0, input.length - cap));
      tokens.push(...(input.length > cap ? input.slice(0, cap) : input), ...this.separator);
      ioPositions.push(tokens.length - 1);
      if (i < demos.length) tokens.push(...this.labelTokens[ex.label], ...this.exampleSeparator);
    });
    return { tokens, ioPositions, demoLabels: demos.map((d) => d.label), cut };
  }
}

/**
 * The largest per-sample input length c <= maxSampleTokens with sum(min(len_i, c)) <= budget: inputs
 * are cut at their end, all to the same length, and only as much as the context requires.
 */
export function inputCap(lengths: readonly number[], budget: number, maxSampleTokens: number): number {
  const total = (c: number) => lengths.reduce((acc, n) => acc + Math.min(n, c), 0);
  if (budget < lengths.length) {
    throw new UserError(`an episode of ${lengths.length} samples does not fit the model's context even with one token per input; use fewer shots`, { field: 'shots' });
  }
  let lo = 1;
  let hi = Math.max(1, Math.min(maxSampleTokens, Math.max(...lengths)));
  if (total(hi) <= budget) return hi;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (total(mid) <= budget) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
