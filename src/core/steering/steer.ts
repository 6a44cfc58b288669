/**
 * Inline steering of a free prompt with a steering vector (one d-vector per layer, added at the
 * attention output `blocks.{l}.attn_out`, scaled by `strength`).
 *
 * Where it acts:
 *  - `steeredGeneration`: at the prompt's LAST position and at every generated position
 *    (GenerationEdits.prompt + everyNewToken). Iterative Vectors are measured at io-separator
 *    positions, and the query row is the correction applied where the answer is produced; a free
 *    prompt has no separator, so its last position (and each new one) plays the query's role.
 *  - `tokenEffects`: at EVERY prompt position from `editFrom` on (all text tokens by default), so
 *    that a per-token view shows where the vector acts; this is a different intervention from the
 *    generation's, chosen for the view, not the one the completions were produced with.
 */
import { throwIfCancelled, UserError, type Cancellation } from '../errors';
import { generate, type Generation } from '../generate';
import type { Edit, StepEdit, SteerableModel, Tokenizer } from '../model';
import type { SteeringRows } from './rows';

export interface SteerOptions {
  /** Per layer the vector to add (undefined: none at that layer); width d. */
  rows: SteeringRows;
  /** Multiplies every row; 0 leaves the model unchanged. */
  strength: number;
}

export interface GenerationSteerOptions extends SteerOptions {
  maxNewTokens: number;
  /** 0 (default): greedy, so the two completions differ only through the vector. */
  temperature?: number;
  topP?: number;
  /** The same seed for both runs, so sampled completions are comparable (default 42). */
  seed?: number;
  /** Prepend BOS (default true: llama2.c models are trained with it). */
  bos?: boolean;
  cancellation?: Cancellation;
  /** Streaming: text added to the unsteered or steered completion. */
  onText?: (which: 'unsteered' | 'steered', text: string) => void;
}

export interface Completion {
  text: string;
  tokens: number[];
  stopReason: Generation['stopReason'];
  ms: number;
}

export interface SteeredGeneration {
  /** The prompt's token ids (with BOS when asked). */
  promptTokens: number[];
  unsteered: Completion;
  steered: Completion;
  /** Index of the first generated token that differs (-1 when the completions are equal). */
  firstDifference: number;
}

/** Scaled vectors at attn_out, one per layer that has a row: strength x row_l. */
export function scaledEdits(rows: SteeringRows, strength: number, d: number): StepEdit[] {
  if (!Number.isFinite(strength)) throw new UserError(`strength must be a finite number, got ${strength}`);
  const out: StepEdit[] = [];
  rows.forEach((row, layer) => {
    if (!row) return;
    if (row.length !== d) throw new UserError(`the steering vector of layer ${layer} has width ${row.length}; the model's width is ${d}`);
    out.push({ site: 'attn_out', layer, vector: row.map((x) => x * strength) });
  });
  return out;
}

function checkRows(model: SteerableModel, rows: SteeringRows): void {
  if (rows.length > model.info.nLayers) throw new UserError(`the steering vector has ${rows.length} layers; the model has ${model.info.nLayers}`);
}

/** The prompt must hold a text token and fit the context. */
function checkPrompt(model: SteerableModel, tokens: readonly number[], bos: boolean): void {
  if (tokens.length <= (bos ? 1 : 0)) throw new UserError('the prompt is empty');
  const max = model.info.maxSeqLen;
  if (tokens.length > max) throw new UserError(`the prompt has ${tokens.length} tokens; ${model.info.name} reads at most ${max}`);
}

/** Text of `generated` as it continues `prompt` (keeps the leading space SentencePiece puts on the first new word). */
export function continuationText(tokenizer: Tokenizer, prompt: readonly number[], generated: readonly number[]): string {
  const before = tokenizer.decode(prompt);
  const all = tokenizer.decode([...prompt, ...generated]);
  return all.startsWith(before) ? all.slice(before.length) : tokenizer.decode(generated);
}

/**
 * Steered and unsteered completions of `prompt` (greedy by default). Steering adds strength x
 * rows[l] at attn_out of every layer at the prompt's last position and at every generated position.
 */
export async function steeredGeneration(
  model: SteerableModel,
  tokenizer: Tokenizer,
  prompt: string,
  options: GenerationSteerOptions,
): Promise<SteeredGeneration> {
  checkRows(model, options.rows);
  if (!(Number.isInteger(options.maxNewTokens) && options.maxNewTokens >= 1))
    throw new UserError(`maxNewTokens must be a positive integer, got ${options.maxNewTokens}`);
  const bos = options.bos ?? true;
  const promptTokens = tokenizer.encode(prompt, { bos });
  checkPrompt(model, promptTokens, bos);
  const layers = scaledEdits(options.rows, options.strength, model.info.dModel);
  const last = promptTokens.length - 1;
  const sampling = { temperature: options.temperature ?? 0, topP: options.topP ?? 1, seed: options.seed ?? 42 };
  const run = async (which: 'unsteered' | 'steered'): Promise<Completion> => {
    throwIfCancelled(options.cancellation);
    const start = performance.now();
    const stream = options.onText && streamer(tokenizer, promptTokens, (t) => options.onText!(which, t));
    const g = await generate(model, promptTokens, {
      ...sampling,
      maxNewTokens: options.maxNewTokens,
      cancellation: options.cancellation,
      onToken: stream,
      edits: which === 'steered' ? { prompt: layers.map((e) => ({ ...e, seq: 0, pos: last })), everyNewToken: layers } : undefined,
    });
    return { text: continuationText(tokenizer, promptTokens, g.tokens), tokens: g.tokens, stopReason: g.stopReason, ms: performance.now() - start };
  };
  const unsteered = await run('unsteered');
  const steered = await run('steered');
  let firstDifference = -1;
  const n = Math.max(unsteered.tokens.length, steered.tokens.length);
  for (let i = 0; i < n; i++) {
    if (unsteered.tokens[i] !== steered.tokens[i]) {
      firstDifference = i;
      break;
    }
  }
  return { promptTokens, unsteered, steered, firstDifference };
}

/** Emits the text each new token adds (by decoding the growing sequence: exact with SentencePiece spaces and byte tokens). */
function streamer(tokenizer: Tokenizer, prompt: readonly number[], emit: (text: string) => void): (id: number) => void {
  const ids = [...prompt];
  let shown = tokenizer.decode(ids).length;
  return (id) => {
    ids.push(id);
    const text = tokenizer.decode(ids);
    if (text.length > shown && !text.endsWith('\uFFFD')) {
      emit(text.slice(shown));
      shown = text.length;
    }
  };
}

// ---------------------------------------------------------------------------------------------
// Per-token effects

export interface TokenChange {
  id: number;
  text: string;
  /** Probability without steering. */
  before: number;
  /** Probability with steering. */
  after: number;
}

export interface TokenEffect {
  /** Position in the token sequence (BOS is position 0 when present). */
  position: number;
  id: number;
  text: string;
  /** Whether the vector was added at this position. */
  edited: boolean;
  /** Per layer: ||resid_post(steered) - resid_post(unsteered)||. */
  residDelta: number[];
  /** Per layer: ||resid_post(unsteered)|| (to read residDelta relatively). */
  residNorm: number[];
  /** KL(P_unsteered || P_steered) of the next-token distribution at this position, in nats. */
  kl: number;
  /** The next tokens whose probability changed most (by |after - before|), largest first. */
  top: TokenChange[];
}

export interface TokenEffectsOptions extends SteerOptions {
  /** Prepend BOS (default true). */
  bos?: boolean;
  /** First position that receives the vector (default: the first text token, i.e. 1 after BOS). */
  editFrom?: number;
  /** How many changed next tokens to list per position (default 5). */
  topK?: number;
  cancellation?: Cancellation;
}

export interface TokenEffects {
  tokens: number[];
  effects: TokenEffect[];
  strength: number;
  editFrom: number;
}

/**
 * Per prompt token: how much steering changes the residual stream (resid_post, per layer) and the
 * next-token distribution (KL, top changed tokens). The vector is added at EVERY position from
 * `editFrom` on, at every layer that has a row; unsteered and steered run as one batch of two.
 * Full logits at all positions: meant for prompts up to the context (256 tokens for stories15M).
 */
export async function tokenEffects(model: SteerableModel, tokenizer: Tokenizer, prompt: string, options: TokenEffectsOptions): Promise<TokenEffects> {
  checkRows(model, options.rows);
  const bos = options.bos ?? true;
  const tokens = tokenizer.encode(prompt, { bos });
  checkPrompt(model, tokens, bos);
  const editFrom = options.editFrom ?? (bos ? 1 : 0);
  if (!(Number.isInteger(editFrom) && editFrom >= 0)) throw new UserError(`editFrom must be a non-negative integer, got ${editFrom}`);
  const layers = scaledEdits(options.rows, options.strength, model.info.dModel);
  const edits: Edit[] = [];
  for (let pos = editFrom; pos < tokens.length; pos++) for (const e of layers) edits.push({ ...e, seq: 1, pos });
  throwIfCancelled(options.cancellation);
  const positions = tokens.flatMap((_, pos) => [
    { seq: 0, pos },
    { seq: 1, pos },
  ]);
  const out = await model.forward({ tokens: [tokens, tokens], edits, taps: positions, tapSites: ['resid_post'], logits: positions });
  throwIfCancelled(options.cancellation);
  const resid = out.taps.resid_post!;
  const L = model.info.nLayers;
  const topK = options.topK ?? 5;
  const effects = tokens.map((id, pos): TokenEffect => {
    const residDelta: number[] = [];
    const residNorm: number[] = [];
    for (let l = 0; l < L; l++) {
      const a = resid.at(l, 2 * pos);
      const b = resid.at(l, 2 * pos + 1);
      let dd = 0;
      let nn = 0;
      for (let j = 0; j < a.length; j++) {
        dd += (b[j] - a[j]) ** 2;
        nn += a[j] * a[j];
      }
      residDelta.push(Math.sqrt(dd));
      residNorm.push(Math.sqrt(nn));
    }
    const p = softmax(out.logits[2 * pos]);
    const q = softmax(out.logits[2 * pos + 1]);
    return {
      position: pos,
      id,
      text: tokenizer.tokenText(id),
      edited: pos >= editFrom,
      residDelta,
      residNorm,
      kl: klDivergence(p, q),
      top: topChanges(p, q, topK).map((t) => ({ ...t, text: tokenizer.tokenText(t.id) })),
    };
  });
  return { tokens, effects, strength: options.strength, editFrom };
}

/** Softmax in float64 (stable: shifted by the maximum). */
export function softmax(logits: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  const p = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += p[i] = Math.exp(logits[i] - max);
  for (let i = 0; i < p.length; i++) p[i] /= sum;
  return p;
}

/** KL(p || q) in nats; terms with p = 0 contribute 0; never negative (rounding is clamped). */
export function klDivergence(p: ArrayLike<number>, q: ArrayLike<number>): number {
  if (p.length !== q.length) throw new RangeError(`distributions of ${p.length} and ${q.length} entries`);
  let kl = 0;
  for (let i = 0; i < p.length; i++) {
    if (p[i] > 0) kl += q[i] > 0 ? p[i] * Math.log(p[i] / q[i]) : Infinity;
  }
  return Math.max(0, kl);
}

/** The k entries with the largest |q - p| (ties: lower id first), largest first. */
export function topChanges(p: ArrayLike<number>, q: ArrayLike<number>, k: number): { id: number; before: number; after: number }[] {
  const best: { id: number; delta: number }[] = [];
  if (k <= 0) return [];
  for (let i = 0; i < p.length; i++) {
    const delta = Math.abs(q[i] - p[i]);
    if (best.length < k || delta > best[best.length - 1].delta) {
      let j = Math.min(best.length, k - 1);
      if (best.length < k) best.push({ id: i, delta });
      while (j > 0 && best[j - 1].delta < delta) {
        best[j] = best[j - 1];
        j--;
      }
      best[j] = { id: i, delta };
    }
  }
  return best.map(({ id }) => ({ id, before: p[id], after: q[id] }));
}

export interface EffectsSummary {
  strength: number;
  tokens: number;
  meanKl: number;
  maxKl: { position: number; text: string; kl: number };
  /** Per layer: mean ||delta resid_post|| over the edited positions. */
  meanResidDelta: number[];
  /** At the last position: the next tokens whose probability changed most. */
  lastTop: TokenChange[];
}

/** A small JSON-friendly digest of tokenEffects (edited positions only). */
export function summarizeEffects(e: TokenEffects): EffectsSummary {
  const edited = e.effects.filter((t) => t.edited);
  const L = e.effects[0]?.residDelta.length ?? 0;
  const meanResidDelta = Array.from({ length: L }, (_, l) => (edited.length ? edited.reduce((s, t) => s + t.residDelta[l], 0) / edited.length : 0));
  let max = edited[0] ?? e.effects[0];
  for (const t of edited) if (t.kl > max.kl) max = t;
  const last = e.effects[e.effects.length - 1];
  return {
    strength: e.strength,
    tokens: e.effects.length,
    meanKl: edited.length ? edited.reduce((s, t) => s + t.kl, 0) / edited.length : 0,
    maxKl: max ? { position: max.position, text: max.text, kl: max.kl } : { position: -1, text: '', kl: 0 },
    meanResidDelta,
    lastTop: last?.top ?? [],
  };
}
