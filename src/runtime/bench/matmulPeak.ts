import * as ort from 'onnxruntime-node';
import { Rng } from '../../core/random';
import { DType, GraphBuilder } from '../onnx/graphBuilder';
import { median } from './timing';

/** Shapes of the reference MatMuls: large enough that MLAS runs at its best on the given threads. */
const SHAPES: [number, number, number][] = [
  [1024, 1024, 1024],
  [2048, 1024, 1024],
  [1024, 4096, 1024],
];

export interface MatmulPeak {
  shape: number[];
  flops: number;
  /** One run of the reference MatMul (for timing alternately with the workload). */
  run: () => Promise<unknown>;
  release: () => Promise<void>;
}

/**
 * The reference for "achievable fp32 MatMul throughput" of onnxruntime with these session options:
 * of a few large constant-weight MatMuls (as the model's are), the one that runs fastest here.
 */
export async function matmulPeak(options: ort.InferenceSession.SessionOptions, runs: number): Promise<MatmulPeak> {
  const rng = new Rng(1);
  let best: (MatmulPeak & { gflops: number }) | undefined;
  for (const [m, k, n] of SHAPES) {
    const g = new GraphBuilder('matmul-peak');
    const a = g.input('a', DType.float, [m, k]);
    const b = g.init(
      'b',
      Float32Array.from({ length: k * n }, () => rng.next() - 0.5),
      [k, n],
    );
    g.output(g.op1('MatMul', [a, b]), 'c', DType.float, [m, n]);
    const session = await ort.InferenceSession.create(g.toBytes(), options);
    const feeds = {
      a: new ort.Tensor(
        'float32',
        Float32Array.from({ length: m * k }, () => rng.next() - 0.5),
        [m, k],
      ),
    };
    const out = { c: new ort.Tensor('float32', new Float32Array(m * n), [m, n]) };
    const candidate = { shape: [m, k, n], flops: 2 * m * k * n, run: () => session.run(feeds, out), release: () => session.release() };
    const gflops = candidate.flops / (await median(runs, candidate.run)) / 1e6;
    if (!best || gflops > best.gflops) {
      await best?.release();
      best = { ...candidate, gflops };
    } else await session.release();
  }
  return best!;
}
