import { extractionEpisodesJson } from '../core/experiment/episodesJson';
import { checkArtifactName } from '../core/experiment/fileNames';
import { BUILTIN_DEFAULTS, extractRequestOf, resolveOptions } from '../core/experiment/spec';
import { extractUseCase, timingsOf } from '../core/experiment/useCases';
import { writeArtifact } from '../node/artifactFiles';
import { checkWritableOutputs, writeAtomic } from '../node/files';
import { UserError } from '../core/errors';
import { cliPorts, loadOptionsOf, parseCommand, pathOf, stderrLog } from './options';
import { handleOf, runOnTask } from './task';

export async function extractCommand(argv: string[]): Promise<void> {
  const { options: given } = parseCommand('extract', 'extract', 'vectors of one method from the train split into an artifact with its recipe', argv);
  const out = pathOf(given.out, 'out');
  if (!out) throw new UserError('--out is required: the artifact to write, e.g. --out sst2.ivec.safetensors');
  checkArtifactName(out, 'flag');
  const episodesOut = pathOf(given.episodesOut, 'episodes-out');
  checkWritableOutputs({ '--out': out, '--episodes-out': episodesOut });
  const r = resolveOptions('extract', given);
  const ports = cliPorts(`extract ${r.method ?? 'iv'}`);
  await runOnTask('extract', r, loadOptionsOf(given, stderrLog), ports, undefined, async (loaded, task) => {
    const x = await extractUseCase(handleOf(loaded), task, given, BUILTIN_DEFAULTS, ports);
    writeArtifact(out, x.artifact);
    if (episodesOut) writeAtomic(episodesOut, `${JSON.stringify(extractionEpisodesJson(task, x.episodes!, extractRequestOf(r, 'iv').iv))}\n`);
    const m = x.artifact.metadata;
    const summary = { artifact: out, method: m.method, labels: m.labels, options: m.options, cut: m.options.cut, timings: timingsOf(x.stats, x.ms) };
    if (given.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else stderrLog(`wrote ${out} (${m.method}, ${x.stats.forwardPasses} forward passes, ${(x.ms / 1000).toFixed(1)} s)`);
  });
}
