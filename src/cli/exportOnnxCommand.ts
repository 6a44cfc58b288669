import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { UserError } from '../core/errors';
import { parseLlama2cCheckpoint } from '../runtime/embedded/checkpoint';
import { defaultCacheDir } from '../runtime/embedded/embeddedModel';
import { checkWritableOutputs } from '../node/files';
import { exportHubFolder, hubExportFiles } from '../runtime/embedded/hubExport';
import type { HubVariant } from '../runtime/embedded/quantize';
import { resolveCheckpoint } from '../runtime/loadModel';
import { tokenizerJsonFromLlama2cBin } from '../runtime/tokenizer/tokenizerJson';
import { parse } from './modelFlags';
import { stderrLog } from './options';

/** `--dtype`: the quantized variants written beside onnx/model.onnx. */
const DTYPES: Record<string, HubVariant[]> = { fp32: [], q4: ['q4'], q8: ['q8'], all: ['q4', 'q8'] };

/**
 * `iv export-onnx --out <folder> [--dtype fp32|q4|q8|all]`: the embedded model (or a llama2.c checkpoint)
 * as a Transformers.js / Optimum model folder: config.json, tokenizer files and onnx/model.onnx, a
 * KV-cached decoder of standard ONNX ops with the usual input and output names; with --dtype also
 * onnx/model_q4.onnx (MatMulNBits) and/or onnx/model_quantized.onnx (dynamic int8), quantized as ONNX
 * Runtime's tools quantize Transformers.js models.
 */
export async function exportOnnxCommand(argv: string[]): Promise<void> {
  const { values } = parse(argv, {
    out: { type: 'string' },
    model: { type: 'string', default: 'default' },
    'cache-dir': { type: 'string' },
    dtype: { type: 'string', default: 'fp32' },
    json: { type: 'boolean', default: false },
  });
  if (!values.out) throw new UserError('export-onnx needs --out <folder>');
  const variants = Object.hasOwn(DTYPES, values.dtype) ? DTYPES[values.dtype] : undefined;
  if (!variants) throw new UserError(`--dtype must be one of ${Object.keys(DTYPES).join(', ')}, not ${values.dtype}`);
  const cacheDir = values['cache-dir'] ?? defaultCacheDir();
  checkWritableOutputs({ '--out': values.out, '--cache-dir': cacheDir }, { folder: true });
  const spec = values.model;
  if (spec !== 'default' && !(spec.endsWith('.bin') && existsSync(spec) && statSync(spec).isFile())) {
    throw new UserError(`export-onnx exports the built-in model or a llama2.c checkpoint: give "default" or the path of a .bin, not ${spec}`, { file: spec });
  }
  const { checkpoint, tokenizerBin } = await resolveCheckpoint(spec, cacheDir, stderrLog);
  const start = performance.now();
  const weights = parseLlama2cCheckpoint(readFileSync(checkpoint), checkpoint);
  const tokenizerJson = JSON.stringify(tokenizerJsonFromLlama2cBin(readFileSync(tokenizerBin), tokenizerBin));
  exportHubFolder(weights, tokenizerJson, values.out, { variants });
  const out = resolve(values.out);
  const files = hubExportFiles(variants);
  const seconds = (performance.now() - start) / 1000;
  if (values.json) process.stdout.write(`${JSON.stringify({ out, files, checkpoint, seconds })}\n`);
  else stderrLog(`wrote ${out} (${files.join(', ')}) in ${seconds.toFixed(1)} s`);
}
