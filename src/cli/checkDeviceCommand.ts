import { UserError } from '../core/errors';
import { checkDevice } from '../runtime/bench/deviceCheck';
import { loadModel } from '../runtime/loadModel';
import { MODEL_OPTIONS, loadOptions, num, parse } from './modelFlags';
import { stderrLog } from './options';

/**
 * `iv check-device --device cuda [--model ...]`: is an execution provider usable for this model? The
 * same steered batch runs on the CPU and on the device: logits and taps must agree (argmax on at
 * least 99% of rows, logits within --tolerance relative to the largest logit) and the speed of each
 * is reported. Exits 1 when the device did not start (CPU fallback) or the values disagree.
 */
export async function checkDeviceCommand(argv: string[]): Promise<void> {
  const { values } = parse(argv, { ...MODEL_OPTIONS, runs: { type: 'string' }, tolerance: { type: 'string' } });
  const runs = num(values, 'runs', 5, { min: 1, max: 1000, integer: true });
  const tolerance = num(values, 'tolerance', 1e-2, { min: 0, max: 1 });
  const options = loadOptions(values, stderrLog);
  const requested = options.device ?? 'cpu';
  const cpu = await loadModel({ ...options, device: 'cpu' });
  const device = await loadModel(options);
  try {
    if (requested !== 'cpu' && requested !== 'auto' && device.model.executionProvider === 'cpu') {
      throw new UserError(`${requested} did not start, so there is nothing to compare: ${device.fallbacks.join('; ')}`);
    }
    const r = await checkDevice(cpu.model, device.model, runs);
    const ok = r.argmaxAgreement >= 0.99 && r.maxRelLogitDiff <= tolerance;
    if (values.json) process.stdout.write(`${JSON.stringify({ model: cpu.model.info.name, requested, ...r, tolerance, ok })}\n`);
    else {
      process.stdout.write(
        [
          `model ${cpu.model.info.name}: ${r.provider} vs cpu on ${r.batch} x ${r.length} tokens with an edit`,
          `logits: max |diff| ${r.maxAbsLogitDiff.toExponential(2)} (${r.maxRelLogitDiff.toExponential(2)} of the largest logit), argmax agrees on ${(100 * r.argmaxAgreement).toFixed(1)}% of rows`,
          `attn_out taps: max |diff| ${r.maxAbsTapDiff.toExponential(2)}`,
          `forward: cpu ${r.cpuMs.toFixed(1)} ms, ${r.provider} ${r.deviceMs.toFixed(1)} ms (${(r.cpuMs / r.deviceMs).toFixed(2)}x)`,
          `generation (${r.generation.newTokens} tokens): cpu ${r.generation.cpuTokensPerSecond.toFixed(0)} tokens/s, ${r.provider} ${r.generation.deviceTokensPerSecond.toFixed(0)} tokens/s; same tokens: ${r.generation.sameTokens ? 'yes' : 'no'}`,
          ok ? 'OK' : `MISMATCH: beyond tolerance ${tolerance} or argmax agreement below 99%`,
        ].join('\n') + '\n',
      );
    }
    if (!ok) process.exitCode = 1;
  } finally {
    await cpu.model.dispose();
    await device.model.dispose();
  }
}
