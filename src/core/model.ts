/**
 * The model as the science sees it: a decoder that runs a batch of token sequences with
 * interventions at named sites and returns only what was asked for. No tensor library types here;
 * `src/runtime` implements it on ONNX Runtime.
 *
 * Sites, per layer l (TransformerLens names):
 *  - `blocks.{l}.attn_out`   attention output after the output projection, before the residual add
 *                            (where Iterative Vectors live); edits here are additive.
 *  - `blocks.{l}.head_out`   the input of the output projection: all heads' outputs concatenated
 *                            (width nHeads * headDim = d); a head's slice is columns h*headDim..;
 *                            edits here are additive (Function Vectors).
 *  - `blocks.{l}.resid_post` the residual stream after the block; edits here REPLACE the value
 *                            (Task Vectors).
 */
export type Site = 'attn_out' | 'head_out' | 'resid_post';
export const SITES: readonly Site[] = ['attn_out', 'head_out', 'resid_post'];

export interface ModelInfo {
  /** Human name, e.g. "stories15M". */
  name: string;
  /** sha256 of the weights (or graph) the model was built from: the model's identity in artifacts. */
  sha256: string;
  nLayers: number;
  dModel: number;
  nHeads: number;
  /** Key/value heads (fewer than nHeads with grouped-query attention). */
  nKvHeads: number;
  headDim: number;
  vocabSize: number;
  /** Longest sequence (prompt + generated) the model accepts. */
  maxSeqLen: number;
  bosId: number;
  eosId: number;
}

/** A position in a batch: sequence index and token index within that sequence. */
export interface Position {
  seq: number;
  pos: number;
}

/** How an edit acts at each site: the one place that says it (validation, feeds and graphs follow it). */
export const SITE_OPERATION: Readonly<Record<Site, 'add' | 'replace'>> = { attn_out: 'add', head_out: 'add', resid_post: 'replace' };

/** One intervention: at `site` of `layer`, at `seq`/`pos`, add or write (per SITE_OPERATION) `vector` (width d). */
export interface Edit extends Position {
  site: Site;
  layer: number;
  vector: Float32Array;
}

/** An edit at a generated token: its position is the new token's, so it names none. */
export type StepEdit = Omit<Edit, keyof Position>;

export interface ForwardRequest {
  /** Token ids per sequence; lengths may differ (the runtime right-pads). */
  tokens: readonly (readonly number[])[];
  /** Interventions at any site (post-edit values are what later layers and taps see); additive edits at one row sum, a replaced row takes at most one. */
  edits?: readonly Edit[];
  /** Positions at which to read the sites in `tapSites` at every layer. */
  taps?: readonly Position[];
  tapSites?: readonly Site[];
  /** Positions whose next-token logits are returned (full vocabulary). */
  logits?: readonly Position[];
}

/** Values of one site at every layer for the requested tap positions: data is [layers, positions, d]. */
export class LayerTaps {
  constructor(
    readonly data: Float32Array,
    readonly layers: number,
    readonly positions: number,
    readonly width: number,
  ) {}
  /** The d-vector at layer `layer` for the `k`-th tap position (a view, not a copy). */
  at(layer: number, k: number): Float32Array {
    const start = (layer * this.positions + k) * this.width;
    return this.data.subarray(start, start + this.width);
  }
}

export interface ForwardResult {
  /** One vocabulary-sized row per requested logit position, in request order. */
  logits: Float32Array[];
  taps: Partial<Record<Site, LayerTaps>>;
}

/** Interventions applied while generating: at the prompt's positions, and at every new token. */
export interface GenerationEdits {
  /** Edits inside the prompt (seq must be 0). */
  prompt?: readonly Edit[];
  /** Added at each generated position (seq/pos ignored), e.g. a steering vector at every step. */
  everyNewToken?: readonly StepEdit[];
}

/** A running generation with a KV cache; positions are absolute within the sequence. */
export interface DecodeSession {
  /** Runs the prompt and returns the logits at its last position. */
  prefill(tokens: readonly number[], edits?: readonly Edit[]): Promise<Float32Array>;
  /** Appends one token and returns the logits at its position; `edits` apply at that position. */
  step(token: number, edits?: readonly StepEdit[]): Promise<Float32Array>;
  /** Number of tokens in the cache. */
  readonly length: number;
  dispose(): void;
}

export interface SteerableModel {
  readonly info: ModelInfo;
  /** The execution provider that actually runs (after any fallback), e.g. "cpu". */
  readonly executionProvider: string;
  forward(request: ForwardRequest): Promise<ForwardResult>;
  /** A new generation with its own KV cache (resolves once the decoder is ready). */
  startDecoding(): Promise<DecodeSession>;
  dispose(): Promise<void>;
}

export interface Tokenizer {
  /** SentencePiece-style encoding; `bos` prepends the BOS id; `prefixSpace` false skips the dummy leading "▁" (for segment-wise tokenization). */
  encode(text: string, options?: { bos?: boolean; prefixSpace?: boolean }): number[];
  decode(ids: readonly number[]): string;
  /** Surface text of one token (for per-token views). */
  tokenText(id: number): string;
  readonly vocabSize: number;
  /** sha256 of the tokenizer definition: its identity in artifacts. */
  readonly sha256: string;
}
