import { existsSync, readFileSync } from 'node:fs';
import { writeAtomic } from '../node/files';
import { runEngineBench, type BenchResult } from '../runtime/bench/engineBench';
import { runHubBench, type HubBenchResult } from '../runtime/bench/hubBench';
import { HubSteerableModel } from '../runtime/hub/hubModel';
import { loadModel } from '../runtime/loadModel';
import { defaultBenchDataset, runWorkloadBench, type WorkloadRow } from './benchWorkloads';
import { MODEL_OPTIONS, loadOptions, num, parse } from './modelFlags';
import { stderrLog } from './options';

export async function benchCommand(argv: string[]): Promise<void> {
  const { values } = parse(argv, {
    ...MODEL_OPTIONS,
    runs: { type: 'string' },
    write: { type: 'string' },
    workloads: { type: 'boolean', default: false },
    dataset: { type: 'string' },
  });
  const runs = num(values, 'runs', 9, { min: 1, max: 1000, integer: true });
  const options = loadOptions(values, stderrLog);
  const loaded = await loadModel(options);
  try {
    if (loaded.model instanceof HubSteerableModel) {
      // An exported decoder: its cost against the export itself, not against the llama2.c graphs.
      const hub = await runHubBench(loaded.model, runs, options.threads, stderrLog);
      const command = `iv bench ${argv.join(' ')}`.trim();
      if (values.write) appendRow(values.write, HUB_HEADER, hubRow(hub, command));
      process.stdout.write(values.json ? `${JSON.stringify({ ...hub, command })}\n` : hubSummary(hub));
      return;
    }
    const result = await runEngineBench(loaded, runs, options.threads, stderrLog);
    const workloads = values.workloads ? await runWorkloadBench(loaded, values.dataset ?? defaultBenchDataset(), stderrLog) : undefined;
    const command = `iv bench ${argv.join(' ')}`.trim();
    if (values.write) {
      appendRow(values.write, HEADER, engineRow(result, command));
      if (workloads) for (const w of workloads.rows) appendRow(values.write, WORKLOAD_HEADER, workloadRow(result, workloads.dataset, w, command));
    }
    process.stdout.write(
      values.json ? `${JSON.stringify({ ...result, workloads, command })}\n` : summary(result) + (workloads ? workloadSummary(workloads.rows) : ''),
    );
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

const machine = (r: BenchResult | HubBenchResult) =>
  `${r.machine.cpu}, ${r.machine.cores} cores, ${r.machine.platform}, ORT ${r.machine.onnxruntime} ${r.machine.executionProvider}`;

const HUB_HEADER = `| date | machine | command | model | prefill B x T | export ms (its own logits) | zero edits ms (ratio) | edits + taps ms vs zero edits ms, timed alternately (overhead) | generation tok/s: bare loop over the export | generation tok/s: product loop (ratio) |
|---|---|---|---|---|---|---|---|---|---|
`;

function hubRow(r: HubBenchResult, command: string): string[] {
  const { prefill: p, generation: g } = r;
  const ratio = (x: number, base: number) => `${x.toFixed(1)} (${(x / base).toFixed(2)}x)`;
  return [
    new Date().toISOString().slice(0, 10),
    machine(r),
    `\`${command}\` (median of ${r.runs})`,
    `${r.model} (${r.file})`,
    `${p.batch} x ${p.length}`,
    p.exportMs.toFixed(1),
    ratio(p.zeroEditMs, p.exportMs),
    `${p.instrumentedMs.toFixed(1)} vs ${p.zeroEditAgainMs.toFixed(1)} (${signedPercent(p.overhead)})`,
    g.exportTokensPerSecond.toFixed(0),
    `${g.tokensPerSecond.toFixed(0)} (${(g.tokensPerSecond / g.exportTokensPerSecond).toFixed(2)}x)`,
  ];
}

const signedPercent = (x: number) => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}%`;

function hubSummary(r: HubBenchResult): string {
  const { prefill: p, generation: g } = r;
  return (
    [
      `machine: ${machine(r)}; model ${r.model} (${r.file})`,
      `prefill B=${p.batch} T=${p.length}: export ${p.exportMs.toFixed(1)} ms (all logits), instrumented with no edits ${p.zeroEditMs.toFixed(1)} ms (${(p.zeroEditMs / p.exportMs).toFixed(2)}x), with edits and taps at ${p.positions} positions on every layer ${p.instrumentedMs.toFixed(1)} ms against ${p.zeroEditAgainMs.toFixed(1)} ms with no edits timed alternately (${signedPercent(p.overhead)})`,
      `generation (${g.newTokens} tokens, greedy): bare loop over the export ${g.exportTokensPerSecond.toFixed(0)} tokens/s, product loop ${g.tokensPerSecond.toFixed(0)} tokens/s (${(g.tokensPerSecond / g.exportTokensPerSecond).toFixed(2)}x)`,
    ].join('\n') + '\n'
  );
}

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
  return (
    rows
      .map(
        (w) =>
          `${w.workload}: ${w.forwardPasses} passes, ${w.tokens} tokens in ${(w.ms / 1000).toFixed(1)} s = ${w.tokensPerSecond.toFixed(0)} tokens/s, ${w.ratioToEngine.toFixed(2)} x the engine's plain prefill (${w.engineTokensPerSecond.toFixed(0)} tokens/s)`,
      )
      .join('\n') + '\n'
  );
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
