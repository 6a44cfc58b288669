import type { Tokenizer } from '../model';

/** A token's characters in the source text: [start, end) in UTF-16 code units (start === end: none). */
export interface TokenSpan {
  start: number;
  end: number;
}

const BYTE_TOKEN = /^<0x([0-9A-F]{2})>$/;
const SPIECE_SPACE = '\u2581';

/** UTF-8 sequence length announced by a lead byte (1 for stray continuation bytes). */
function utf8Length(lead: number): number {
  if (lead >= 0xf0 && lead <= 0xf7) return 4;
  if (lead >= 0xe0) return 3;
  if (lead >= 0xc0) return 2;
  return 1;
}

/**
 * Where each token of `ids = tokenizer.encode(text)` (no BOS) lies in `text`, from the tokens'
 * surface texts (`tokenText`). SentencePiece puts a dummy "▁" before the text and turns spaces into
 * "▁": the token texts concatenate to " " + text, so the first token's leading space has no source
 * character and its span starts at 0. Byte-fallback tokens ("<0xE2>" ...) of one character all get
 * that character's span. If the texts stop matching the source (an unusual normalizer), the rest get
 * empty spans at the last matched offset rather than wrong ones.
 */
export function tokenSpans(tokenizer: Pick<Tokenizer, 'tokenText'>, text: string, ids: readonly number[]): TokenSpan[] {
  const src = ' ' + text;
  let cursor = 0;
  let lost = false;
  const spans: TokenSpan[] = [];
  // Byte tokens of a character not yet complete: their indices, and the bytes still expected.
  let pending: number[] = [];
  let pendingStart = 0;
  let expected = 0;
  const toText = (i: number) => Math.max(0, Math.min(text.length, i - 1));
  const closePending = () => {
    // The character the bytes spell is the code point at pendingStart (1 or 2 UTF-16 units).
    const cp = src.codePointAt(pendingStart);
    const end = cp === undefined ? pendingStart : pendingStart + (cp > 0xffff ? 2 : 1);
    for (const k of pending) spans[k] = { start: toText(pendingStart), end: toText(end) };
    cursor = end;
    pending = [];
    expected = 0;
  };
  ids.forEach((id, k) => {
    const surface = tokenizer.tokenText(id);
    const byte = BYTE_TOKEN.exec(surface);
    if (lost) {
      spans[k] = { start: toText(cursor), end: toText(cursor) };
      return;
    }
    if (byte) {
      const b = parseInt(byte[1], 16);
      if (pending.length === 0) {
        pendingStart = cursor;
        expected = utf8Length(b);
      }
      pending.push(k);
      spans[k] = { start: toText(cursor), end: toText(cursor) };
      if (pending.length >= expected) closePending();
      return;
    }
    if (pending.length) closePending();
    const start = cursor;
    for (const ch of surface) {
      const at = src.codePointAt(cursor);
      const here = at === undefined ? undefined : String.fromCodePoint(at);
      if (here === ch || (ch === ' ' && here === SPIECE_SPACE)) cursor += here!.length;
      else {
        lost = true;
        break;
      }
    }
    spans[k] = { start: toText(start), end: toText(cursor) };
  });
  if (pending.length) closePending();
  return spans;
}
