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

/**
 * The achievable fp32 MatMul throughput of onnxruntime on this machine and these session options:
 * the best median GFLOP/s over a few large constant-weight MatMuls (as the model's are).
 */
export async function measureMatmulPeak(options: ort.InferenceSession.SessionOptions, runs: number): Promise<{ gflops: number; shape: number[] }> {
  const rng = new Rng(1);
  let best = { gflops: 0, shape: [0, 0, 0] };
  for (const [m, k, n] of SHAPES) {
    const g = new GraphBuilder('matmul-peak');
    const a = g.input('a', DType.float, [m, k]);
    const b = g.init('b', Float32Array.from({ length: k * n }, () => rng.next() - 0.5), [k, n]);
    g.output(g.op1('MatMul', [a, b]), 'c', DType.float, [m, n]);
    const session = await ort.InferenceSession.create(g.toBytes(), options);
    const feeds = { a: new ort.Tensor('float32', Float32Array.from({ length: m * k }, () => rng.next() - 0.5), [m, k]) };
    const out = { c: new ort.Tensor('float32', new Float32Array(m * n), [m, n]) };
    const ms = await median(runs, () => session.run(feeds, out));
    await session.release();
    const gflops = (2 * m * k * n) / ms / 1e6;
    if (gflops > best.gflops) best = { gflops, shape: [m, k, n] };
  }
  return best;
}
