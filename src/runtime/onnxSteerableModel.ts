import * as ort from 'onnxruntime-node';
import {
  LayerTaps,
  SITES,
  type DecodeSession,
  type Edit,
  type ForwardRequest,
  type ForwardResult,
  type ModelInfo,
  type StepEdit,
  type SteerableModel,
} from '../core/model';
import { UserError } from '../core/errors';
import { FWD } from './embedded/forwardGraph';
import { DEC } from './embedded/decodeGraph';
import { editFeeds, indexTensor, packTokens } from './forwardFeeds';
import { validateRequest, validateStep } from './requestValidation';

/**
 * SteerableModel on two ONNX Runtime sessions: the instrumented forward graph (batches, edits at
 * every site, taps, selected logits; also the prompt of a generation) and the decode graph
 * (one token per call against an in-place KV cache).
 */
export class OnnxSteerableModel implements SteerableModel {
  constructor(
    readonly info: ModelInfo,
    readonly executionProvider: string,
    private readonly forwardSession: ort.InferenceSession,
    private readonly decodeSession: () => Promise<ort.InferenceSession>,
  ) {}

  async forward(req: ForwardRequest): Promise<ForwardResult> {
    validateRequest(req, this.info);
    const { run } = await this.runForward(req, []);
    return run;
  }

  /** Runs the forward graph; `extra` names additional outputs (the prompt's KV cache) to fetch. */
  async runForward(req: ForwardRequest, extra: readonly string[]): Promise<{ run: ForwardResult; outputs: ort.InferenceSession.ReturnType }> {
    const d = this.info.dModel;
    const { ids, length } = packTokens(req.tokens);
    const taps = req.taps ?? [];
    const sites = taps.length ? (req.tapSites ?? []) : [];
    const feeds: Record<string, ort.Tensor> = {
      [FWD.ids]: ids,
      [FWD.tapIndex]: indexTensor(taps, length),
      [FWD.logitIndex]: indexTensor(req.logits ?? [], length),
      ...editFeeds(req.edits, SITES, FWD.site, length, d),
    };
    const fetches = [FWD.logits, ...sites.map((s) => FWD.site(s).taps), ...extra];
    const outputs = await this.forwardSession.run(feeds, fetches);
    const V = this.info.vocabSize;
    const logitData = outputs[FWD.logits].data as Float32Array;
    const run: ForwardResult = {
      logits: (req.logits ?? []).map((_, i) => logitData.slice(i * V, (i + 1) * V)),
      taps: Object.fromEntries(
        SITES.filter((s) => sites.includes(s)).map((s) => [
          s,
          new LayerTaps(outputs[FWD.site(s).taps].data as Float32Array, this.info.nLayers, taps.length, d),
        ]),
      ),
    };
    return { run, outputs };
  }

  async startDecoding(): Promise<DecodeSession> {
    return new OnnxDecodeSession(this, await this.decodeSession());
  }

  async dispose(): Promise<void> {
    await this.forwardSession.release();
  }
}

/**
 * A KV cache of the model's full context in JS-owned buffers (keys [kvHeads, headSize, capacity],
 * values [kvHeads, capacity, headSize]); each step reads them as inputs and appends one row.
 */
class OnnxDecodeSession implements DecodeSession {
  private readonly keys: Float32Array[];
  private readonly values: Float32Array[];
  /** Feeds reused on every step: the cache buffers, the mask and the token/position scalars are updated in place. */
  private readonly feeds: Record<string, ort.Tensor> = {};
  private readonly mask: Float32Array;
  private readonly token = new BigInt64Array(1);
  private readonly position = new BigInt64Array(1);
  private readonly zeroEdit: ort.Tensor;
  private readonly outputs: Record<string, ort.Tensor>;
  private prefilled = false;
  length = 0;

  constructor(
    private readonly model: OnnxSteerableModel,
    private readonly session: ort.InferenceSession,
  ) {
    const { nLayers, nKvHeads, headDim, maxSeqLen: cap, vocabSize, dModel } = model.info;
    this.keys = Array.from({ length: nLayers }, () => new Float32Array(nKvHeads * headDim * cap));
    this.values = Array.from({ length: nLayers }, () => new Float32Array(nKvHeads * cap * headDim));
    for (let l = 0; l < nLayers; l++) {
      this.feeds[DEC.keyCache(l)] = new ort.Tensor('float32', this.keys[l], [nKvHeads, headDim, cap]);
      this.feeds[DEC.valueCache(l)] = new ort.Tensor('float32', this.values[l], [nKvHeads, cap, headDim]);
    }
    this.mask = new Float32Array(cap).fill(-Infinity);
    this.feeds[DEC.mask] = new ort.Tensor('float32', this.mask, [cap]);
    this.feeds[DEC.ids] = new ort.Tensor('int64', this.token, [1, 1]);
    this.feeds[DEC.position] = new ort.Tensor('int64', this.position, [1, 1]);
    this.zeroEdit = new ort.Tensor('float32', new Float32Array(nLayers * dModel), [nLayers, 1, dModel]);
    this.outputs = {
      [DEC.logits]: new ort.Tensor('float32', new Float32Array(vocabSize), [1, vocabSize]),
      [DEC.newKv]: new ort.Tensor('float32', new Float32Array(nLayers * 2 * nKvHeads * headDim), [nLayers, 2, nKvHeads * headDim]),
    };
  }

  async prefill(tokens: readonly number[], edits: readonly Edit[] = []): Promise<Float32Array> {
    if (this.prefilled) throw new Error('prefill: this decode session already holds a prompt');
    const { nLayers, nKvHeads, headDim } = this.model.info;
    const req = { tokens: [tokens], edits, logits: [{ seq: 0, pos: tokens.length - 1 }] };
    validateRequest(req, this.model.info, 'prefill');
    const names = Array.from({ length: nLayers }, (_, l) => [FWD.presentKey(l), FWD.presentValue(l)]).flat();
    const { run, outputs } = await this.model.runForward(req, names);
    // The forward graph's present tensors are [1, kvHeads, T, headSize] (keys already rotated).
    const T = tokens.length;
    for (let l = 0; l < nLayers; l++) {
      const k = outputs[FWD.presentKey(l)].data as Float32Array;
      const v = outputs[FWD.presentValue(l)].data as Float32Array;
      for (let h = 0; h < nKvHeads; h++) for (let t = 0; t < T; t++) this.writeRow(l, h, t, k, v, (h * T + t) * headDim);
    }
    this.mask.fill(0, 0, T);
    this.length = T;
    this.prefilled = true;
    return run.logits[0];
  }

  async step(token: number, edits: readonly StepEdit[] = []): Promise<Float32Array> {
    const { nLayers, nKvHeads, headDim, dModel, maxSeqLen, name } = this.model.info;
    if (!this.prefilled) throw new Error('step: call prefill first');
    if (this.length >= maxSeqLen) throw new UserError(`generation reached ${name}'s context of ${maxSeqLen} tokens`);
    validateStep(token, edits, this.model.info);
    const other = edits.find((e) => e.site !== DEC.stepSite);
    if (other) throw new UserError(`step: ${name}'s decode graph edits ${DEC.stepSite} at new tokens; an edit names ${other.site}`);
    let stepEdit = this.zeroEdit;
    if (edits.length) {
      const dense = new Float32Array(nLayers * dModel);
      for (const e of edits) for (let i = 0; i < dModel; i++) dense[e.layer * dModel + i] += e.vector[i];
      stepEdit = new ort.Tensor('float32', dense, [nLayers, 1, dModel]);
    }
    const t = this.length;
    this.token[0] = BigInt(token);
    this.position[0] = BigInt(t);
    this.feeds[DEC.stepEdit] = stepEdit;
    await this.session.run(this.feeds, this.outputs);
    const kv = this.outputs[DEC.newKv].data as Float32Array;
    const kvDim = nKvHeads * headDim;
    for (let l = 0; l < nLayers; l++) {
      const k = kv.subarray(2 * l * kvDim, (2 * l + 1) * kvDim);
      const v = kv.subarray((2 * l + 1) * kvDim, (2 * l + 2) * kvDim);
      for (let h = 0; h < nKvHeads; h++) this.writeRow(l, h, t, k, v, h * headDim);
    }
    this.mask[t] = 0;
    this.length++;
    return (this.outputs[DEC.logits].data as Float32Array).slice();
  }

  /** Stores key/value of head h at position t, read from k/v at `offset` (headSize values each). */
  private writeRow(l: number, h: number, t: number, k: Float32Array, v: Float32Array, offset: number): void {
    const { headDim, maxSeqLen: cap } = this.model.info;
    const keys = this.keys[l];
    for (let j = 0; j < headDim; j++) keys[(h * headDim + j) * cap + t] = k[offset + j];
    this.values[l].set(v.subarray(offset, offset + headDim), (h * cap + t) * headDim);
  }

  dispose(): void {
    this.prefilled = false;
  }
}
