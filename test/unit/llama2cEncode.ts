/**
 * Reference: a faithful port of `build_tokenizer`, `encode` and `decode` from Karpathy's llama2.c
 * run.c, used to check the Hugging Face based tokenizer. Strings are handled as bytes (one char per
 * byte, "binary" strings) so concatenation, strcmp ordering and lookups are byte-exact as in C.
 */

interface TokenIndex {
  str: string;
  id: number;
}

export class Llama2cTokenizer {
  readonly vocab: string[] = [];
  readonly vocabScores: number[] = [];
  readonly maxTokenLength: number;
  private sortedVocab: TokenIndex[] | null = null;

  /**
   * Reads tokenizer.bin like `build_tokenizer`. Exports before Aug 2023 (the embedded stories15M)
   * stored byte-fallback tokens as the raw character, which collides with real pieces ("e" is both
   * id 104 and 29872, so bsearch could return either); current run.c expects "<0xNN>" (its decode
   * sscanf's them), so those ids are rewritten as the current export writes them.
   */
  constructor(bin: Uint8Array, vocabSize: number) {
    const view = new DataView(bin.buffer, bin.byteOffset, bin.byteLength);
    this.maxTokenLength = view.getInt32(0, true);
    let at = 4;
    for (let i = 0; i < vocabSize; i++) {
      this.vocabScores.push(view.getFloat32(at, true));
      const len = view.getInt32(at + 4, true);
      at += 8;
      let str = Buffer.from(bin.subarray(at, at + len)).toString('binary');
      at += len;
      if (i >= 3 && i < 259) str = `<0x${(i - 3).toString(16).toUpperCase().padStart(2, '0')}>`;
      this.vocab.push(str);
    }
  }

  private strLookup(str: string): number {
    // bsearch over the strcmp-sorted vocabulary
    const sorted = this.sortedVocab!;
    let lo = 0;
    let hi = sorted.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = sorted[mid].str;
      if (s === str) return sorted[mid].id;
      if (s < str) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** `encode(t, text, bos, eos, tokens, &n_tokens)`; `addDummyPrefix` false skips the dummy prefix (test-only knob). */
  encode(text: string, bos: boolean, eos: boolean, addDummyPrefix = true): number[] {
    if (this.sortedVocab === null) {
      this.sortedVocab = this.vocab.map((str, id) => ({ str, id }));
      // binary strings compare by byte value, as strcmp does
      this.sortedVocab.sort((a, b) => (a.str < b.str ? -1 : a.str > b.str ? 1 : 0));
    }
    const bytes = new TextEncoder().encode(text); // a C string of UTF-8 bytes
    const tokens: number[] = [];
    if (bos) tokens.push(1);
    // add_dummy_prefix: llama2.c looks up " " (its export wrote "▁" as " "), only if text != ""
    if (addDummyPrefix && bytes.length > 0) tokens.push(this.strLookup(' '));

    // split into UTF-8 code points; a code point not in the vocabulary falls back to its bytes (+3)
    let buf: number[] = [];
    for (let c = 0; c < bytes.length; c++) {
      if ((bytes[c] & 0xc0) !== 0x80) buf = [];
      buf.push(bytes[c]);
      const next = c + 1 < bytes.length ? bytes[c + 1] : 0;
      if ((next & 0xc0) === 0x80 && buf.length < 4) continue;
      const id = this.strLookup(String.fromCharCode(...buf));
      if (id !== -1) tokens.push(id);
      else for (const b of buf) tokens.push(b + 3);
      buf = [];
    }

    // merge the best consecutive pair each iteration, according to the scores (leftmost on ties)
    for (;;) {
      let bestScore = -1e10;
      let bestId = -1;
      let bestIdx = -1;
      for (let i = 0; i < tokens.length - 1; i++) {
        const id = this.strLookup(this.vocab[tokens[i]] + this.vocab[tokens[i + 1]]);
        if (id !== -1 && this.vocabScores[id] > bestScore) {
          bestScore = this.vocabScores[id];
          bestId = id;
          bestIdx = i;
        }
      }
      if (bestIdx === -1) break;
      tokens[bestIdx] = bestId;
      tokens.splice(bestIdx + 1, 1);
    }
    if (eos) tokens.push(2);
    return tokens;
  }

  /** `decode(t, prev_token, token)` as bytes: strips the leading space after BOS, maps "<0xNN>" to the byte. */
  decode(prevToken: number, token: number): number[] {
    let piece = this.vocab[token];
    if (prevToken === 1 && piece[0] === ' ') piece = piece.slice(1);
    const m = /^<0x([0-9A-Fa-f]{2})>/.exec(piece);
    if (m) return [parseInt(m[1], 16)];
    return Array.from(piece, (ch) => ch.charCodeAt(0));
  }

  /**
   * What run.c's generate loop prints for a prompt's tokens (starting after BOS): decode + safe_printf,
   * which drops single non-printable, non-space bytes (so byte-fallback pieces of multi-byte
   * characters are dropped too). Returned as raw bytes.
   */
  printed(tokens: readonly number[]): Uint8Array {
    const out: number[] = [];
    let prev = 1;
    for (const t of tokens) {
      const piece = this.decode(prev, t);
      prev = t;
      if (piece.length === 0) continue;
      if (piece.length === 1 && !isPrintOrSpace(piece[0])) continue;
      out.push(...piece);
    }
    return Uint8Array.from(out);
  }
}

/** C's isprint(c) || isspace(c) in the "C" locale. */
function isPrintOrSpace(b: number): boolean {
  return (b >= 0x20 && b <= 0x7e) || (b >= 0x09 && b <= 0x0d);
}
