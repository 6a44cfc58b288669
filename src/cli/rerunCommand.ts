import { UserError } from '../core/errors';
import { promptOptionsOf } from '../core/experiment/artifacts';
import { recipeOf } from '../core/experiment/recipe';
import { BUILTIN_DEFAULTS, resolveOptions } from '../core/experiment/spec';
import { rerunUseCase } from '../core/experiment/useCases';
import { readArtifact, writeArtifact } from '../node/artifactFiles';
import { checkWritableOutputs } from '../node/files';
import { cliPorts, loadOptionsOf, parseCommand, pathOf, stderrLog } from './options';
import { handleOf, runOnTask } from './task';

/**
 * `iv rerun <file>.ivec.safetensors`: the extraction rebuilt from the artifact's recipe (its data,
 * options, seed) on the same model, and its tensors compared byte for byte; exit 1 when they differ.
 */
export async function rerunCommand(argv: string[]): Promise<void> {
  const { options: given, positionals } = parseCommand(
    'rerun',
    'rerun',
    'rebuild an artifact from its recipe and check the tensors are byte-identical (iv rerun <file>.ivec.safetensors)',
    argv,
    true,
  );
  const file = positionals[0] ?? pathOf(given.vector, 'vector');
  if (!file || positionals.length > 1) throw new UserError('rerun takes one vector file: iv rerun <file>.ivec.safetensors');
  checkWritableOutputs({ '--out': pathOf(given.out, 'out') });
  const stored = readArtifact(file);
  const recipe = recipeOf(stored.metadata, file);
  // The data may have moved: --dataset points at it (its sha256 must still match).
  const dataset = pathOf(given.dataset, 'dataset') ?? (recipe.dataset as string);
  const ports = cliPorts('rerun');
  const r = resolveOptions('extract', { ...recipe, dataset });
  await runOnTask('extract', r, loadOptionsOf(given, stderrLog), ports, stored, async (loaded, task) => {
    const x = await rerunUseCase(handleOf(loaded), task, stored, file, BUILTIN_DEFAULTS, ports);
    const out = pathOf(given.out, 'out');
    if (out) writeArtifact(out, x.artifact);
    const summary = {
      artifact: file,
      identical: x.identical,
      difference: x.difference,
      ms: x.ms,
      maxSampleTokens: promptOptionsOf(stored.metadata.options).maxSampleTokens,
      rebuilt: out,
    };
    if (given.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else
      stderrLog(
        x.identical
          ? `${file}: re-run from its recipe, the tensors are byte-identical (${(x.ms / 1000).toFixed(1)} s)`
          : `${file}: re-run from its recipe, the tensors differ: ${x.difference}`,
      );
    if (!x.identical) process.exitCode = 1;
  });
}
