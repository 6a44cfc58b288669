// A stand-in model for the algorithms' arithmetic only (the engine tests run the real one): every
// site value is a known function of (token, layer, dimension) plus the edits asked for there, and
// every request is recorded so that tests can check what the algorithm asked for.
import { LayerTaps, type ForwardRequest, type ForwardResult, type ModelInfo, type SteerableModel } from '../../src/core/model';

export const STUB_INFO: ModelInfo = {
  name: 'stub',
  sha256: 'stub',
  nLayers: 2,
  dModel: 3,
  nHeads: 1,
  nKvHeads: 1,
  headDim: 3,
  vocabSize: 32000,
  maxSeqLen: 256,
  bosId: 1,
  eosId: 2,
};

/** The unedited attention output of a token at a layer: small integers, exact in float32. */
export const base = (token: number, layer: number, j: number) => ((token * 7 + layer * 3 + j) % 11) - 5;

export class RecordingModel implements SteerableModel {
  readonly info = STUB_INFO;
  readonly executionProvider = 'none';
  readonly requests: ForwardRequest[] = [];

  async forward(req: ForwardRequest): Promise<ForwardResult> {
    this.requests.push(req);
    const { nLayers: L, dModel: d } = this.info;
    const taps = req.taps ?? [];
    const data = new Float32Array(L * taps.length * d);
    taps.forEach((p, k) => {
      for (let l = 0; l < L; l++) {
        for (let j = 0; j < d; j++) data[(l * taps.length + k) * d + j] = base(req.tokens[p.seq][p.pos], l, j);
        for (const e of req.edits ?? [])
          if (e.site === 'attn_out' && e.seq === p.seq && e.pos === p.pos && e.layer === l)
            for (let j = 0; j < d; j++) data[(l * taps.length + k) * d + j] += e.vector[j];
      }
    });
    const logits = (req.logits ?? []).map((p) => Float32Array.from({ length: this.info.vocabSize }, (_, t) => ((t * 31 + req.tokens[p.seq][p.pos]) % 97) / 97));
    return { logits, taps: req.tapSites?.includes('attn_out') ? { attn_out: new LayerTaps(data, L, taps.length, d) } : {} };
  }

  async startDecoding(): Promise<never> {
    throw new Error('not used');
  }

  async dispose(): Promise<void> {}
}
