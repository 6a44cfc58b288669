import { UserError } from '../core/errors';
import type { Edit, ForwardRequest, ModelInfo, Position } from '../core/model';

/** Checks a forward request against the model before any tensor is built; errors name the offending item. */
export function validateRequest(req: ForwardRequest, info: ModelInfo): void {
  if (req.tokens.length === 0) throw new UserError('forward: the batch is empty (no sequences)');
  req.tokens.forEach((seq, b) => {
    if (seq.length === 0) throw new UserError(`forward: sequence ${b} is empty; a prompt needs at least one token`);
    if (seq.length > info.maxSeqLen) throw new UserError(`forward: sequence ${b} has ${seq.length} tokens; ${info.name} accepts at most ${info.maxSeqLen}`);
    seq.forEach((id, t) => {
      if (!Number.isInteger(id) || id < 0 || id >= info.vocabSize) throw new UserError(`forward: sequence ${b}, position ${t}: token id ${id} is outside the vocabulary 0..${info.vocabSize - 1}`);
    });
  });
  const checkPosition = (what: string, p: Position, i: number) => {
    const seq = req.tokens[p.seq];
    if (!Number.isInteger(p.seq) || !seq) throw new UserError(`forward: ${what}[${i}] names sequence ${p.seq}; the batch has ${req.tokens.length}`);
    if (!Number.isInteger(p.pos) || p.pos < 0 || p.pos >= seq.length) throw new UserError(`forward: ${what}[${i}] position ${p.pos} is out of range for sequence ${p.seq} of length ${seq.length}`);
  };
  const checkEdits = (what: string, edits: readonly Edit[] | undefined) =>
    edits?.forEach((e, i) => {
      checkPosition(what, e, i);
      if (!Number.isInteger(e.layer) || e.layer < 0 || e.layer >= info.nLayers) throw new UserError(`forward: ${what}[${i}] layer ${e.layer} is out of range 0..${info.nLayers - 1}`);
      if (e.vector.length !== info.dModel) throw new UserError(`forward: ${what}[${i}] vector has width ${e.vector.length}; the model's width is ${info.dModel}`);
    });
  checkEdits('edits', req.edits);
  checkEdits('headEdits', req.headEdits);
  checkEdits('replacements', req.replacements);
  req.taps?.forEach((p, i) => checkPosition('taps', p, i));
  req.logits?.forEach((p, i) => checkPosition('logits', p, i));
  if (req.taps?.length && !req.tapSites?.length) throw new UserError('forward: taps given without tapSites (which sites to read)');
}
