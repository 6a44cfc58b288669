import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Tokenizer as HfTokenizer, SequenceDecoder } from '@huggingface/tokenizers';
import { UserError } from '../../core/errors';
import { parseJson } from '../../core/json';
import { CONFIG_JSON_LIMIT, readTextChecked, TOKENIZER_JSON_LIMIT } from '../hub/modelFolder';
import type { Tokenizer } from '../../core/model';

/**
 * Tokenizers for exported models: a Hugging Face `tokenizer.json` (with `tokenizer_config.json`)
 * from a model folder, on @huggingface/tokenizers; and a plain UTF-8 byte tokenizer for models
 * whose vocabulary is the 256 bytes.
 */

/** SentencePiece's visible space, the dummy prefix of Llama-style tokenizers. */
const SPIECE_SPACE = '\u2581';

type Json = Record<string, unknown>;

/** The parts of a tokenizer.json this module looks at; the rest goes to @huggingface/tokenizers as is. */
export interface HubTokenizerJson {
  normalizer?: Json | null;
  pre_tokenizer?: Json | null;
  post_processor?: Json | null;
  decoder?: Json | null;
  added_tokens?: { id: number; content: string; special?: boolean }[];
  model: { type?: string; vocab?: Record<string, number> | [string, number][]; unk_token?: string | null } & Json;
  [key: string]: unknown;
}

export interface HubTokenizerOptions {
  /** Identity of the tokenizer definition (see loadHubTokenizer for what it covers). */
  sha256: string;
  bosId?: number;
  eosId?: number;
  /** Whether the model's own tokenizer puts BOS in front of a text (informational; encode() adds it only when asked). */
  addBosToken?: boolean;
  /** tokenizer_config.json: passed to @huggingface/tokenizers (e.g. remove_space, additional_special_tokens). */
  config?: Json;
  /** Where the tokenizer came from, for messages (a folder or a file). */
  source?: string;
  /** The tokenizer.json path, as the `file` of errors about its content. */
  file?: string;
}

/**
 * A tokenizer.json tokenizer behind our `Tokenizer` interface.
 *
 *  - encode() never adds special tokens by itself (the post-processor is dropped); `bos: true`
 *    prepends `bosId`. Text is tokenized literally: special tokens such as "<s>" or
 *    "<|endoftext|>" written in the text are NOT turned into their special ids (as the embedded
 *    model's LlamaTokenizer and SentencePiece do), so dataset text cannot inject control tokens.
 *    Non-special added tokens (e.g. the whitespace runs of code tokenizers) are kept: they are part
 *    of the vocabulary the model was trained with.
 *  - `prefixSpace: false` tokenizes with a second HF tokenizer built from the same JSON without its
 *    dummy leading space: a `Prepend("▁")` normalizer removed (also inside a Sequence: the legacy
 *    Llama tokenizer.json), a Metaspace pre-tokenizer with prepend_scheme "never", a ByteLevel
 *    pre-tokenizer with add_prefix_space false. For tokenizers without a dummy prefix (GPT-2) it
 *    changes nothing (`hasDummyPrefix` is false).
 *  - decode() skips special tokens and does not apply clean_up_tokenization_spaces (which would
 *    turn " ." into "." and make decoding lossy and unstreamable).
 */
export class HubTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly sha256: string;
  readonly bosId: number | undefined;
  readonly eosId: number | undefined;
  /** Whether the model's own tokenizer adds BOS to a text (tokenizer_config add_bos_token, or its post-processor). */
  readonly addBosToken: boolean;
  /** Whether encode() adds a dummy leading space that `prefixSpace: false` leaves out. */
  readonly hasDummyPrefix: boolean;
  readonly source: string | undefined;
  /** All added tokens: decode() and the special-token list. */
  private readonly full: HfTokenizer;
  /** Without the special added tokens: encode(). */
  private readonly encoder: HfTokenizer;
  private readonly noPrefixJson: HubTokenizerJson | undefined;
  private noPrefixEncoder: HfTokenizer | undefined;
  private readonly added = new Map<number, { content: string; special: boolean }>();
  /** The decoder without its "strip the first token's leading space" step: the surface text of one token. */
  private readonly surface: SequenceDecoder | null;
  private readonly hfConfig: Json;
  private readonly file: string | undefined;

  constructor(json: HubTokenizerJson, options: HubTokenizerOptions) {
    const { file } = options;
    checkShape(json, file);
    this.file = file;
    this.sha256 = options.sha256;
    this.source = options.source;
    const base: HubTokenizerJson = {
      ...json,
      normalizer: json.normalizer ?? null,
      pre_tokenizer: legacyMetaspace(json.pre_tokenizer ?? null),
      post_processor: null,
      decoder: json.decoder ?? null,
      added_tokens: json.added_tokens ?? [],
    };
    for (const t of base.added_tokens ?? []) this.added.set(t.id, { content: t.content, special: t.special === true });
    this.vocabSize = vocabSize(base, file);
    this.hfConfig = { ...(options.config ?? {}), clean_up_tokenization_spaces: false };
    this.full = this.hf(base, file);
    const hasSpecialAdded = [...this.added.values()].some((t) => t.special);
    this.encoder = hasSpecialAdded ? this.hf(literalSpecials(base), file) : this.full;
    const noPrefix = withoutDummyPrefix(base);
    this.hasDummyPrefix = noPrefix.changed;
    this.noPrefixJson = noPrefix.changed ? literalSpecials(noPrefix.json) : undefined;
    this.surface = base.decoder ? surfaceDecoder(base.decoder, file) : null;
    this.bosId = checkId(options.bosId, this.vocabSize, 'bos_token', file);
    this.eosId = checkId(options.eosId, this.vocabSize, 'eos_token', file);
    this.addBosToken = options.addBosToken ?? false;
  }

  /** A tokenizer from tokenizer.json text alone (no tokenizer_config): `sha256` is that of the text. */
  static fromJsonText(text: string, options: Omit<HubTokenizerOptions, 'sha256'> = {}): HubTokenizer {
    const json = parseJsonFile(text, options.file) as HubTokenizerJson;
    return new HubTokenizer(json, { ...options, sha256: createHash('sha256').update(text).digest('hex') });
  }

  private hf(json: HubTokenizerJson, file: string | undefined): HfTokenizer {
    try {
      return new HfTokenizer(json, this.hfConfig);
    } catch (e) {
      throw new UserError(`unsupported or corrupt tokenizer.json: ${(e as Error).message}`, { file });
    }
  }

  encode(text: string, { bos = false, prefixSpace = true }: { bos?: boolean; prefixSpace?: boolean } = {}): number[] {
    if (bos && this.bosId === undefined) {
      throw new UserError(
        `the tokenizer${this.source ? ` of ${this.source}` : ''} has no BOS token (none in tokenizer_config.json, special_tokens_map.json, config.json or genai_config.json), so a prompt cannot start with one; run without BOS`,
      );
    }
    let hf = this.encoder;
    if (!prefixSpace && this.noPrefixJson) hf = this.noPrefixEncoder ??= this.hf(this.noPrefixJson, this.file);
    // Lone surrogates become U+FFFD first, as UTF-8 encoding would see them.
    const ids = text === '' ? [] : hf.encode(wellFormed(text), { add_special_tokens: false }).ids;
    const bad = ids.findIndex((id) => typeof id !== 'number');
    if (bad >= 0) throw new UserError(`the tokenizer cannot represent part of this text and has no unknown token: ${JSON.stringify(text.slice(0, 80))}`);
    return bos ? [this.bosId as number, ...ids] : ids;
  }

  /** The text of these tokens, special tokens left out (the first token's dummy space is dropped as the tokenizer's decoder does). */
  decode(ids: readonly number[]): string {
    ids.forEach((id) => this.check(id));
    if (ids.length === 0) return '';
    return this.full.decode(ids as number[], { skip_special_tokens: true, clean_up_tokenization_spaces: false });
  }

  /**
   * Surface text of one token: the decoder run on it alone, except that a leading space is kept
   * ("▁the" and GPT-2's "Ġthe" are " the", "Ċ" is "\n"). Added tokens show their content. A token
   * that is not text by itself (part of a UTF-8 character, a control byte) shows its vocabulary name.
   */
  tokenText(id: number): string {
    this.check(id);
    const added = this.added.get(id);
    if (added) return added.content;
    const name = this.full.id_to_token(id) as string;
    const text = this.surface ? this.surface.decode([name]) : name;
    // eslint-disable-next-line no-control-regex -- control bytes are what marks a token as undecodable
    return /[\uFFFD\x00-\x08\x0E-\x1F\x7F]/.test(text) && !name.includes('\uFFFD') ? name : text;
  }

  /**
   * Decodes token by token for streaming (`iv generate`). `prevToken` is the token before the first
   * pushed one, for a continuation: the new text then keeps the leading space it has after that
   * token. Without it (or with BOS) the first token's dummy space is dropped, as decode() does.
   */
  streamDecoder(prevToken?: number): HubStreamDecoder {
    if (prevToken !== undefined) this.check(prevToken);
    return new HubStreamDecoder(
      (ids) => this.decode(ids),
      (id) => this.check(id),
      prevToken,
    );
  }

  private check(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize || (!this.added.has(id) && this.full.id_to_token(id) === undefined)) {
      throw new RangeError(`token id ${id} is outside the vocabulary (0..${this.vocabSize - 1})`);
    }
  }
}

/**
 * Streams the text of tokens as they arrive by decoding a short window of recent tokens and emitting
 * what the newest ones add; text that ends in U+FFFD (a character whose UTF-8 bytes are split over
 * tokens) is held back until it completes or flush() is called. Works for any decoder that decodes a
 * concatenation to the concatenation of the parts, which all LM decoders do with clean-up off.
 */
export class HubStreamDecoder {
  private ids: number[];
  /** Window start: the first token of the text already emitted that is decoded again as context. */
  private prefixOffset = 0;
  /** End of the tokens whose text has been emitted. */
  private readOffset: number;

  constructor(
    private readonly decode: (ids: readonly number[]) => string,
    private readonly check: (id: number) => void,
    prevToken?: number,
  ) {
    this.ids = prevToken === undefined ? [] : [prevToken];
    this.readOffset = this.ids.length;
  }

  /** The text this token adds ('' while it is held back). */
  push(id: number): string {
    this.check(id);
    this.ids.push(id);
    const prefix = this.decode(this.ids.slice(this.prefixOffset, this.readOffset));
    const text = this.decode(this.ids.slice(this.prefixOffset));
    if (text.length <= prefix.length || text.endsWith('\uFFFD')) return '';
    this.ids = this.ids.slice(this.readOffset);
    this.prefixOffset = 0;
    this.readOffset = this.ids.length;
    return text.slice(prefix.length);
  }

  /** Whatever is still held back (an incomplete UTF-8 sequence shows as U+FFFD). */
  flush(): string {
    const prefix = this.decode(this.ids.slice(this.prefixOffset, this.readOffset));
    const text = this.decode(this.ids.slice(this.prefixOffset));
    this.ids = this.ids.slice(this.ids.length - 1);
    this.prefixOffset = 0;
    this.readOffset = this.ids.length;
    return text.length > prefix.length ? text.slice(prefix.length) : '';
  }
}

function checkShape(json: HubTokenizerJson, file: string | undefined): void {
  if (typeof json !== 'object' || json === null || Array.isArray(json) || typeof json.model !== 'object' || json.model === null) {
    throw new UserError('not a Hugging Face tokenizer.json: it has no "model" object', { file });
  }
  const type = json.model.type;
  if (type !== undefined && !MODEL_TYPES.includes(type)) {
    throw new UserError(`unsupported tokenizer model type ${JSON.stringify(type)} in tokenizer.json (supported: ${MODEL_TYPES.join(', ')})`, {
      file,
      field: 'model.type',
    });
  }
}

/** The tokenizer models @huggingface/tokenizers implements. */
const MODEL_TYPES = ['BPE', 'Unigram', 'WordPiece'];

/** Max id + 1 over the model's vocabulary and the added tokens. */
function vocabSize(json: HubTokenizerJson, file: string | undefined): number {
  const vocab = json.model.vocab;
  let max = -1;
  if (Array.isArray(vocab)) {
    max = vocab.length - 1; // Unigram: [piece, score] by id
  } else if (vocab && typeof vocab === 'object') {
    for (const id of Object.values(vocab)) if (Number.isInteger(id) && id > max) max = id;
  } else {
    throw new UserError('tokenizer.json has no model.vocab', { file });
  }
  for (const t of json.added_tokens ?? []) {
    if (!Number.isInteger(t.id) || t.id < 0 || typeof t.content !== 'string')
      throw new UserError(`tokenizer.json has a malformed added token: ${JSON.stringify(t)}`, { file });
    max = Math.max(max, t.id);
  }
  if (max < 0) throw new UserError('tokenizer.json has an empty vocabulary', { file });
  return max + 1;
}

function checkId(id: number | undefined, vocabSize: number, field: string, file: string | undefined): number | undefined {
  if (id === undefined) return undefined;
  if (!Number.isInteger(id) || id < 0 || id >= vocabSize)
    throw new UserError(`${field} id ${id} is outside the tokenizer's vocabulary (0..${vocabSize - 1})`, { file, field });
  return id;
}

/** The JSON without the special added tokens, so that their text is tokenized literally. */
function literalSpecials(json: HubTokenizerJson): HubTokenizerJson {
  return { ...json, added_tokens: (json.added_tokens ?? []).filter((t) => t.special !== true) };
}

/**
 * Old Metaspace configs (before prepend_scheme) say add_prefix_space; the Rust library reads false
 * as "never", but @huggingface/tokenizers defaults a missing prepend_scheme to "always". Make it explicit.
 */
function legacyMetaspace(p: Json | null): Json | null {
  if (p === null || typeof p !== 'object') return p;
  if (p.type === 'Metaspace' && p.prepend_scheme === undefined) return { ...p, prepend_scheme: p.add_prefix_space === false ? 'never' : 'always' };
  if (p.type === 'Sequence' && Array.isArray(p.pretokenizers)) return { ...p, pretokenizers: (p.pretokenizers as Json[]).map(legacyMetaspace) };
  return p;
}

/** The JSON without its dummy leading space, and whether there was one. */
export function withoutDummyPrefix(json: HubTokenizerJson): { json: HubTokenizerJson; changed: boolean } {
  let changed = false;
  const normalizer = (n: Json | null): Json | null => {
    if (n === null || typeof n !== 'object') return n;
    if (n.type === 'Prepend' && n.prepend === SPIECE_SPACE) {
      changed = true;
      return null;
    }
    if (n.type === 'Sequence' && Array.isArray(n.normalizers)) {
      return { ...n, normalizers: (n.normalizers as Json[]).map(normalizer).filter((x) => x !== null) };
    }
    return n;
  };
  const preTokenizer = (p: Json | null): Json | null => {
    if (p === null || typeof p !== 'object') return p;
    if (p.type === 'Metaspace' && (p.prepend_scheme === 'always' || p.prepend_scheme === 'first')) {
      changed = true;
      return { ...p, prepend_scheme: 'never', add_prefix_space: false };
    }
    if (p.type === 'ByteLevel' && p.add_prefix_space === true) {
      changed = true;
      return { ...p, add_prefix_space: false };
    }
    if (p.type === 'Sequence' && Array.isArray(p.pretokenizers)) return { ...p, pretokenizers: (p.pretokenizers as Json[]).map(preTokenizer) };
    return p;
  };
  const result = { ...json, normalizer: normalizer(json.normalizer ?? null), pre_tokenizer: preTokenizer(legacyMetaspace(json.pre_tokenizer ?? null)) };
  return { json: result, changed };
}

/** The decoder that keeps a token's leading space: no Strip of the first character, Metaspace as a plain replacement. */
function surfaceDecoder(decoder: Json, file: string | undefined): SequenceDecoder {
  const keepSpace = (d: Json): Json | null => {
    if (d.type === 'Strip') return (d.stop ?? 0) === 0 ? null : { ...d, start: 0 };
    if (d.type === 'Metaspace') return { type: 'Replace', pattern: { String: (d.replacement as string | undefined) ?? SPIECE_SPACE }, content: ' ' };
    if (d.type === 'Sequence' && Array.isArray(d.decoders)) return { ...d, decoders: (d.decoders as Json[]).map(keepSpace).filter((x) => x !== null) };
    return d;
  };
  const inner = keepSpace(decoder);
  try {
    return new SequenceDecoder({ type: 'Sequence', decoders: inner ? [inner] : [] } as unknown as ConstructorParameters<typeof SequenceDecoder>[0]);
  } catch (e) {
    throw new UserError(`unsupported tokenizer.json decoder: ${(e as Error).message}`, { file });
  }
}

function wellFormed(text: string): string {
  return text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

// ---------------------------------------------------------------------------------------------
// Loading from a model folder

/** A file of the folder (stat'ed first: a folder, FIFO or device is refused; capped in size), undefined when absent. */
async function readOptional(path: string, limit: { maxBytes: number; why: string } = CONFIG_JSON_LIMIT): Promise<string | undefined> {
  return readTextChecked(path, { ...limit, optional: true });
}

/** parseJson (line and column of a syntax error, duplicate keys refused), for an object. */
function parseJsonFile(text: string, file: string | undefined): Json {
  const value = parseJson(text, { file });
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UserError('expected a JSON object', { file });
  return value as Json;
}

/** The content of a special token as tokenizer_config.json / special_tokens_map.json write it: a string or an AddedToken object. */
function tokenContent(value: unknown): string | null | undefined {
  if (value === null) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && typeof (value as Json).content === 'string') return (value as Json).content as string;
  return undefined;
}

/** A token id from config.json / genai_config.json: a number or a list (the first). */
function configId(value: unknown): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  return typeof v === 'number' && Number.isInteger(v) ? v : undefined;
}

interface SpecialSource {
  /** tokenizer_config.json, special_tokens_map.json: token strings. */
  tokens: { file: string; json: Json }[];
  /** config.json, genai_config.json (its "model" object): ids. */
  ids: { file: string; json: Json }[];
}

/**
 * Loads the Hugging Face tokenizer of an exported model folder: tokenizer.json (required) and
 * tokenizer_config.json. BOS and EOS come from tokenizer_config.json's bos_token / eos_token; where
 * it does not name them, from special_tokens_map.json, then config.json's bos_token_id /
 * eos_token_id, then genai_config.json's, then (BOS only) the post-processor's template. An
 * explicit `null` in a tokenizer file means "none". `sha256` covers tokenizer.json, then
 * tokenizer_config.json, then the BOS/EOS ids when they came from another file.
 */
export async function loadHubTokenizer(folder: string): Promise<HubTokenizer> {
  const file = join(folder, 'tokenizer.json');
  const text = await readOptional(file, TOKENIZER_JSON_LIMIT);
  if (text === undefined) {
    throw new UserError(
      `no tokenizer.json in ${folder}: the model's Hugging Face tokenizer is needed to turn text into tokens (save it next to the model, e.g. with tokenizer.save_pretrained)`,
      {
        file,
      },
    );
  }
  const json = parseJsonFile(text, file) as HubTokenizerJson;
  checkShape(json, file);
  const configFile = join(folder, 'tokenizer_config.json');
  const configText = await readOptional(configFile);
  const config = configText === undefined ? undefined : parseJsonFile(configText, configFile);

  const hash = createHash('sha256').update(text);
  if (configText !== undefined) hash.update('\0tokenizer_config.json\0').update(configText);

  // Token-string sources first, id sources after; each file is read only when needed.
  const sources: SpecialSource = { tokens: config ? [{ file: configFile, json: config }] : [], ids: [] };
  let extraLoaded = false;
  const loadExtra = async () => {
    if (extraLoaded) return;
    extraLoaded = true;
    const stm = join(folder, 'special_tokens_map.json');
    const stmText = await readOptional(stm);
    if (stmText !== undefined) sources.tokens.push({ file: stm, json: parseJsonFile(stmText, stm) });
    const cfg = join(folder, 'config.json');
    const cfgText = await readOptional(cfg);
    if (cfgText !== undefined) sources.ids.push({ file: cfg, json: parseJsonFile(cfgText, cfg) });
    const genai = join(folder, 'genai_config.json');
    const genaiText = await readOptional(genai);
    if (genaiText !== undefined) {
      const model = parseJsonFile(genaiText, genai).model;
      if (model && typeof model === 'object') sources.ids.push({ file: genai, json: model as Json });
    }
  };

  const lookup = tokenLookup(json);
  const size = vocabSize(json, file);
  const resolve = async (kind: 'bos' | 'eos'): Promise<{ id: number | undefined; fromConfig: boolean }> => {
    const key = `${kind}_token`;
    if (config && key in config) return { id: byContent(config[key], lookup, configFile, key), fromConfig: true };
    await loadExtra();
    for (const s of sources.tokens.slice(config ? 1 : 0)) {
      if (key in s.json) return { id: byContent(s.json[key], lookup, s.file, key), fromConfig: false };
    }
    for (const s of sources.ids) {
      const id = configId(s.json[`${key}_id`]);
      if (id === undefined) continue;
      if (id < 0 || id >= size)
        throw new UserError(`${key}_id ${id} is outside the vocabulary of tokenizer.json (0..${size - 1})`, { file: s.file, field: `${key}_id` });
      return { id, fromConfig: false };
    }
    return { id: kind === 'bos' ? templateBos(json) : undefined, fromConfig: true };
  };
  const bos = await resolve('bos');
  const eos = await resolve('eos');
  if (!bos.fromConfig || !eos.fromConfig) hash.update(`\0special ids\0${JSON.stringify({ bos: bos.id ?? null, eos: eos.id ?? null })}`);

  const addBos = config?.add_bos_token;
  const addBosToken = typeof addBos === 'boolean' ? addBos : bos.id !== undefined && templateBos(json) === bos.id;
  return new HubTokenizer(json, { sha256: hash.digest('hex'), bosId: bos.id, eosId: eos.id, addBosToken, config, source: folder, file });
}

function tokenLookup(json: HubTokenizerJson): (content: string) => number | undefined {
  return (content) => {
    const added = json.added_tokens?.find((t) => t.content === content);
    if (added) return added.id;
    const vocab = json.model?.vocab;
    if (Array.isArray(vocab)) {
      const i = vocab.findIndex((entry) => Array.isArray(entry) && entry[0] === content);
      return i >= 0 ? i : undefined;
    }
    return vocab && Object.hasOwn(vocab, content) ? vocab[content] : undefined;
  };
}

function byContent(value: unknown, lookup: (content: string) => number | undefined, file: string, field: string): number | undefined {
  const content = tokenContent(value);
  if (content === null) return undefined;
  if (content === undefined) throw new UserError(`expected a token string or null, found ${JSON.stringify(value)}`, { file, field });
  const id = lookup(content);
  if (id === undefined) throw new UserError(`the token ${JSON.stringify(content)} is not in tokenizer.json's vocabulary`, { file, field });
  return id;
}

/** The BOS a TemplateProcessing post-processor puts in front of a single text, if any. */
function templateBos(json: HubTokenizerJson): number | undefined {
  const p = json.post_processor;
  if (!p || p.type !== 'TemplateProcessing' || !Array.isArray(p.single)) return undefined;
  const first = (p.single as Json[])[0]?.SpecialToken as Json | undefined;
  if (!first || typeof first.id !== 'string') return undefined;
  const special = (p.special_tokens as Record<string, { ids?: number[] }> | undefined)?.[first.id];
  return configId(special?.ids);
}

// ---------------------------------------------------------------------------------------------

/**
 * For models without a tokenizer whose vocabulary is the 256 bytes (test models): token id = one
 * UTF-8 byte of the text. No dummy prefix, no BOS unless an id is given. Chosen explicitly by the
 * user, never as a fallback for a missing tokenizer.json.
 */
export class ByteTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly sha256: string;
  readonly bosId: number | undefined;
  readonly eosId: number | undefined;

  constructor({ bosId, eosId }: { bosId?: number; eosId?: number } = {}) {
    for (const [field, id] of [
      ['bosId', bosId],
      ['eosId', eosId],
    ] as const) {
      if (id !== undefined && (!Number.isInteger(id) || id < 0)) throw new UserError(`a token id must be a non-negative integer, not ${id}`, { field });
    }
    this.bosId = bosId;
    this.eosId = eosId;
    this.vocabSize = Math.max(256, (bosId ?? 0) + 1, (eosId ?? 0) + 1);
    // The scheme is the identity; special ids change the prompts, so they are part of it.
    this.sha256 = createHash('sha256')
      .update(`iterative-vectors byte tokenizer v1: token id = UTF-8 byte; bos=${bosId ?? 'none'}; eos=${eosId ?? 'none'}`)
      .digest('hex');
  }

  encode(text: string, { bos = false }: { bos?: boolean; prefixSpace?: boolean } = {}): number[] {
    if (bos && this.bosId === undefined) throw new UserError('the byte tokenizer has no BOS token unless one is given; run without BOS or give its id');
    const ids = Array.from(new TextEncoder().encode(text));
    return bos ? [this.bosId as number, ...ids] : ids;
  }

  /** UTF-8 text of the byte tokens; BOS/EOS are left out, invalid sequences become U+FFFD. */
  decode(ids: readonly number[]): string {
    const stream = this.streamDecoder();
    return ids.map((id) => stream.push(id)).join('') + stream.flush();
  }

  tokenText(id: number): string {
    this.check(id);
    if (id === this.bosId) return '<bos>';
    if (id === this.eosId) return '<eos>';
    if (id >= 256) return `<${id}>`;
    return (id >= 0x20 && id <= 0x7e) || (id >= 0x09 && id <= 0x0d) ? String.fromCharCode(id) : `<0x${id.toString(16).toUpperCase().padStart(2, '0')}>`;
  }

  /** Text as the bytes arrive; `prevToken` is accepted for the interface's sake (bytes have no dummy prefix). */
  streamDecoder(_prevToken?: number): { push(id: number): string; flush(): string } {
    const utf8 = new TextDecoder();
    return {
      push: (id: number) => {
        this.check(id);
        if (id === this.bosId || id === this.eosId || id >= 256) return '';
        return utf8.decode(Uint8Array.of(id), { stream: true });
      },
      flush: () => utf8.decode(),
    };
  }

  private check(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) throw new RangeError(`token id ${id} is outside the vocabulary (0..${this.vocabSize - 1})`);
  }
}
