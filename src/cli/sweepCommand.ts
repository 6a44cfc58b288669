import { existsSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { checkArtifactName, numberedName, sweepRowsName, withSweepResults } from '../core/experiment/fileNames';
import { BUILTIN_DEFAULTS, resolveOptions } from '../core/experiment/spec';
import { sweepTable } from '../core/experiment/sweepReport';
import { sweepAndSelect } from '../core/experiment/useCases';
import { formatMetricsTable } from '../core/metrics';
import { writeArtifact } from '../node/artifactFiles';
import { checkWritableOutputs } from '../node/files';
import { resultsFile } from '../node/sweepResults';
import { cliPorts, loadOptionsOf, parseCommand, pathOf, stderrLog } from './options';
import { handleOf, runOnTask } from './task';

/**
 * `iv sweep`: the rows go to `--results`, else (with `--out`) next to the vectors under the name
 * the extension's sweep gives them (sweepRowsName: `x.iv-sweep.ivec.safetensors` -> `x.sweep.jsonl`);
 * the vectors record their rows file (metadata.options.sweepResults) for the layer-effects panel.
 */
export async function sweepCommand(argv: string[]): Promise<void> {
  const { options: given } = parseCommand('sweep', 'sweep', "the paper's grid on validation, the best configuration run once on the evaluation split", argv);
  const out = pathOf(given.out, 'out');
  if (out) checkArtifactName(out, 'flag');
  const rowsFile = pathOf(given.results, 'results') ?? (out ? freePath(join(dirname(out), sweepRowsName(basename(out)))) : undefined);
  checkWritableOutputs({ '--out': out, '--results': rowsFile });
  const ports = cliPorts('sweep');
  await runOnTask('sweep', resolveOptions('sweep', given), loadOptionsOf(given, stderrLog), ports, undefined, async (loaded, task) => {
    const s = await sweepAndSelect(handleOf(loaded), task, given, BUILTIN_DEFAULTS, ports, rowsFile ? resultsFile(rowsFile) : undefined);
    if (out) {
      if (rowsFile) s.artifact.metadata.options = withSweepResults(s.artifact.metadata.options, recordedPath(dirname(out), rowsFile));
      writeArtifact(out, s.artifact);
    }
    if (given.json) process.stdout.write(`${JSON.stringify({ grid: s.grid, rows: s.rows, best: s.best, test: s.test, artifact: out, results: rowsFile })}\n`);
    else
      process.stdout.write(
        `${sweepTable(s.rows, s.best)}\n\n${formatMetricsTable([{ name: `iv best (${s.test.settings.split})`, metrics: s.result.metrics }], task.labels)}\n`,
      );
  });
}

/** `path`, else its first numbered name that is free (`x.sweep-2.jsonl`, ...). */
function freePath(path: string): string {
  let p = path;
  for (let n = 2; existsSync(p); n++) p = join(dirname(path), numberedName(basename(path), n));
  return p;
}

/** The rows file as the vectors in `dir` record it: relative to `dir` with `/` separators (absolute when on another drive). */
function recordedPath(dir: string, rows: string): string {
  return relative(resolve(dir), resolve(rows)).split(sep).join('/');
}
