import { UserError } from '../core/errors';
import { controlVectorFromArtifact, readArtifact, writeControlVector } from '../core/vectors';
import { num, parse, stderrLog } from './options';

/**
 * `iv export-gguf`: a llama.cpp control vector (direction.N) from a vector artifact. Approximate:
 * llama.cpp adds it to the block output at every token, Iterative Vectors act at the attention
 * output at io positions; the description printed says what was mapped where.
 */
export async function exportCommand(argv: string[]): Promise<void> {
  const { values } = parse(argv, { vector: { type: 'string' }, out: { type: 'string' }, row: { type: 'string', default: 'query' }, scale: { type: 'string' }, json: { type: 'boolean', default: false } });
  if (!values.vector || !values.out) throw new UserError('export-gguf needs --vector <file>.ivec.safetensors and --out <file>.gguf');
  const artifact = readArtifact(values.vector);
  const labels = artifact.metadata.labels;
  const rowFlag = values.row as string;
  // A class label's row, its index, or the query row.
  const row = rowFlag === 'query' ? 'query' : labels.includes(rowFlag) ? labels.indexOf(rowFlag) : Number.isInteger(Number(rowFlag)) ? Number(rowFlag) : undefined;
  if (row === undefined) throw new UserError(`--row must be "query", a label (${labels.join(', ')}) or a row index, got "${rowFlag}"`, { field: 'row' });
  const exported = controlVectorFromArtifact(artifact, { row, scale: num(values, 'scale', 1, { min: -1000, max: 1000 }) });
  const description = writeControlVector(values.out, exported);
  if (values.json) process.stdout.write(`${JSON.stringify({ out: values.out, ...description })}\n`);
  else stderrLog(`wrote ${values.out} (approximate: ${description.note})`);
}
