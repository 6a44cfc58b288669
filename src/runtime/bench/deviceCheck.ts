import { generate } from '../../core/generate';
import type { Edit, ForwardRequest, SteerableModel } from '../../core/model';
import { Rng } from '../../core/random';
import { median } from './timing';

export interface DeviceCheck {
  /** The provider the device model actually runs on (after any fallback). */
  provider: string;
  batch: number;
  length: number;
  /** Over every requested logit row: max |device - cpu|, the same relative to the largest |cpu logit|, and argmax agreement. */
  maxAbsLogitDiff: number;
  maxRelLogitDiff: number;
  argmaxAgreement: number;
  /** attn_out taps after one edit, at every layer. */
  maxAbsTapDiff: number;
  cpuMs: number;
  deviceMs: number;
  /** Greedy tokens from the same prompt: equal on both, and the decode speed of each. */
  generation: { newTokens: number; sameTokens: boolean; cpuTokensPerSecond: number; deviceTokensPerSecond: number };
}

/**
 * Runs the same steered batch (an edit, taps, logits at every position of one sequence and the
 * last of the others) on the CPU model and on the device model, and compares values and speed.
 */
export async function checkDevice(cpu: SteerableModel, device: SteerableModel, runs: number): Promise<DeviceCheck> {
  const info = cpu.info;
  const batch = 8;
  const length = Math.min(128, info.maxSeqLen);
  const rng = new Rng(11);
  const tokens = Array.from({ length: batch }, () => Array.from({ length }, () => 3 + rng.int(Math.min(info.vocabSize, 1000) - 3)));
  const edits: Edit[] = [{ site: 'attn_out', seq: 0, pos: length >> 1, layer: 0, vector: Float32Array.from({ length: info.dModel }, () => rng.next() - 0.5) }];
  const logits = [...tokens[0].map((_, pos) => ({ seq: 0, pos })), ...tokens.slice(1).map((_, i) => ({ seq: i + 1, pos: length - 1 }))];
  const req: ForwardRequest = {
    tokens,
    edits,
    logits,
    taps: [
      { seq: 0, pos: length - 1 },
      { seq: 1, pos: length >> 1 },
    ],
    tapSites: ['attn_out'],
  };
  const [a, b] = [await cpu.forward(req), await device.forward(req)];
  let maxAbs = 0;
  let scale = 0;
  let agree = 0;
  a.logits.forEach((row, i) => {
    const other = b.logits[i];
    let ia = 0;
    let ib = 0;
    for (let v = 0; v < row.length; v++) {
      maxAbs = Math.max(maxAbs, Math.abs(row[v] - other[v]));
      scale = Math.max(scale, Math.abs(row[v]));
      if (row[v] > row[ia]) ia = v;
      if (other[v] > other[ib]) ib = v;
    }
    if (ia === ib) agree++;
  });
  const ta = a.taps.attn_out!.data;
  const tb = b.taps.attn_out!.data;
  const maxAbsTapDiff = ta.reduce((m, v, i) => Math.max(m, Math.abs(v - tb[i])), 0);
  const cpuMs = await median(runs, () => cpu.forward(req));
  const deviceMs = await median(runs, () => device.forward(req));
  const newTokens = Math.min(32, info.maxSeqLen - 2);
  const prompt = tokens[0].slice(0, 2);
  const ga = await generate(cpu, prompt, { maxNewTokens: newTokens, stopAtEos: false });
  const gb = await generate(device, prompt, { maxNewTokens: newTokens, stopAtEos: false });
  return {
    provider: device.executionProvider,
    batch,
    length,
    maxAbsLogitDiff: maxAbs,
    maxRelLogitDiff: maxAbs / (scale || 1),
    argmaxAgreement: agree / a.logits.length,
    maxAbsTapDiff,
    cpuMs,
    deviceMs,
    generation: {
      newTokens,
      sameTokens: ga.tokens.join() === gb.tokens.join(),
      cpuTokensPerSecond: ga.timings.decodeTokensPerSecond,
      deviceTokensPerSecond: gb.timings.decodeTokensPerSecond,
    },
  };
}
