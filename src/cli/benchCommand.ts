import { existsSync, readFileSync } from 'node:fs';
import { writeAtomic } from '../core/fsAtomic';
import { runEngineBench, type BenchResult } from '../runtime/bench/engineBench';
import { loadModel } from '../runtime/loadModel';
import { defaultBenchDataset, runWorkloadBench, type WorkloadRow } from './benchWorkloads';
import { MODEL_OPTIONS, loadOptions, num, parse, stderrLog } from './options';

export async function benchCommand(argv: string[]): Promise<void> {
  const { values } = parse(argv, { ...MODEL_OPTIONS, runs: { type: 'string' }, write: { type: 'string' }, workloads: { type: 'boolean', default: false }, dataset: { type: 'string' } });
  const runs = num(values, 'runs', 9, { min: 1, max: 1000, integer: true });
  const options = loadOptions(values, stderrLog);
  const loaded = await loadModel(options);
  try {
    const result = await runEngineBench(loaded, runs, options.threads, stderrLog);
    const workloads = values.workloads ? await runWorkloadBench(loaded, values.dataset ?? defaultBenchDataset(), stderrLog) : undefined;
    const command = `iv bench ${argv.join(' ')}`.trim();
    if (values.write) {
      appendRow(values.write, HEADER, engineRow(result, command));
      if (workloads) for (const w of workloads.rows) appendRow(values.write, WORKLOAD_HEADER, workloadRow(result, workloads.dataset, w, command));
    }
    process.stdout.write(values.json ? `${JSON.stringify({ ...result, workloads, command })}\n` : summary(result) + (workloads ? workloadSummary(workloads.rows) : ''));
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

function engineRow(r: BenchResult, command: string): string[] {
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const [b1, b10] = r.prefill;
  return [
    new Date().toISOString().slice(0, 10),
    machine(r),
    `\`${command}\` (median of ${r.runs})`,
    `${b1.tokensPerSecond.toFixed(0)} (${pct(b1.ratioToMatmulPeak)})`,
    `${b10.tokensPerSecond.toFixed(0)} (${pct(b10.ratioToMatmulPeak)})`,
    b10.matmulPeakGflops.toFixed(1),
    r.generation.tokensPerSecond.toFixed(0),
    pct(r.instrumentation.overhead),
  ];
}

const machine = (r: BenchResult) => `${r.machine.cpu}, ${r.machine.cores} cores, ${r.machine.platform}, ORT ${r.machine.onnxruntime} ${r.machine.executionProvider}`;

const WORKLOAD_HEADER = `| date | machine | command | dataset | workload | forward passes | tokens | wall s | passes/s | tokens/s | engine tokens/s | ratio |
|---|---|---|---|---|---|---|---|---|---|---|---|
`;

function workloadRow(r: BenchResult, dataset: string, w: WorkloadRow, command: string): string[] {
  return [
    new Date().toISOString().slice(0, 10),
    machine(r),
    `\`${command}\``,
    dataset,
    w.workload,
    String(w.forwardPasses),
    String(w.tokens),
    (w.ms / 1000).toFixed(1),
    w.forwardPassesPerSecond.toFixed(0),
    w.tokensPerSecond.toFixed(0),
    w.engineTokensPerSecond.toFixed(0),
    w.ratioToEngine.toFixed(2),
  ];
}

function workloadSummary(rows: readonly WorkloadRow[]): string {
  return rows.map((w) => `${w.workload}: ${w.forwardPasses} passes, ${w.tokens} tokens in ${(w.ms / 1000).toFixed(1)} s = ${w.tokensPerSecond.toFixed(0)} tokens/s, ${w.ratioToEngine.toFixed(2)} x the engine's plain prefill (${w.engineTokensPerSecond.toFixed(0)} tokens/s)`).join('\n') + '\n';
}

/** Appends a row to the table with this header in a BENCHMARKS.md (the table is added when missing). */
function appendRow(path: string, header: string, row: string[]): void {
  const existing = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmarks\n';
  const line = `| ${row.join(' | ')} |\n`;
  const at = existing.indexOf(header);
  if (at < 0) return writeAtomic(path, `${existing.trimEnd()}\n\n${header}${line}`);
  // Insert after the table's last row.
  let end = at + header.length;
  while (end < existing.length && existing[end] === '|') end = existing.indexOf('\n', end) + 1 || existing.length;
  writeAtomic(path, existing.slice(0, end) + line + existing.slice(end));
}
