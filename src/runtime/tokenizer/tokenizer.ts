import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { UserError } from '../../core/errors';
import { writeAtomic } from '../../node/files';
import { checkFile, TOKENIZER_JSON_LIMIT } from '../hub/modelFolder';
import type { Tokenizer } from '../../core/model';
import { BOS_ID, EOS_ID, FIRST_BYTE_ID, SPACE_NORMALIZER, SPIECE_SPACE, tokenizerJsonFromLlama2cBin, type TokenizerJson } from './tokenizerJson';

/** Bump when the derivation changes, so cached tokenizer.json files from older code are not reused. */
const DERIVATION_VERSION = 1;

/** What one token prints as: text, one raw byte (byte fallback), or nothing (BOS/EOS). */
type Piece = { text: string } | { byte: number } | null;

/**
 * A Llama / SentencePiece BPE tokenizer (dummy prefix, byte fallback) on @huggingface/tokenizers.
 * Encodes like llama2.c's encode(); decodes like llama2.c prints, except that byte-fallback tokens
 * are reassembled into UTF-8 characters instead of being dropped.
 */
export class LlamaTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bosId = BOS_ID;
  readonly eosId = EOS_ID;
  private readonly names: string[];
  private readonly pieces: Piece[];
  private readonly withPrefix: HfTokenizer;
  private noPrefix: HfTokenizer | undefined;

  /** `json` is a tokenizer.json as derived by tokenizerJsonFromLlama2cBin; `sha256` identifies it. */
  constructor(
    private readonly json: TokenizerJson,
    readonly sha256: string,
  ) {
    this.names = [];
    for (const [name, id] of Object.entries(json.model.vocab)) this.names[id] = name;
    this.vocabSize = this.names.length;
    this.pieces = this.names.map((name, id) => {
      if (id === BOS_ID || id === EOS_ID) return null;
      const byte = /^<0x([0-9A-F]{2})>$/.exec(name);
      if (byte && id >= FIRST_BYTE_ID) return { byte: parseInt(byte[1], 16) };
      return { text: name.replaceAll(SPIECE_SPACE, ' ') };
    });
    this.withPrefix = this.hf(json.normalizer);
  }

  static fromJsonText(text: string): LlamaTokenizer {
    return new LlamaTokenizer(JSON.parse(text) as TokenizerJson, createHash('sha256').update(text).digest('hex'));
  }

  /**
   * An HF tokenizer over the same model with the given normalizer. Added tokens are left out so that
   * text such as "<s>" is tokenized literally, as llama2.c and SentencePiece do; BOS is added by encode().
   */
  private hf(normalizer: object | null): HfTokenizer {
    return new HfTokenizer({ ...this.json, normalizer, added_tokens: [], post_processor: null }, { clean_up_tokenization_spaces: false });
  }

  encode(text: string, { bos = false, prefixSpace = true }: { bos?: boolean; prefixSpace?: boolean } = {}): number[] {
    const hf = prefixSpace ? this.withPrefix : (this.noPrefix ??= this.hf(SPACE_NORMALIZER));
    // Lone surrogates become U+FFFD first, as UTF-8 encoding (and so llama2.c) would see them.
    const ids = text === '' ? [] : hf.encode(wellFormed(text), { add_special_tokens: false }).ids;
    return bos ? [BOS_ID, ...ids] : ids;
  }

  /**
   * The text llama2.c prints for these tokens: BOS and EOS print nothing, the leading space of the
   * token right after BOS (or at the start) is dropped, so decode(encode(text)) === text.
   */
  decode(ids: readonly number[]): string {
    const stream = this.streamDecoder();
    return ids.map((id) => stream.push(id)).join('') + stream.flush();
  }

  /** Surface text of one token: "▁" as a space, byte tokens as the character when printable ASCII or whitespace, else "<0xNN>". */
  tokenText(id: number): string {
    const piece = this.piece(id);
    if (piece === null) return this.names[id];
    if ('text' in piece) return piece.text;
    return isPrintOrSpace(piece.byte) ? String.fromCharCode(piece.byte) : this.names[id];
  }

  /**
   * Decodes token by token for streaming. `prevToken` is the token before the first pushed one:
   * BOS (the default) drops the first token's leading space, as for a prompt printed from its start;
   * pass the prompt's last token when streaming a continuation.
   */
  streamDecoder(prevToken: number = BOS_ID): TokenStreamDecoder {
    return new TokenStreamDecoder(this, prevToken);
  }

  /** @internal */
  piece(id: number): Piece {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) throw new RangeError(`token id ${id} is outside the vocabulary (0..${this.vocabSize - 1})`);
    return this.pieces[id];
  }
}

/** Turns tokens into text as they arrive; multi-byte characters spelt as byte tokens appear once complete. */
export class TokenStreamDecoder {
  private readonly utf8 = new TextDecoder();
  constructor(
    private readonly tokenizer: LlamaTokenizer,
    private prevToken: number,
  ) {}

  /** The text this token adds. */
  push(id: number): string {
    const piece = this.tokenizer.piece(id);
    const afterBos = this.prevToken === BOS_ID;
    this.prevToken = id;
    if (piece === null) return '';
    if ('byte' in piece) return this.utf8.decode(Uint8Array.of(piece.byte), { stream: true });
    // An unfinished byte sequence before ordinary text can never complete: it flushes as U+FFFD.
    const pending = this.utf8.decode();
    return pending + (afterBos && piece.text.startsWith(' ') ? piece.text.slice(1) : piece.text);
  }

  /** Whatever is still pending at the end (an incomplete UTF-8 sequence, as U+FFFD). */
  flush(): string {
    return this.utf8.decode();
  }
}

function wellFormed(text: string): string {
  return text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

/** C's isprint(c) || isspace(c): what llama2.c's safe_printf lets through for a single byte. */
function isPrintOrSpace(b: number): boolean {
  return (b >= 0x20 && b <= 0x7e) || (b >= 0x09 && b <= 0x0d);
}

/**
 * Loads a llama2.c tokenizer.bin. The derived tokenizer.json is cached in `cacheDir` (default: next
 * to the .bin) under a name keyed by the bin's hash; `sha256` of the tokenizer is that of the JSON text.
 */
export async function loadLlama2cTokenizer(tokenizerBinPath: string, cacheDir: string = dirname(tokenizerBinPath)): Promise<LlamaTokenizer> {
  let bin: Buffer;
  // stat first: a FIFO or a device would block or never end.
  checkFile(tokenizerBinPath, { what: 'the tokenizer', ...TOKENIZER_JSON_LIMIT });
  try {
    bin = await readFile(tokenizerBinPath);
  } catch (e) {
    throw new UserError(`cannot read the tokenizer: ${(e as Error).message}`, { file: tokenizerBinPath });
  }
  const binSha = createHash('sha256').update(bin).digest('hex');
  const jsonPath = join(cacheDir, `tokenizer-hf${DERIVATION_VERSION}-${binSha.slice(0, 16)}.json`);
  try {
    return LlamaTokenizer.fromJsonText(await readFile(jsonPath, 'utf8'));
  } catch {
    // not cached yet, or unreadable: derive it again
  }
  const text = JSON.stringify(tokenizerJsonFromLlama2cBin(bin, tokenizerBinPath));
  const tokenizer = LlamaTokenizer.fromJsonText(text);
  try {
    mkdirSync(cacheDir, { recursive: true });
    writeAtomic(jsonPath, text);
  } catch {
    // A read-only folder only costs re-deriving next time.
  }
  return tokenizer;
}
