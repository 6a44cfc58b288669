import { existsSync, readFileSync } from 'node:fs';
import { writeAtomic } from '../core/fsAtomic';
import { runEngineBench, type BenchResult } from '../runtime/bench/engineBench';
import { loadModel } from '../runtime/loadModel';
import { MODEL_OPTIONS, loadOptions, num, parse, stderrLog } from './options';

export async function benchCommand(argv: string[]): Promise<void> {
  const { values } = parse(argv, { ...MODEL_OPTIONS, runs: { type: 'string' }, write: { type: 'string' } });
  const runs = num(values, 'runs', 9, { min: 1, max: 1000, integer: true });
  const options = loadOptions(values, stderrLog);
  const loaded = await loadModel(options);
  try {
    const result = await runEngineBench(loaded, runs, options.threads, stderrLog);
    const command = `iv bench ${argv.join(' ')}`.trim();
    if (values.write) appendRow(values.write, result, command);
    process.stdout.write(values.json ? `${JSON.stringify({ ...result, command })}\n` : summary(result));
  } finally {
    await loaded.model.dispose();
  }
}

function summary(r: BenchResult): string {
  const lines = [
    `machine: ${r.machine.cpu}, ${r.machine.cores} cores, ${r.machine.platform}, node ${r.machine.node}, onnxruntime ${r.machine.onnxruntime} (${r.machine.executionProvider})`,
    ...r.prefill.map(
      (p) =>
        `prefill B=${p.batch} T=${p.length}: ${p.ms.toFixed(1)} ms, ${p.tokensPerSecond.toFixed(0)} tokens/s, ${p.gflops.toFixed(1)} GFLOP/s = ${(100 * p.ratioToMatmulPeak).toFixed(1)}% of the MatMul peak (${p.matmulPeakGflops.toFixed(1)} GFLOP/s, ${r.matmulPeakShape.join('x')}, timed alternately)`,
    ),
    `generation: ${r.generation.tokensPerSecond.toFixed(0)} tokens/s (${r.generation.decodeSteps} KV-cached steps)`,
    `instrumentation (B=${r.instrumentation.batch} T=${r.instrumentation.length}, edits+taps at ${r.instrumentation.positions} positions, all layers): ${r.instrumentation.plainMs.toFixed(1)} -> ${r.instrumentation.instrumentedMs.toFixed(1)} ms (${(100 * r.instrumentation.overhead).toFixed(1)}%)`,
  ];
  return `${lines.join('\n')}\n`;
}

const HEADER = `| date | machine | command | prefill B=1 T=128 tok/s (% of MatMul peak) | prefill B=10 T=128 tok/s (% of MatMul peak) | MatMul peak GFLOP/s (B=10 row) | generation tok/s | instrumentation overhead |
|---|---|---|---|---|---|---|---|
`;

/** Appends one row to the results table of a BENCHMARKS.md (created with the table when missing). */
function appendRow(path: string, r: BenchResult, command: string): void {
  const existing = existsSync(path) ? readFileSync(path, 'utf8') : `# Benchmarks\n\n${HEADER}`;
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const [b1, b10] = r.prefill;
  const row = [
    new Date().toISOString().slice(0, 10),
    `${r.machine.cpu}, ${r.machine.cores} cores, ${r.machine.platform}, ORT ${r.machine.onnxruntime} ${r.machine.executionProvider}`,
    `\`${command}\` (median of ${r.runs})`,
    `${b1.tokensPerSecond.toFixed(0)} (${pct(b1.ratioToMatmulPeak)})`,
    `${b10.tokensPerSecond.toFixed(0)} (${pct(b10.ratioToMatmulPeak)})`,
    b10.matmulPeakGflops.toFixed(1),
    r.generation.tokensPerSecond.toFixed(0),
    pct(r.instrumentation.overhead),
  ];
  const body = existing.includes(HEADER) ? existing : `${existing.trimEnd()}\n\n${HEADER}`;
  writeAtomic(path, `${body.trimEnd()}\n| ${row.join(' | ')} |\n`);
}
