import { UserError } from '../core/errors';
import { inspectModel, type InspectReport } from '../runtime/hub/inspect';
import type { TensorInfo } from '../runtime/hub/modelFolder';
import { hubCacheDir, isHubId, resolveHubModel } from '../runtime/hub/hubSource';
import { loadOptions, parse } from './modelFlags';
import { stderrLog } from './options';

/**
 * `iv inspect --model <folder>`: what a hub model folder holds (Transformers.js / Optimum or
 * onnxruntime-genai layout) and where each layer's steering sites are. Reads the graph only,
 * never the weights, and needs no tokenizer.
 */
export async function inspectCommand(argv: string[]): Promise<void> {
  const { values } = parse(argv, {
    model: { type: 'string' },
    file: { type: 'string' },
    site: { type: 'string' },
    json: { type: 'boolean', default: false },
    dtype: { type: 'string' },
    offline: { type: 'boolean', default: false },
    'cache-dir': { type: 'string' },
  });
  if (!values.model) throw new UserError('inspect needs --model <folder> (a model folder, an .onnx file or a hub id owner/name)');
  let path = values.model;
  if (isHubId(path)) {
    const { dtype, offline, cacheDir } = loadOptions({ ...values, device: 'cpu', tokenizer: 'auto' }, stderrLog);
    path = (await resolveHubModel(path, { dtype, offline, cacheDir: hubCacheDir(cacheDir), log: stderrLog })).onnxFile;
  }
  const report = inspectModel(path, { file: values.file, site: values.site });
  if (values.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  else process.stdout.write(formatReport(report));
  if (report.externalDataFiles.length) stderrLog(`note: weights in ${report.externalDataFiles.join(', ')} were not read`);
}

const shape = (t: TensorInfo) => (t.shape ? `[${t.shape.join(',')}]` : '[?]');

export function formatReport(r: InspectReport): string {
  const opt = (v: number | undefined) => (v === undefined ? '?' : String(v));
  const lines = [
    `model        ${r.onnxFile} (${r.layout} layout${r.producer ? `, ${r.producer}` : ''})`,
    `architecture ${r.architecture}`,
    `layers       ${r.layers}`,
    `width        ${opt(r.hiddenSize)}`,
    `heads        ${opt(r.heads)} (kv ${opt(r.kvHeads)}, head size ${opt(r.headSize)})`,
    `dtype        ${r.dtype}`,
    `inputs       ${r.inputs.map((t) => `${t.name} ${t.dtype}${shape(t)}`).join('\n             ')}`,
    `outputs      ${r.outputs.map((t) => `${t.name} ${t.dtype}${shape(t)}`).join('\n             ')}`,
  ];
  if (r.kv) {
    const names = r.kv.stacked
      ? `${r.kv.past} -> ${r.kv.present ?? '?'} (K and V stacked)`
      : `${r.kv.pastKey ?? '?'} / ${r.kv.pastValue ?? '?'} -> ${r.kv.presentKey ?? '?'} / ${r.kv.presentValue ?? '?'}`;
    lines.push(`kv cache     ${names}, ${r.kv.layers} layers, ${r.kv.dtype ?? '?'}${r.kv.shape ? `[${r.kv.shape.join(',')}]` : ''}`);
  } else lines.push('kv cache     none');
  if (r.merged) {
    const m = r.merged;
    lines.push(`merged       If "${m.node}" on ${m.condition}: both branches instrumented (then: with past, else: without); sites below are the else branch's`);
  }
  lines.push(`sites        (found by ${r.sites[0]?.rule ?? '-'})`);
  for (const s of r.sites) {
    lines.push(`  layer ${s.layer}: attn_out ${s.tensors.attn_out}`);
    if (s.tensors.head_out) lines.push(`           head_out ${s.tensors.head_out}`);
    if (s.tensors.resid_post) lines.push(`          resid_post ${s.tensors.resid_post}`);
  }
  return `${lines.join('\n')}\n`;
}
