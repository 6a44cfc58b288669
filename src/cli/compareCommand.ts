import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { checkArtifactName } from '../core/experiment/fileNames';
import { BUILTIN_DEFAULTS, resolveOptions } from '../core/experiment/spec';
import { toJsonText } from '../core/experiment/sweepReport';
import { compareUseCase } from '../core/experiment/useCases';
import { writeArtifact } from '../node/artifactFiles';
import { checkWritableOutputs, writeAtomic } from '../node/files';
import { resultsFile } from '../node/sweepResults';
import { runEngineBaseline } from '../runtime/bench/engineBench';
import { cliPorts, loadOptionsOf, parseCommand, pathOf, stderrLog } from './options';
import { handleOf, runOnTask } from './task';

export async function compareCommand(argv: string[]): Promise<void> {
  const { options: given } = parseCommand(
    'compare',
    'compare',
    'every method on the same seeded test episodes (with --sweep, the IV configuration chosen on validation)',
    argv,
  );
  const out = pathOf(given.out, 'out');
  if (out) checkArtifactName(out, 'flag');
  const results = pathOf(given.results, 'results');
  const sweepRows = pathOf(given.sweepResults, 'sweep-results');
  // The artifact's and the report's folders are made at the end; the sweep rows are appended from the start.
  checkWritableOutputs({ '--out': out, '--results': results }, { makeFolders: true });
  checkWritableOutputs({ '--sweep-results': sweepRows });
  const ports = cliPorts('compare');
  await runOnTask('compare', resolveOptions('compare', given), loadOptionsOf(given, stderrLog), ports, undefined, async (loaded, task) => {
    const c = await compareUseCase(handleOf(loaded), task, given, BUILTIN_DEFAULTS, ports, {
      engine: () => runEngineBaseline(loaded.model),
      sweepResults: sweepRows ? resultsFile(sweepRows) : undefined,
    });
    for (const [file, write] of [
      [out, (f: string) => writeArtifact(f, c.artifact)],
      [results, (f: string) => writeAtomic(f, toJsonText(c.report))],
    ] as const) {
      if (!file) continue;
      mkdirSync(dirname(file), { recursive: true });
      write(file);
    }
    process.stdout.write(given.json ? `${JSON.stringify(c.report)}\n` : `${c.table}\n`);
  });
}
