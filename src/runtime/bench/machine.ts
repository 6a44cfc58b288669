import { cpus, platform, totalmem } from 'node:os';
import * as ort from 'onnxruntime-node';

export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGiB: number;
  platform: string;
  node: string;
  onnxruntime: string;
  executionProvider: string;
  threads: number | 'default';
}

/** The machine a benchmark ran on, as its rows in BENCHMARKS.md name it. */
export function machineInfo(executionProvider: string, threads?: number): MachineInfo {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    platform: `${platform()}-${process.arch}`,
    node: process.version,
    onnxruntime: ort.env.versions.node ?? 'unknown',
    executionProvider,
    threads: threads ?? 'default',
  };
}
