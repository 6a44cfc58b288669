import type { Llama2cWeights } from './checkpoint';

/**
 * Weight layouts the graphs want: [in, out] matrices for MatMul (llama2.c stores [out, in]), with
 * Q|K|V fused so that one MatMul serves all three, and RoPE tables in llama2.c's convention.
 */
export interface GraphWeights {
  wqkv: Float32Array[]; // per layer [d, d + 2 kvDim]
  wo: Float32Array[]; // per layer [d, d]
  w1: Float32Array[]; // per layer [d, hidden] (gate)
  w3: Float32Array[]; // per layer [d, hidden] (up)
  w2: Float32Array[]; // per layer [hidden, d]
  cos: Float32Array; // [seqLen, headSize / 2]
  sin: Float32Array;
}

export function toGraphWeights(w: Llama2cWeights): GraphWeights {
  const { dim, hiddenDim, nLayers, nHeads, nKvHeads, seqLen } = w.config;
  const kvDim = (dim * nKvHeads) / nHeads;
  const layers = Array.from({ length: nLayers }, (_, l) => l);
  return {
    wqkv: layers.map((l) => transposeConcat([w.wq[l], w.wk[l], w.wv[l]], [dim, kvDim, kvDim], dim)),
    wo: layers.map((l) => transposeConcat([w.wo[l]], [dim], dim)),
    w1: layers.map((l) => transposeConcat([w.w1[l]], [hiddenDim], dim)),
    w3: layers.map((l) => transposeConcat([w.w3[l]], [hiddenDim], dim)),
    w2: layers.map((l) => transposeConcat([w.w2[l]], [dim], hiddenDim)),
    ...ropeTables(seqLen, dim / nHeads),
  };
}

/** Stacks [out_i, in] matrices along `out` and transposes the result to [in, sum(out_i)]. */
function transposeConcat(mats: Float32Array[], outs: number[], inDim: number): Float32Array {
  const total = outs.reduce((a, b) => a + b, 0);
  const t = new Float32Array(inDim * total);
  let col = 0;
  mats.forEach((m, i) => {
    for (let o = 0; o < outs[i]; o++) for (let k = 0; k < inDim; k++) t[k * total + col + o] = m[o * inDim + k];
    col += outs[i];
  });
  return t;
}

/** RoPE as llama2.c computes it: pair (2i, 2i+1) of a head rotates by pos * 10000^(-2i/headSize), in fp32. */
function ropeTables(seqLen: number, headSize: number): { cos: Float32Array; sin: Float32Array } {
  const half = headSize / 2;
  const cos = new Float32Array(seqLen * half);
  const sin = new Float32Array(seqLen * half);
  for (let i = 0; i < half; i++) {
    const freq = Math.fround(1 / Math.fround(Math.pow(10000, Math.fround((2 * i) / headSize))));
    for (let p = 0; p < seqLen; p++) {
      const angle = Math.fround(p * freq);
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin };
}
