import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { UserError } from '../core/errors';
import { parseLlama2cCheckpoint } from '../runtime/embedded/checkpoint';
import { defaultCacheDir } from '../runtime/embedded/embeddedModel';
import { exportHubFolder, HUB_FILES } from '../runtime/embedded/hubExport';
import { resolveCheckpoint } from '../runtime/loadModel';
import { tokenizerJsonFromLlama2cBin } from '../runtime/tokenizer/tokenizerJson';
import { parse, stderrLog } from './options';

/**
 * `iv export-onnx --out <folder>`: the embedded model (or a llama2.c checkpoint) as a Transformers.js /
 * Optimum model folder: config.json, tokenizer files and onnx/model.onnx, a KV-cached decoder of
 * standard ONNX ops with the usual input and output names.
 */
export async function exportOnnxCommand(argv: string[]): Promise<void> {
  const { values } = parse(argv, {
    out: { type: 'string' },
    model: { type: 'string', default: 'default' },
    'cache-dir': { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  if (!values.out) throw new UserError('export-onnx needs --out <folder>');
  const cacheDir = values['cache-dir'] ?? defaultCacheDir();
  const spec = values.model;
  if (spec !== 'default' && !(spec.endsWith('.bin') && existsSync(spec) && statSync(spec).isFile())) {
    throw new UserError(`export-onnx exports the built-in model or a llama2.c checkpoint: give "default" or the path of a .bin, not ${spec}`, { file: spec });
  }
  const { checkpoint, tokenizerBin } = await resolveCheckpoint(spec, cacheDir, stderrLog);
  const start = performance.now();
  const weights = parseLlama2cCheckpoint(readFileSync(checkpoint), checkpoint);
  const tokenizerJson = JSON.stringify(tokenizerJsonFromLlama2cBin(readFileSync(tokenizerBin), tokenizerBin));
  exportHubFolder(weights, tokenizerJson, values.out);
  const out = resolve(values.out);
  const seconds = (performance.now() - start) / 1000;
  if (values.json) process.stdout.write(`${JSON.stringify({ out, files: Object.values(HUB_FILES), checkpoint, seconds })}\n`);
  else stderrLog(`wrote ${out} (${Object.values(HUB_FILES).join(', ')}) in ${seconds.toFixed(1)} s`);
}
