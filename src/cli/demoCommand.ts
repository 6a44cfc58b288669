import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { BUILTIN_DEFAULTS, extractRequestOf, resolveOptions } from '../core/experiment/spec';
import { toJsonText } from '../core/experiment/sweepReport';
import { compareUseCase } from '../core/experiment/useCases';
import { writeArtifact } from '../node/artifactFiles';
import { checkWritableOutputs, writeAtomic } from '../node/files';
import { runEngineBaseline } from '../runtime/bench/engineBench';
import { MODEL_OPTIONS, loadOptions, num, parse } from './modelFlags';
import { cliPorts, stderrLog } from './options';
import { handleOf, runOnTask } from './task';

/**
 * The demo task: first-name gender with the label words "she" / "he", prompts starting with BOS.
 * Of the built-ins it is the one where stories15M ranks queries above chance (label-margin AUC about
 * 0.8 zero-shot, 0.7 1-shot): TinyStories pairs names with pronouns all the time. On the sentiment lexicon and on spam
 * its margins stay close to chance whatever the label words (measured on validation, 300 episodes).
 */
export const DEMO_TASK = { dataset: 'stdlib:first-names', labelWords: { female: 'she', male: 'he' }, bos: true } as const;

export async function demoCommand(argv: string[]): Promise<void> {
  const { values } = parse(argv, { ...MODEL_OPTIONS, 'out-dir': { type: 'string', default: join('.iv', 'demo') }, episodes: { type: 'string' } });
  const outDir = values['out-dir'] as string;
  // 1000 test episodes: the 95% interval of an accuracy near 0.5 is then about +-0.035 (resampled by name).
  const episodes = num(values, 'episodes', 1000, { min: 10, max: 1e6, integer: true });
  checkWritableOutputs({ '--out-dir': outDir }, { folder: true });
  const given = { dataset: DEMO_TASK.dataset, labelWords: { ...DEMO_TASK.labelWords }, bos: DEMO_TASK.bos, episodes };
  const ports = cliPorts('demo');
  await runOnTask('compare', resolveOptions('compare', given), loadOptions(values, stderrLog), ports, undefined, async (loaded, task) => {
    const { dataset } = task;
    stderrLog(
      `demo: ${loaded.model.info.name} on ${dataset.id} (${dataset.labels.join(' / ')}): ${dataset.counts.train?.rows} train, ${dataset.counts.validation?.rows} validation, ${dataset.counts.test?.rows} test names`,
    );
    const c = await compareUseCase(handleOf(loaded), task, given, BUILTIN_DEFAULTS, ports, { engine: () => runEngineBaseline(loaded.model) });
    const artifact = join(outDir, 'first-names.ivec.safetensors');
    const results = join(outDir, 'results.json');
    mkdirSync(outDir, { recursive: true });
    writeArtifact(artifact, c.artifact);
    writeAtomic(results, toJsonText(c.report));
    const perf = c.report.performance as { extraction: { ms: number; forwardPasses: number } };
    const iv = extractRequestOf(resolveOptions('compare', given), 'iv').iv;
    process.stdout.write(
      `${c.table}\n\nIV extraction (paper defaults: E=${iv.episodes}, k=${iv.shots}, b=${iv.refreshEvery}, a1=${iv.strength}): ${perf.extraction.forwardPasses} forward passes in ${(perf.extraction.ms / 1000).toFixed(1)} s.\nWrote ${artifact} and ${results}.\n`,
    );
  });
}
