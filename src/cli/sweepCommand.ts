import { checkArtifactName } from '../core/experiment/fileNames';
import { BUILTIN_DEFAULTS, resolveOptions } from '../core/experiment/spec';
import { sweepTable } from '../core/experiment/sweepReport';
import { sweepAndSelect } from '../core/experiment/useCases';
import { formatMetricsTable } from '../core/metrics';
import { writeArtifact } from '../node/artifactFiles';
import { resultsFile } from '../node/sweepResults';
import { cliPorts, loadOptionsOf, parseCommand, pathOf, stderrLog } from './options';
import { handleOf, runOnTask } from './task';

export async function sweepCommand(argv: string[]): Promise<void> {
  const { options: given } = parseCommand('sweep', 'sweep', "the paper's grid on validation, the best configuration run once on the evaluation split", argv);
  const out = pathOf(given.out, 'out');
  if (out) checkArtifactName(out, 'flag');
  const rowsFile = pathOf(given.results, 'results');
  const ports = cliPorts('sweep');
  await runOnTask(resolveOptions('sweep', given), loadOptionsOf(given, stderrLog), ports, undefined, async (loaded, task) => {
    const s = await sweepAndSelect(handleOf(loaded), task, given, BUILTIN_DEFAULTS, ports, rowsFile ? resultsFile(rowsFile) : undefined);
    if (out) writeArtifact(out, s.artifact);
    if (given.json) process.stdout.write(`${JSON.stringify({ grid: s.grid, rows: s.rows, best: s.best, test: s.test, artifact: out })}\n`);
    else
      process.stdout.write(
        `${sweepTable(s.rows, s.best)}\n\n${formatMetricsTable([{ name: `iv best (${s.test.settings.split})`, metrics: s.result.metrics }], task.labels)}\n`,
      );
  });
}
