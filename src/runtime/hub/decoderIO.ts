import * as ort from 'onnxruntime-node';
import { UserError } from '../../core/errors';
import type { KvLayout, ModelSummary, TensorInfo } from './modelFolder';

type IntTensor = { name: string; type: 'int32' | 'int64' };

/** A static (preallocated, scattered-into) KV cache, as onnxruntime-genai's static-cache exports use. */
interface StaticCache {
  writeIndices: IntTensor;
  nonpadLength: IntTensor;
  /** Slots per sequence: the longest sequence the model runs. */
  capacity: number;
}

/** One layer's cache: past input name -> present output name. */
type CachePair = { past: TensorInfo; present: string };

/** The KV cache carried from one call to the next: past input name -> tensor. */
export type PastState = { length: number; tensors: Record<string, ort.Tensor> };

/** Optimum's merged decoders pick their branch by this input: true runs the branch that reads the past. */
const CACHE_BRANCH = 'use_cache_branch';

/**
 * How to feed an exported decoder: its token, mask and position inputs (named as genai_config.json
 * says, else by the Optimum names), its KV cache (per-layer key/value, stacked K/V, or a static
 * cache with write indices) and a merged decoder's branch input. Inputs it does not know are an
 * error, not a silent zero.
 */
export class DecoderIO {
  readonly ids: IntTensor;
  readonly mask?: IntTensor;
  readonly positions?: IntTensor;
  readonly cache: CachePair[];
  readonly staticCache?: StaticCache;
  readonly cacheBranch?: string;
  /** The width of a cache row, for a cache whose last axis the exporter left symbolic (onnxruntime-genai's `kv_cache_dim`). */
  private readonly headSize?: number;

  constructor(summary: ModelSummary, genaiInputs: Record<string, unknown> = {}) {
    this.headSize = summary.headSize;
    const inputs = new Map(summary.inputs.map((t) => [t.name, t]));
    const used = new Set<string>();
    const int = (key: string, fallback: string, required: boolean): IntTensor | undefined => {
      const name = typeof genaiInputs[key] === 'string' ? (genaiInputs[key] as string) : fallback;
      const t = inputs.get(name);
      if (!t) {
        if (required) throw new UserError(`the model has no "${name}" input (inputs: ${[...inputs.keys()].join(', ')})`, { file: summary.onnxFile });
        return undefined;
      }
      if (t.dtype !== 'int32' && t.dtype !== 'int64') throw new UserError(`input "${name}" is ${t.dtype}; expected int32 or int64`, { file: summary.onnxFile });
      used.add(name);
      return { name, type: t.dtype };
    };
    this.ids = int('input_ids', 'input_ids', true)!;
    this.mask = int('attention_mask', 'attention_mask', false);
    this.positions = int('position_ids', 'position_ids', false);
    const kv = summary.kv;
    this.cache = kv ? cachePairs(kv, summary) : [];
    for (const c of this.cache) {
      used.add(c.past.name);
      // onnxruntime-genai's windowed layers keep a ring buffer of the window (GroupQueryAttention refuses a shorter one).
      const windowed = c.past.shape?.find((d) => typeof d === 'string' && /sliding|window/i.test(d));
      if (windowed !== undefined) {
        throw new UserError(
          `the KV cache input "${c.past.name}" is a sliding-window ring buffer (axis "${windowed}"), which this runtime does not feed: ` +
            'rebuild the model with the onnxruntime-genai builder option --extra_options windowed_kv_cache=false',
          { file: summary.onnxFile },
        );
      }
    }
    const writeIndices = int('write_indices', 'write_indices', false);
    const nonpadLength = int('nonpad_kv_seqlen', 'nonpad_kv_seqlen', false);
    if (writeIndices && nonpadLength) {
      const capacity = this.cache[0]?.past.shape?.find((d, i) => typeof d === 'number' && i > 0 && d !== summary.kvHeads);
      if (typeof capacity !== 'number')
        throw new UserError('the model has a static KV cache whose slot count could not be read from the cache input shape', { file: summary.onnxFile });
      this.staticCache = { writeIndices, nonpadLength, capacity };
    }
    const branch = inputs.get(CACHE_BRANCH);
    if (branch) {
      if (branch.dtype !== 'bool') throw new UserError(`input "${CACHE_BRANCH}" is ${branch.dtype}; expected bool`, { file: summary.onnxFile });
      used.add(CACHE_BRANCH);
      this.cacheBranch = CACHE_BRANCH;
    }
    const unknown = [...inputs.keys()].filter((n) => !used.has(n));
    if (unknown.length) throw new UserError(`the model has inputs this runtime does not know how to feed: ${unknown.join(', ')}`, { file: summary.onnxFile });
  }

  /** Feeds for a right-padded batch of `batch` x `length` new tokens after `past` (none for a fresh batch). */
  feeds(ids: BigInt64Array, batch: number, length: number, past?: PastState): Record<string, ort.Tensor> {
    const pastLength = past?.length ?? 0;
    const total = pastLength + length;
    const feeds: Record<string, ort.Tensor> = { [this.ids.name]: intTensor(this.ids.type, ids, [batch, length]) };
    // Every row is treated as full length: with right padding, causal attention never lets a real token see the padding.
    if (this.mask) feeds[this.mask.name] = intTensor(this.mask.type, new BigInt64Array(batch * total).fill(1n), [batch, total]);
    if (this.positions) {
      const pos = new BigInt64Array(batch * length);
      for (let b = 0; b < batch; b++) for (let t = 0; t < length; t++) pos[b * length + t] = BigInt(pastLength + t);
      feeds[this.positions.name] = intTensor(this.positions.type, pos, [batch, length]);
    }
    if (this.staticCache) {
      const { writeIndices, nonpadLength } = this.staticCache;
      feeds[writeIndices.name] = intTensor(writeIndices.type, new BigInt64Array(batch).fill(BigInt(pastLength)), [batch]);
      feeds[nonpadLength.name] = intTensor(nonpadLength.type, new BigInt64Array(batch).fill(BigInt(total)), [batch]);
    }
    for (const c of this.cache) feeds[c.past.name] = past?.tensors[c.past.name] ?? emptyPast(c.past, batch, !!this.staticCache, this.headSize);
    // A fresh batch runs the branch without past (the one exported for prompts; its past inputs, empty, go unread).
    if (this.cacheBranch) feeds[this.cacheBranch] = new ort.Tensor('bool', [past !== undefined], [1]);
    return feeds;
  }

  /** The present outputs to fetch so that the next call can continue. */
  get presents(): string[] {
    return this.cache.map((c) => c.present);
  }

  /** The next call's past: the presents this call returned. */
  nextPast(outputs: Record<string, ort.Tensor>, length: number): PastState {
    return { length, tensors: Object.fromEntries(this.cache.map((c) => [c.past.name, outputs[c.present]])) };
  }
}

function cachePairs(kv: KvLayout, summary: ModelSummary): CachePair[] {
  const inputs = new Map(summary.inputs.map((t) => [t.name, t]));
  const outputs = new Set(summary.outputs.map((t) => t.name));
  const kinds: [string | undefined, string | undefined][] = kv.stacked
    ? [[kv.past, kv.present]]
    : [
        [kv.pastKey, kv.presentKey],
        [kv.pastValue, kv.presentValue],
      ];
  const pairs: CachePair[] = [];
  for (let l = 0; l < kv.layers; l++) {
    for (const [past, present] of kinds) {
      const pastName = past?.replace('{l}', String(l));
      const presentName = present?.replace('{l}', String(l));
      const info = pastName ? inputs.get(pastName) : undefined;
      if (!info || !presentName || !outputs.has(presentName)) {
        throw new UserError(`the KV cache of layer ${l} is incomplete: expected input ${pastName ?? '?'} and output ${presentName ?? '?'}`, {
          file: summary.onnxFile,
        });
      }
      pairs.push({ past: info, present: presentName });
    }
  }
  return pairs;
}

function intTensor(type: 'int32' | 'int64', values: BigInt64Array, dims: number[]): ort.Tensor {
  return type === 'int64' ? new ort.Tensor('int64', values, dims) : new ort.Tensor('int32', Int32Array.from(values, Number), dims);
}

/**
 * A cache before the first token: length 0 along the symbolic sequence axis (a zeroed static cache:
 * one slot), the batch, and the head size on a symbolic last axis that is not a length
 * (onnxruntime-genai declares [batch_size, kv heads, past_sequence_length, kv_cache_dim]).
 */
function emptyPast(info: TensorInfo, batch: number, isStatic: boolean, headSize: number | undefined): ort.Tensor {
  const shape = info.shape ?? [];
  const dims = shape.map((d, axis) => {
    if (typeof d === 'number') return d;
    if (/batch/i.test(d)) return batch;
    if (axis === shape.length - 1 && !/seq|len/i.test(d)) {
      if (headSize === undefined)
        throw new UserError(
          `the KV cache input "${info.name}" has a symbolic row width "${d}" and the head size is unknown (config.json head_dim, genai_config.json head_size)`,
        );
      return headSize;
    }
    return isStatic ? 1 : 0;
  });
  const size = dims.reduce((a, b) => a * b, 1);
  if (info.dtype === 'float16') return new ort.Tensor('float16', new Uint16Array(size), dims);
  if (info.dtype === 'float32') return new ort.Tensor('float32', new Float32Array(size), dims);
  throw new UserError(`the KV cache input ${info.name} is ${info.dtype}; float32 and float16 caches are supported`);
}
