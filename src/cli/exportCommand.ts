import { UserError } from '../core/errors';
import { controlVectorFromArtifact } from '../core/vectors';
import { resolveRow } from '../core/vectors/rows';
import { resolveOptions } from '../core/experiment/spec';
import { readArtifact, writeControlVector } from '../node/artifactFiles';
import { checkWritableOutputs } from '../node/files';
import { parseCommand, pathOf, stderrLog } from './options';

/**
 * `iv export-gguf`: a llama.cpp control vector (direction.N) from a vector artifact. Approximate:
 * llama.cpp adds it to the block output at every token, Iterative Vectors act at the attention
 * output at io positions; the description printed says what was mapped where.
 */
export async function exportCommand(argv: string[]): Promise<void> {
  const { options: given } = parseCommand(
    'export-gguf',
    'exportGguf',
    'a llama.cpp control vector (direction.N) from one row of a vector artifact (approximate)',
    argv,
  );
  const vector = pathOf(given.vector, 'vector');
  const out = pathOf(given.out, 'out');
  if (!vector || !out) throw new UserError('export-gguf needs --vector <file>.ivec.safetensors and --out <file>.gguf');
  checkWritableOutputs({ '--out': out });
  const r = resolveOptions('exportGguf', given);
  const artifact = readArtifact(vector);
  const m = artifact.metadata;
  const row = resolveRow(r.row, m.method, m.labels).row;
  const exported = controlVectorFromArtifact(artifact, {
    row,
    scale: r.scale,
    placement: r.placement,
    modelHint: r.modelHint,
    useLayerStrengths: r.useLayerStrengths,
  });
  const description = writeControlVector(out, exported);
  if (given.json) process.stdout.write(`${JSON.stringify({ out, ...description })}\n`);
  else stderrLog(`wrote ${out} (approximate: ${description.note})`);
}
