import { UserError } from '../../core/errors';

/** Hyperparameters in the 7-int32 header of a llama2.c checkpoint. */
export interface Llama2cConfig {
  dim: number;
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  vocabSize: number;
  seqLen: number;
  /** A positive vocab_size in the header means the classifier shares the embedding matrix. */
  sharedClassifier: boolean;
}

/** Weights as fp32 views into the checkpoint, row-major [out, in] as llama2.c stores them. */
export interface Llama2cWeights {
  config: Llama2cConfig;
  tokenEmbedding: Float32Array; // [vocab, dim]
  rmsAtt: Float32Array[]; // per layer [dim]
  wq: Float32Array[]; // per layer [dim, dim]
  wk: Float32Array[]; // per layer [kvDim, dim]
  wv: Float32Array[];
  wo: Float32Array[]; // per layer [dim, dim]
  rmsFfn: Float32Array[];
  w1: Float32Array[]; // per layer [hidden, dim]
  w2: Float32Array[]; // per layer [dim, hidden]
  w3: Float32Array[];
  rmsFinal: Float32Array; // [dim]
  classifier: Float32Array; // [vocab, dim]
}

/** Parses and validates a llama2.c `model.bin`; `file` names it in errors. */
export function parseLlama2cCheckpoint(bytes: Uint8Array, file = 'checkpoint'): Llama2cWeights {
  if (bytes.byteLength < 28) throw new UserError(`not a llama2.c checkpoint: ${bytes.byteLength} bytes, shorter than its 28-byte header`, { file });
  const header = new DataView(bytes.buffer, bytes.byteOffset, 28);
  const h = Array.from({ length: 7 }, (_, i) => header.getInt32(i * 4, true));
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, rawVocab, seqLen] = h;
  const config: Llama2cConfig = { dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize: Math.abs(rawVocab), seqLen, sharedClassifier: rawVocab > 0 };
  const sane =
    dim > 0 &&
    dim <= 65536 &&
    hiddenDim > 0 &&
    hiddenDim <= 262144 &&
    nLayers > 0 &&
    nLayers <= 1024 &&
    nHeads > 0 &&
    dim % nHeads === 0 &&
    nKvHeads > 0 &&
    nHeads % nKvHeads === 0 &&
    config.vocabSize > 0 &&
    seqLen > 0 &&
    seqLen <= 1 << 20;
  if (!sane)
    throw new UserError(
      `not a llama2.c checkpoint: implausible header [${h.join(', ')}] (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len)`,
      { file },
    );

  const kvDim = (dim * nKvHeads) / nHeads;
  const headSize = dim / nHeads;
  const sizes = {
    emb: config.vocabSize * dim,
    rmsAtt: nLayers * dim,
    wq: nLayers * dim * dim,
    wk: nLayers * kvDim * dim,
    wv: nLayers * kvDim * dim,
    wo: nLayers * dim * dim,
    rmsFfn: nLayers * dim,
    w1: nLayers * hiddenDim * dim,
    w2: nLayers * dim * hiddenDim,
    w3: nLayers * hiddenDim * dim,
    rmsFinal: dim,
    freqCis: seqLen * headSize, // legacy RoPE tables (real + imaginary halves), unused
    cls: config.sharedClassifier ? 0 : config.vocabSize * dim,
  };
  const floats = Object.values(sizes).reduce((a, b) => a + b, 0);
  const expected = 28 + floats * 4;
  if (bytes.byteLength !== expected) {
    throw new UserError(`truncated or corrupt llama2.c checkpoint: the header [${h.join(', ')}] implies ${expected} bytes, the file has ${bytes.byteLength}`, {
      file,
    });
  }

  // Copy once into an aligned buffer: Float32Array views need 4-byte alignment.
  const all = new Float32Array(floats);
  new Uint8Array(all.buffer).set(bytes.subarray(28, 28 + floats * 4));
  let offset = 0;
  const take = (n: number) => all.subarray(offset, (offset += n));
  const perLayer = (total: number) => {
    const block = take(total);
    const n = total / nLayers;
    return Array.from({ length: nLayers }, (_, l) => block.subarray(l * n, (l + 1) * n));
  };
  const tokenEmbedding = take(sizes.emb);
  const weights = {
    rmsAtt: perLayer(sizes.rmsAtt),
    wq: perLayer(sizes.wq),
    wk: perLayer(sizes.wk),
    wv: perLayer(sizes.wv),
    wo: perLayer(sizes.wo),
    rmsFfn: perLayer(sizes.rmsFfn),
    w1: perLayer(sizes.w1),
    w2: perLayer(sizes.w2),
    w3: perLayer(sizes.w3),
    rmsFinal: take(sizes.rmsFinal),
  };
  take(sizes.freqCis);
  const classifier = config.sharedClassifier ? tokenEmbedding : take(sizes.cls);
  for (const [name, v] of [
    ['token_embedding', tokenEmbedding],
    ['rms_final', weights.rmsFinal],
  ] as const) {
    if (!v.every(Number.isFinite)) throw new UserError(`corrupt llama2.c checkpoint: ${name} holds NaN or infinite values`, { file });
  }
  return { config, tokenEmbedding, classifier, ...weights };
}
