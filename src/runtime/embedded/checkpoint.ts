import { closeSync, openSync, readSync, statSync } from 'node:fs';
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

/**
 * The largest checkpoint the engine converts: its graphs hold the weights inline (about the
 * checkpoint's size each), and an ONNX file is one protobuf message, which cannot exceed 2 GiB.
 */
export const LLAMA2C_MAX_BYTES = 2 ** 31 - 1;
/**
 * Head sizes must be multiples of this: the graphs run attention on ONNX Runtime's
 * GroupQueryAttention with rotary embeddings, whose CPU kernel refuses other head sizes
 * ("head_size must be a multiple of 8", and of 16 with do_rotary) at the first run.
 */
export const HEAD_SIZE_MULTIPLE = 16;

const HEADER_FIELDS = ['dim', 'hidden_dim', 'n_layers', 'n_heads', 'n_kv_heads', 'vocab_size', 'seq_len'] as const;
const HEADER_BYTES = 28;

/** Float counts of each tensor of a checkpoint, in file order. */
type Sizes = Record<'emb' | 'rmsAtt' | 'wq' | 'wk' | 'wv' | 'wo' | 'rmsFfn' | 'w1' | 'w2' | 'w3' | 'rmsFinal' | 'freqCis' | 'cls', number>;

/**
 * Checks a llama2.c header against the file size: each field plausible (naming it), the head layout
 * the graphs can run, and a size that is exactly what the header implies. Returns the layout.
 */
export function checkLlama2cHeader(header: DataView, fileBytes: number, file: string): { config: Llama2cConfig; sizes: Sizes; floats: number } {
  if (fileBytes > LLAMA2C_MAX_BYTES) {
    throw new UserError(
      `the checkpoint is ${(fileBytes / 2 ** 30).toFixed(2)} GiB; llama2.c checkpoints up to 2 GiB are supported: the engine converts them into ONNX graphs that hold the weights inline, and one ONNX file (a protobuf message) cannot exceed 2 GiB`,
      { file },
    );
  }
  if (fileBytes < HEADER_BYTES) throw new UserError(`not a llama2.c checkpoint: ${fileBytes} bytes, shorter than its 28-byte header`, { file });
  const h = Array.from({ length: 7 }, (_, i) => header.getInt32(i * 4, true));
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, rawVocab, seqLen] = h;
  const config: Llama2cConfig = { dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize: Math.abs(rawVocab), seqLen, sharedClassifier: rawVocab > 0 };
  const implausible = (field: (typeof HEADER_FIELDS)[number], why: string) =>
    new UserError(`not a llama2.c checkpoint: implausible header [${h.join(', ')}] (${HEADER_FIELDS.join(', ')}): ${why}`, { file, field });
  const range = (field: (typeof HEADER_FIELDS)[number], value: number, max: number) => {
    if (!(value >= 1 && value <= max)) throw implausible(field, `${field} is ${value}; expected 1..${max}`);
  };
  range('dim', dim, 65536);
  range('hidden_dim', hiddenDim, 262144);
  range('n_layers', nLayers, 1024);
  range('n_heads', nHeads, dim);
  if (dim % nHeads !== 0) throw implausible('n_heads', `dim ${dim} is not a multiple of n_heads ${nHeads}`);
  range('n_kv_heads', nKvHeads, nHeads);
  if (nHeads % nKvHeads !== 0) throw implausible('n_kv_heads', `n_heads ${nHeads} is not a multiple of n_kv_heads ${nKvHeads}`);
  range('vocab_size', config.vocabSize, 1 << 24);
  range('seq_len', seqLen, 1 << 20);
  const headSize = dim / nHeads;
  if (headSize % HEAD_SIZE_MULTIPLE !== 0) {
    throw new UserError(
      `the head size dim / n_heads = ${dim} / ${nHeads} = ${headSize} is not a multiple of ${HEAD_SIZE_MULTIPLE}: the engine's graphs run attention on ONNX Runtime's GroupQueryAttention with rotary embeddings, which needs head sizes that are multiples of ${HEAD_SIZE_MULTIPLE}`,
      { file, field: 'n_heads' },
    );
  }

  const kvDim = (dim * nKvHeads) / nHeads;
  const sizes: Sizes = {
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
  const expected = HEADER_BYTES + floats * 4;
  if (fileBytes !== expected) {
    // A wrong vocab_size is the one field the size alone can correct: say which vocabulary would fit.
    const rest = floats - sizes.emb - sizes.cls;
    const perToken = dim * (config.sharedClassifier ? 1 : 2);
    const fileFloats = (fileBytes - HEADER_BYTES) / 4;
    const fits = (fileFloats - rest) / perToken;
    const vocab = Number.isInteger(fits) && fits > 0 ? fits : undefined;
    throw new UserError(
      `truncated or corrupt llama2.c checkpoint: the header [${h.join(', ')}] implies ${expected} bytes, the file has ${fileBytes}` +
        (vocab !== undefined ? `; a vocab_size of ${vocab} (not ${config.vocabSize}) would match the file size exactly` : ''),
      vocab !== undefined ? { file, field: 'vocab_size' } : { file },
    );
  }
  return { config, sizes, floats };
}

/**
 * Checks a checkpoint file before anything reads it whole: a regular file within the size limit
 * whose header is sane and matches its size. Reads its 28-byte header only.
 */
export function checkLlama2cFile(file: string): Llama2cConfig {
  let size: number;
  try {
    const s = statSync(file);
    if (!s.isFile()) throw new UserError(`the checkpoint is ${s.isDirectory() ? 'a folder' : 'not a regular file'}; expected a llama2.c .bin file`, { file });
    size = s.size;
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`cannot read the checkpoint: ${(e as Error).message}`, { file });
  }
  const header = Buffer.alloc(HEADER_BYTES);
  if (size >= HEADER_BYTES && size <= LLAMA2C_MAX_BYTES) {
    let fd: number | undefined;
    try {
      fd = openSync(file, 'r');
      readSync(fd, header, 0, HEADER_BYTES, 0);
    } catch (e) {
      throw new UserError(`cannot read the checkpoint: ${(e as Error).message}`, { file });
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }
  return checkLlama2cHeader(new DataView(header.buffer, header.byteOffset, HEADER_BYTES), size, file).config;
}

/** Parses and validates a llama2.c `model.bin`; `file` names it in errors. */
export function parseLlama2cCheckpoint(bytes: Uint8Array, file = 'checkpoint'): Llama2cWeights {
  const header = new DataView(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, HEADER_BYTES));
  const { config, sizes, floats } = checkLlama2cHeader(header, bytes.byteLength, file);
  const { nLayers } = config;

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
