// An independent reference for the ONNX graphs: llama2.c's forward pass (run.c) written out in
// TypeScript over the raw checkpoint, one token at a time with a KV cache, fp32 per operation.
import type { Llama2cWeights } from '../../src/runtime/embedded/checkpoint';

const f = Math.fround;

export interface ReferenceStep {
  logits: Float32Array;
  /** Attention output (after Wo, before the residual add) per layer, for this position. */
  attnOut: Float32Array[];
  /** Residual stream after each block. */
  residPost: Float32Array[];
}

export class Llama2cReference {
  private readonly keys: Float32Array[];
  private readonly values: Float32Array[];
  private pos = 0;

  constructor(private readonly w: Llama2cWeights) {
    const { nLayers, seqLen, dim } = w.config;
    this.keys = Array.from({ length: nLayers }, () => new Float32Array(seqLen * dim));
    this.values = Array.from({ length: nLayers }, () => new Float32Array(seqLen * dim));
  }

  /** Runs one token; `attnEdit(layer)` may return a vector added to that layer's attention output. */
  step(token: number, attnEdit?: (layer: number) => Float32Array | undefined): ReferenceStep {
    const { dim, hiddenDim, nLayers, nHeads, vocabSize } = this.w.config;
    const hs = dim / nHeads;
    const pos = this.pos++;
    const x = Float32Array.from(this.w.tokenEmbedding.subarray(token * dim, (token + 1) * dim));
    const attnOut: Float32Array[] = [];
    const residPost: Float32Array[] = [];
    for (let l = 0; l < nLayers; l++) {
      const xb = rmsnorm(x, this.w.rmsAtt[l]);
      const q = matvec(this.w.wq[l], xb, dim, dim);
      const k = matvec(this.w.wk[l], xb, dim, dim);
      const v = matvec(this.w.wv[l], xb, dim, dim);
      for (let i = 0; i < dim; i += 2) {
        const freq = f(1 / f(Math.pow(10000, f((i % hs) / hs))));
        const angle = f(pos * freq);
        const c = f(Math.cos(angle));
        const s = f(Math.sin(angle));
        for (const vec of [q, k]) {
          const [a, b] = [vec[i], vec[i + 1]];
          vec[i] = f(f(a * c) - f(b * s));
          vec[i + 1] = f(f(a * s) + f(b * c));
        }
      }
      this.keys[l].set(k, pos * dim);
      this.values[l].set(v, pos * dim);
      const heads = new Float32Array(dim);
      for (let h = 0; h < nHeads; h++) {
        const att = new Float64Array(pos + 1);
        for (let t = 0; t <= pos; t++) {
          let score = 0;
          for (let i = 0; i < hs; i++) score += q[h * hs + i] * this.keys[l][t * dim + h * hs + i];
          att[t] = score / Math.sqrt(hs);
        }
        const max = Math.max(...att);
        let sum = 0;
        for (let t = 0; t <= pos; t++) sum += att[t] = Math.exp(att[t] - max);
        for (let t = 0; t <= pos; t++) for (let i = 0; i < hs; i++) heads[h * hs + i] += (att[t] / sum) * this.values[l][t * dim + h * hs + i];
      }
      const o = matvec(this.w.wo[l], heads, dim, dim);
      const edit = attnEdit?.(l);
      if (edit) for (let i = 0; i < dim; i++) o[i] = f(o[i] + edit[i]);
      attnOut.push(o);
      for (let i = 0; i < dim; i++) x[i] = f(x[i] + o[i]);
      const xf = rmsnorm(x, this.w.rmsFfn[l]);
      const h1 = matvec(this.w.w1[l], xf, dim, hiddenDim);
      const h3 = matvec(this.w.w3[l], xf, dim, hiddenDim);
      for (let i = 0; i < hiddenDim; i++) h1[i] = f(f(h1[i] / f(1 + Math.exp(-h1[i]))) * h3[i]);
      const down = matvec(this.w.w2[l], h1, hiddenDim, dim);
      for (let i = 0; i < dim; i++) x[i] = f(x[i] + down[i]);
      residPost.push(Float32Array.from(x));
    }
    const logits = matvec(this.w.classifier, rmsnorm(x, this.w.rmsFinal), dim, vocabSize);
    return { logits, attnOut, residPost };
  }
}

function rmsnorm(x: Float32Array, weight: Float32Array): Float32Array {
  let ss = 0;
  for (const v of x) ss += v * v;
  const scale = 1 / Math.sqrt(ss / x.length + 1e-5);
  return x.map((v, i) => weight[i] * (scale * v));
}

/** W [out, in] @ x [in], accumulated in double (the graphs' kernels accumulate in fp32 in blocks). */
function matvec(w: Float32Array, x: Float32Array, n: number, out: number): Float32Array {
  const y = new Float32Array(out);
  for (let i = 0; i < out; i++) {
    let acc = 0;
    const row = i * n;
    for (let j = 0; j < n; j++) acc += w[row + j] * x[j];
    y[i] = acc;
  }
  return y;
}
