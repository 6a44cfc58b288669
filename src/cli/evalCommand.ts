import { UserError } from '../core/errors';
import { evaluationEpisodesJson } from '../core/experiment/episodesJson';
import { BUILTIN_DEFAULTS, EVAL_METHODS, evaluateMethodOf, resolveOptions } from '../core/experiment/spec';
import { toJsonText } from '../core/experiment/sweepReport';
import { evaluateUseCase } from '../core/experiment/useCases';
import { formatMetricsTable } from '../core/metrics';
import { readArtifact } from '../node/artifactFiles';
import { checkWritableOutputs, writeAtomic } from '../node/files';
import { cliPorts, loadOptionsOf, parseCommand, pathOf, stderrLog } from './options';
import { handleOf, runOnTask, seededByArtifact } from './task';

export async function evalCommand(argv: string[]): Promise<void> {
  const { options: flags } = parseCommand('eval', 'evaluate', 'Algorithm 2 for one method on a split, with item-resampled intervals', argv);
  const vectorPath = pathOf(flags.vector, 'vector');
  checkWritableOutputs({ '--results': pathOf(flags.results, 'results'), '--episodes-out': pathOf(flags.episodesOut, 'episodes-out') });
  const artifact = vectorPath ? readArtifact(vectorPath) : undefined;
  const method = evaluateMethodOf(flags, artifact?.metadata.method);
  if (!method) throw new UserError(`--method is required: one of ${EVAL_METHODS.join(', ')} (or --vector, whose file says its method)`);
  // A vector file is evaluated on its own data and prompts unless the flags say otherwise.
  const given = seededByArtifact(flags, artifact);
  const r = resolveOptions('evaluate', given);
  const ports = cliPorts(`eval ${method}`);
  await runOnTask('evaluate', r, loadOptionsOf(given, stderrLog), ports, artifact, async (loaded, task) => {
    const e = await evaluateUseCase(handleOf(loaded), task, method, given, BUILTIN_DEFAULTS, ports, artifact && { artifact, name: vectorPath! });
    const episodesOut = pathOf(given.episodesOut, 'episodes-out');
    if (episodesOut) {
      const s = e.spec;
      const strength = s.method === 'iv' || s.method === 'fv' ? s.strength : undefined;
      writeAtomic(
        episodesOut,
        `${JSON.stringify(evaluationEpisodesJson(task, e.options.split, e.result, { method, shots: e.options.shots, seed: e.options.seed, demoOrder: e.options.demoOrder, strength, injectAt: s.method === 'iv' ? s.injectAt : undefined, vector: vectorPath }))}\n`,
      );
    }
    const results = pathOf(given.results, 'results');
    if (results)
      writeAtomic(
        results,
        toJsonText({
          ...e.json,
          dataset: { id: task.dataset.id, source: task.dataset.source, sha256: task.dataset.sha256 },
          vector: vectorPath,
          createdAt: new Date().toISOString(),
        }),
      );
    if (given.json) process.stdout.write(`${JSON.stringify(e.json)}\n`);
    else
      process.stdout.write(
        `${formatMetricsTable([{ name: `${method} (${e.options.shots}-shot, ${e.options.split})`, metrics: e.result.metrics }], task.labels)}\n`,
      );
  });
}
