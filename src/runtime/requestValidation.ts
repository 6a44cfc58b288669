import { UserError } from '../core/errors';
import { SITES, type ForwardRequest, type ModelInfo, type Position, type StepEdit } from '../core/model';

const isTokenId = (id: number, vocabSize: number) => Number.isSafeInteger(id) && id >= 0 && id < vocabSize;
const outside = (id: number, vocabSize: number) =>
  `token id ${id} is ${Number.isInteger(id) ? 'outside' : 'not an integer in'} the vocabulary 0..${vocabSize - 1}`;

/**
 * Checks a prompt given as token ids (generate --ids) before anything runs on it or prints it: each id
 * an integer inside the model's vocabulary, and inside the tokenizer's when one shows the ids as text.
 */
export function checkPromptIds(ids: readonly number[], info: Pick<ModelInfo, 'name' | 'vocabSize'>, tokenizerVocab?: number): void {
  ids.forEach((id, t) => {
    if (!isTokenId(id, info.vocabSize)) throw new UserError(`prompt position ${t}: ${outside(id, info.vocabSize)} of ${info.name} (${info.vocabSize} tokens)`);
    if (tokenizerVocab !== undefined && tokenizerVocab > 0 && id >= tokenizerVocab) {
      throw new UserError(
        `prompt position ${t}: token id ${id} is beyond the tokenizer's ${tokenizerVocab} tokens (ids 0..${tokenizerVocab - 1}), so it has no text`,
      );
    }
  });
}

/** Checks a forward request against the model before any tensor is built; errors name the offending item (and an edit's site). */
export function validateRequest(req: ForwardRequest, info: ModelInfo, call = 'forward'): void {
  if (req.tokens.length === 0) throw new UserError(`${call}: the batch is empty (no sequences)`);
  req.tokens.forEach((seq, b) => {
    if (seq.length === 0) throw new UserError(`${call}: sequence ${b} is empty; a prompt needs at least one token`);
    if (seq.length > info.maxSeqLen) throw new UserError(`${call}: sequence ${b} has ${seq.length} tokens; ${info.name} accepts at most ${info.maxSeqLen}`);
    seq.forEach((id, t) => {
      if (!isTokenId(id, info.vocabSize)) throw new UserError(`${call}: sequence ${b}, position ${t}: ${outside(id, info.vocabSize)}`);
    });
  });
  const checkPosition = (what: string, p: Position) => {
    const seq = req.tokens[p.seq];
    if (!Number.isInteger(p.seq) || !seq) throw new UserError(`${call}: ${what} names sequence ${p.seq}; the batch has ${req.tokens.length}`);
    if (!Number.isInteger(p.pos) || p.pos < 0 || p.pos >= seq.length)
      throw new UserError(`${call}: ${what} position ${p.pos} is out of range for sequence ${p.seq} of length ${seq.length}`);
  };
  req.edits?.forEach((e, i) => {
    if (!SITES.includes(e.site)) throw new UserError(`${call}: edits[${i}] names site ${JSON.stringify(e.site)}; the sites are ${SITES.join(', ')}`);
    const what = `edits[${i}] at ${e.site}`;
    checkPosition(what, e);
    if (!Number.isInteger(e.layer) || e.layer < 0 || e.layer >= info.nLayers)
      throw new UserError(`${call}: ${what}: layer ${e.layer} is out of range 0..${info.nLayers - 1}`);
    if (e.vector.length !== info.dModel) throw new UserError(`${call}: ${what}: vector has width ${e.vector.length}; the model's width is ${info.dModel}`);
  });
  req.taps?.forEach((p, i) => checkPosition(`taps[${i}]`, p));
  req.logits?.forEach((p, i) => checkPosition(`logits[${i}]`, p));
  req.tapSites?.forEach((s, i) => {
    if (!SITES.includes(s)) throw new UserError(`${call}: tapSites[${i}] names site ${JSON.stringify(s)}; the sites are ${SITES.join(', ')}`);
  });
  if (req.taps?.length && !req.tapSites?.length) throw new UserError(`${call}: taps given without tapSites (which sites to read)`);
}

/** Checks one decoding step (a token and the edits at its position) as a one-token request. */
export function validateStep(token: number, edits: readonly StepEdit[], info: ModelInfo): void {
  validateRequest({ tokens: [[token]], edits: edits.map((e) => ({ ...e, seq: 0, pos: 0 })) }, info, 'step');
}
