import { UserError } from '../errors';
import type { Tokenizer } from '../model';
import type { Example } from '../datasets';

/** The official verbalizer: `text.rstrip() + "\n" + label`, samples joined by "\n\n\n", no instruction. */
export const IO_SEPARATOR = '\n';
export const EXAMPLE_SEPARATOR = '\n\n\n';

/**
 * How the prompt's pieces become tokens. `segments` (the official code's): every piece (a sample's
 * text, the io separator, a label, the example separator) is the tokenizer's own plain encoding of
 * that piece alone, so with SentencePiece each piece starts with the dummy-prefix "▁" ("\n" is
 * [▁, <0x0A>], a label its whole-word "▁label" token). `joined`: the tokenization of the whole
 * prompt string (only the first piece gets the dummy prefix; labels are scored by their
 * within-word fragments).
 */
export type Tokenization = 'segments' | 'joined';
export const TOKENIZATIONS: readonly Tokenization[] = ['segments', 'joined'];
export const DEFAULT_TOKENIZATION: Tokenization = 'segments';

export interface PromptOptions {
  /** Start with the BOS token (the official code has none; the embedded model was trained with it). */
  bos: boolean;
  /** Cap of one sample's input in tokens (the official code: 256); tighter caps come from the context. */
  maxSampleTokens: number;
  /** The model's context: an episode that would not fit gets every sample's input capped equally. */
  maxSeqLen: number;
  tokenization: Tokenization;
}

export interface Prompt {
  tokens: number[];
  /** The io position of each demonstration, then the query's last: the separator token that precedes the label. */
  ioPositions: number[];
  /** Class of each demonstration (the query's class is not in the prompt). */
  demoLabels: number[];
  /** Input tokens removed from samples so that the episode fits, per sample (demonstrations, then query). */
  cut: number[];
  /** Input tokens kept per sample (demonstrations, then query). */
  kept: number[];
  /** The query's input tokens as they stand in this prompt (after any cut). */
  queryInput: number[];
}

/**
 * Builds prompts token by token, segment by segment, so that io positions are exact. Each sample's
 * text and each label is tokenized once and cached.
 */
export class Verbalizer {
  private readonly cache = new Map<string, number[]>();
  /** The tokenizer's BOS, encoded once when prompts start with it. */
  private bosTokens: number[] | undefined;
  readonly labelTokens: number[][];
  readonly separator: number[];
  readonly exampleSeparator: number[];

  constructor(
    private readonly tokenizer: Tokenizer,
    readonly labels: readonly string[],
    readonly options: PromptOptions,
  ) {
    const piece = (text: string) => tokenizer.encode(text, { prefixSpace: options.tokenization === 'segments' });
    this.separator = piece(IO_SEPARATOR);
    this.exampleSeparator = piece(EXAMPLE_SEPARATOR);
    this.labelTokens = labels.map(piece);
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

  /** The token each class is scored by: the first token of its label's encoding (as the prompt holds it). */
  get labelFirstTokens(): number[] {
    return this.labelTokens.map((t) => t[0]);
  }

  /** Tokens of a sample's input, trailing whitespace stripped. Joined: the dummy prefix only when it opens the prompt. */
  private text(text: string, first: boolean): number[] {
    const prefix = this.options.tokenization === 'segments' || first;
    const key = `${prefix ? 1 : 0}:${text}`;
    let tokens = this.cache.get(key);
    if (!tokens) {
      tokens = this.tokenizer.encode(text.trimEnd(), { prefixSpace: prefix });
      this.cache.set(key, tokens);
    }
    return tokens;
  }

  /** A sample input's length in tokens as it appears inside a prompt (tokenized once, cached for the prompts). */
  inputLength(text: string): number {
    return this.text(text, false).length;
  }

  private bos(): number[] {
    return this.options.bos ? (this.bosTokens ??= this.tokenizer.encode('', { bos: true })) : [];
  }

  /** The prompt of demonstrations (with their labels) followed by the query (without its label). */
  build(demos: readonly Example[], query: Example): Prompt {
    const { maxSampleTokens, maxSeqLen } = this.options;
    const samples = [...demos, query];
    const inputs = samples.map((ex, i) => this.text(ex.text, i === 0));
    const bosTokens = this.bos();
    const fixed =
      bosTokens.length +
      demos.reduce((acc, ex) => acc + this.separator.length + this.labelTokens[ex.label].length + this.exampleSeparator.length, 0) +
      this.separator.length;
    const cap = inputCap(
      inputs.map((t) => t.length),
      maxSeqLen - fixed,
      maxSampleTokens,
    );
    const tokens: number[] = [...bosTokens];
    const ioPositions: number[] = [];
    const cut: number[] = [];
    const kept: number[] = [];
    let queryInput: number[] = [];
    samples.forEach((ex, i) => {
      const input = inputs[i].length > cap ? inputs[i].slice(0, cap) : inputs[i];
      cut.push(inputs[i].length - input.length);
      kept.push(input.length);
      tokens.push(...input, ...this.separator);
      ioPositions.push(tokens.length - 1);
      if (i < demos.length) tokens.push(...this.labelTokens[ex.label], ...this.exampleSeparator);
      else queryInput = input;
    });
    return { tokens, ioPositions, demoLabels: demos.map((d) => d.label), cut, kept, queryInput };
  }

  /** The zero-shot prompt of a few-shot prompt's query: exactly the query tokens it holds (same cut, same prefix), then the separator. */
  zeroShot(fewShot: Prompt): Prompt {
    const tokens = [...this.bos(), ...fewShot.queryInput, ...this.separator];
    return {
      tokens,
      ioPositions: [tokens.length - 1],
      demoLabels: [],
      cut: [fewShot.cut.at(-1)!],
      kept: [fewShot.queryInput.length],
      queryInput: fewShot.queryInput,
    };
  }
}

/** How much of the samples' inputs a run's prompts kept: every sample, and the queries alone. */
export interface CutStats {
  samples: number;
  cutSamples: number;
  tokensRemoved: number;
  meanTokensKept: number;
  queries: { samples: number; cutSamples: number; meanTokensKept: number };
}

export function cutStats(prompts: readonly Prompt[]): CutStats {
  let samples = 0;
  let cutSamples = 0;
  let tokensRemoved = 0;
  let kept = 0;
  let queryCut = 0;
  let queryKept = 0;
  for (const p of prompts) {
    samples += p.cut.length;
    p.cut.forEach((c, i) => {
      if (c > 0) cutSamples++;
      tokensRemoved += c;
      kept += p.kept[i];
    });
    if (p.cut.at(-1)! > 0) queryCut++;
    queryKept += p.kept.at(-1)!;
  }
  const q = prompts.length;
  return {
    samples,
    cutSamples,
    tokensRemoved,
    meanTokensKept: samples ? kept / samples : 0,
    queries: { samples: q, cutSamples: queryCut, meanTokensKept: q ? queryKept / q : 0 },
  };
}

/**
 * The largest per-sample input length c <= maxSampleTokens with sum(min(len_i, c)) <= budget: inputs
 * are cut at their end, all to the same length, and only as much as the context requires.
 */
export function inputCap(lengths: readonly number[], budget: number, maxSampleTokens: number): number {
  const total = (c: number) => lengths.reduce((acc, n) => acc + Math.min(n, c), 0);
  if (budget < lengths.length) {
    throw new UserError(`an episode of ${lengths.length} samples does not fit the model's context even with one token per input; use fewer shots`, {
      field: 'shots',
    });
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
