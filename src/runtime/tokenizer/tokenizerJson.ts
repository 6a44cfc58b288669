import { UserError } from '../../core/errors';

/**
 * Derives a Hugging Face `tokenizer.json` from a llama2.c `tokenizer.bin`, the way transformers'
 * LlamaConverter derives one from Llama-2's SentencePiece `tokenizer.model`: the bin holds the same
 * pieces and scores, with "▁" written as " " and BOS/EOS written as "\n<s>\n" / "\n</s>\n".
 */

/** SentencePiece's visible space. */
export const SPIECE_SPACE = '\u2581';
export const UNK_ID = 0;
export const BOS_ID = 1;
export const EOS_ID = 2;
/** Byte-fallback tokens <0x00>..<0xFF> sit at ids 3..258 in SentencePiece vocabularies trained with byte_fallback. */
export const FIRST_BYTE_ID = 3;
const SPECIAL_NAMES = ['<unk>', '<s>', '</s>'];

export function byteTokenName(byte: number): string {
  return `<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`;
}

export interface Llama2cVocab {
  maxTokenLength: number;
  /** Pieces as UTF-8 text, exactly as stored. */
  pieces: string[];
  scores: number[];
}

/** Reads tokenizer.bin: int32 max_token_length, then per token float32 score, int32 length, bytes. */
export function parseLlama2cBin(bytes: Uint8Array, file?: string): Llama2cVocab {
  const fail = (why: string) =>
    new UserError(
      `not a valid llama2.c tokenizer.bin (${bytes.length} bytes): ${why}. The file is truncated or corrupt (if it is the embedded model's, delete it to fetch it again).`,
      { file },
    );
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4) throw fail('too short for the header');
  const maxTokenLength = view.getInt32(0, true);
  if (maxTokenLength <= 0 || maxTokenLength > 1024) throw fail(`implausible max_token_length ${maxTokenLength}`);
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const pieces: string[] = [];
  const scores: number[] = [];
  let at = 4;
  while (at < bytes.length) {
    const id = pieces.length;
    if (at + 8 > bytes.length) throw fail(`token ${id} is cut off in its header`);
    const score = view.getFloat32(at, true);
    const len = view.getInt32(at + 4, true);
    at += 8;
    if (!Number.isFinite(score)) throw fail(`token ${id} has score ${score}`);
    if (len < 0 || len > maxTokenLength || at + len > bytes.length)
      throw fail(`token ${id} has length ${len} (max ${maxTokenLength}, ${bytes.length - at} bytes left)`);
    try {
      pieces.push(utf8.decode(bytes.subarray(at, at + len)));
    } catch {
      throw fail(`token ${id} is not valid UTF-8`);
    }
    scores.push(score);
    at += len;
  }
  if (pieces.length < FIRST_BYTE_ID + 256) throw fail(`only ${pieces.length} tokens; a SentencePiece byte-fallback vocabulary has at least 259`);
  return { maxTokenLength, pieces, scores };
}

/**
 * The Hugging Face name of each piece: specials by name, byte tokens as <0xNN>, "▁" restored.
 * Older llama2.c exports (before Aug 2023, e.g. the embedded stories15M) stored byte tokens as the
 * byte's character; newer ones as "<0xNN>". Both are accepted.
 */
export function hfTokenNames(vocab: Llama2cVocab, file?: string): string[] {
  const names = vocab.pieces.map((piece, id) => {
    if (id < FIRST_BYTE_ID) return SPECIAL_NAMES[id];
    const byte = id - FIRST_BYTE_ID;
    if (byte < 256) {
      if (piece !== byteTokenName(byte) && piece !== String.fromCharCode(byte)) {
        throw new UserError(
          `token ${id} is ${JSON.stringify(piece)}, expected the byte-fallback token ${byteTokenName(byte)}; only SentencePiece vocabularies with byte fallback are supported.`,
          { file },
        );
      }
      return byteTokenName(byte);
    }
    return piece.replaceAll(' ', SPIECE_SPACE);
  });
  const seen = new Map<string, number>();
  names.forEach((name, id) => {
    const other = seen.get(name);
    if (other !== undefined) throw new UserError(`tokens ${other} and ${id} are both ${JSON.stringify(name)}; the vocabulary is corrupt.`, { file });
    seen.set(name, id);
  });
  return names;
}

/**
 * SentencePiece BPE as merges (transformers' `generate_merges`): every way of splitting a piece
 * into two pieces is a merge, ranked by the merged piece's score (highest first), ties broken by
 * longer left then longer right part, then by vocabulary order. Lengths count code points.
 */
export function deriveMerges(names: readonly string[], scores: readonly number[]): [string, string][] {
  const ids = new Map(names.map((name, id) => [name, id]));
  const merges: { left: string; right: string; score: number; lenLeft: number; lenRight: number }[] = [];
  names.forEach((name, id) => {
    const chars = Array.from(name);
    const local: { left: string; right: string; l: number; r: number; k: number }[] = [];
    for (let k = 1; k < chars.length; k++) {
      const left = chars.slice(0, k).join('');
      const right = chars.slice(k).join('');
      const l = ids.get(left);
      const r = ids.get(right);
      if (l !== undefined && r !== undefined) local.push({ left, right, l, r, k });
    }
    local.sort((a, b) => a.l - b.l || a.r - b.r);
    const score = id < FIRST_BYTE_ID ? 0 : scores[id];
    for (const m of local) merges.push({ left: m.left, right: m.right, score, lenLeft: m.k, lenRight: chars.length - m.k });
  });
  // Array.prototype.sort is stable, like Python's sorted(..., reverse=True).
  merges.sort((a, b) => b.score - a.score || b.lenLeft - a.lenLeft || b.lenRight - a.lenRight);
  return merges.map((m) => [m.left, m.right]);
}

export interface TokenizerJson {
  version: string;
  truncation: null;
  padding: null;
  added_tokens: { id: number; content: string; single_word: boolean; lstrip: boolean; rstrip: boolean; normalized: boolean; special: boolean }[];
  normalizer: object | null;
  pre_tokenizer: null;
  post_processor: object | null;
  decoder: object;
  model: {
    type: 'BPE';
    dropout: null;
    unk_token: string;
    continuing_subword_prefix: null;
    end_of_word_suffix: null;
    fuse_unk: boolean;
    byte_fallback: boolean;
    ignore_merges: boolean;
    vocab: Record<string, number>;
    merges: [string, string][];
  };
}

/** The dummy prefix: SentencePiece prepends "▁" to the text (add_dummy_prefix). */
export const PREPEND_NORMALIZER = { type: 'Prepend', prepend: SPIECE_SPACE };
export const SPACE_NORMALIZER = { type: 'Replace', pattern: { String: ' ' }, content: SPIECE_SPACE };

export function tokenizerJsonFromLlama2cBin(bytes: Uint8Array, file?: string): TokenizerJson {
  const vocab = parseLlama2cBin(bytes, file);
  const names = hfTokenNames(vocab, file);
  const bos = { SpecialToken: { id: SPECIAL_NAMES[BOS_ID], type_id: 0 } };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_NAMES.map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: { type: 'Sequence', normalizers: [PREPEND_NORMALIZER, SPACE_NORMALIZER] },
    pre_tokenizer: null,
    // As HF's Llama tokenizer: encode() with special tokens prepends BOS.
    post_processor: {
      type: 'TemplateProcessing',
      single: [bos, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [bos, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: SPECIAL_NAMES[BOS_ID], type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { [SPECIAL_NAMES[BOS_ID]]: { id: SPECIAL_NAMES[BOS_ID], ids: [BOS_ID], tokens: [SPECIAL_NAMES[BOS_ID]] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: SPIECE_SPACE }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: SPECIAL_NAMES[UNK_ID],
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      // fromEntries defines own properties, so even a piece named "__proto__" stays a key.
      vocab: Object.fromEntries(names.map((name, id) => [name, id])),
      merges: deriveMerges(names, vocab.scores),
    },
  };
}
