import { UserError } from '../core/errors';
import { extractArtifact, type ExtractMethod } from '../core/experiment/extraction';
import { EXTRACT_DEFAULTS } from '../core/iv/extract';
import { FV_DEFAULTS, FV_VARIANTS } from '../core/baselines/functionVectors';
import { TV_SHOTS_GRID } from '../core/experiment/methods';
import { extractionEpisodesJson } from '../core/experiment/episodesJson';
import { writeAtomic } from '../core/fsAtomic';
import { ARTIFACT_EXTENSION, writeArtifact } from '../core/vectors/artifact';
import { loadModel } from '../runtime/loadModel';
import { MODEL_OPTIONS, loadOptions, num, parse, stderrLog } from './options';
import { DEMO_ORDERS, TASK_OPTIONS, ZERO_SHOT_POSITIONS, listOf, loadTask, oneOf, progressLine, seedOf } from './taskOptions';

/** Extraction flags; `eval` and `sweep` take the same with an `ext-` prefix on episodes and shots. */
export const EXTRACT_OPTIONS = {
  method: { type: 'string' },
  episodes: { type: 'string' },
  shots: { type: 'string' },
  'ext-episodes': { type: 'string' },
  'ext-shots': { type: 'string' },
  batch: { type: 'string' },
  'ext-strength': { type: 'string' },
  'zero-shot-position': { type: 'string' },
  'val-episodes': { type: 'string' },
  'effect-episodes': { type: 'string' },
  'top-heads': { type: 'string' },
  'fv-variant': { type: 'string' },
  'fv-shots': { type: 'string' },
  'tv-shots-grid': { type: 'string' },
  'val-shots': { type: 'string' },
  'episodes-out': { type: 'string' },
  'demo-order': { type: 'string' },
} as const;

/**
 * The extraction request from flags (shared with eval, sweep and demo). `prefix` is "ext-" where
 * --episodes and --shots belong to the evaluation; the validation runs that choose Task Vectors'
 * shots and layer then use the evaluation's --shots (else --val-shots, default 1).
 */
export function extractRequest(values: Record<string, unknown>, tokenizerSha256: string, prefix: '' | 'ext-' = '') {
  return {
    method: oneOf(values.method, 'method', ['iv', 'tv', 'fv'] as ExtractMethod[], 'iv'),
    iv: {
      episodes: num(values, `${prefix}episodes`, EXTRACT_DEFAULTS.episodes, { min: 1, max: 1e6, integer: true }),
      shots: num(values, `${prefix}shots`, EXTRACT_DEFAULTS.shots, { min: 1, max: 64, integer: true }),
      refreshEvery: num(values, 'batch', EXTRACT_DEFAULTS.refreshEvery, { min: 0, max: 1e6, integer: true }),
      strength: num(values, 'ext-strength', EXTRACT_DEFAULTS.strength, { min: 0, max: 100 }),
      seed: seedOf(values),
      zeroShotPosition: oneOf(values['zero-shot-position'], 'zero-shot-position', ZERO_SHOT_POSITIONS, 'separator'),
    },
    validation: {
      shots: num(values, prefix ? 'shots' : 'val-shots', 1, { min: 0, max: 64, integer: true }),
      episodes: num(values, 'val-episodes', 200, { min: 1, max: 1e6, integer: true }),
      seed: seedOf(values),
      demoOrder: oneOf(values['demo-order'], 'demo-order', DEMO_ORDERS, 'shuffled'),
      resamples: 0,
    },
    tv: { shotsGrid: listOf(values['tv-shots-grid'] as string | undefined, 'tv-shots-grid', [...TV_SHOTS_GRID]).map((k) => checkedShots(k, 'tv-shots-grid')) },
    fv: {
      variant: oneOf(values['fv-variant'], 'fv-variant', FV_VARIANTS, FV_DEFAULTS.variant),
      shots: num(values, 'fv-shots', FV_DEFAULTS.shots, { min: 1, max: 64, integer: true }),
      effectEpisodes: num(values, 'effect-episodes', FV_DEFAULTS.effectEpisodes, { min: 1, max: 1e5, integer: true }),
      topHeads: values['top-heads'] === undefined ? undefined : num(values, 'top-heads', 1, { min: 1, max: 1e4, integer: true }),
    },
    tokenizerSha256,
  };
}

function checkedShots(k: number, flag: string): number {
  if (!Number.isInteger(k) || k < 1 || k > 64) throw new UserError(`--${flag} takes whole numbers of shots from 1 to 64, got ${k}`);
  return k;
}

export async function extractCommand(argv: string[]): Promise<void> {
  const { values } = parse(argv, { ...MODEL_OPTIONS, ...TASK_OPTIONS, ...EXTRACT_OPTIONS, out: { type: 'string' } });
  const out = values.out;
  if (!out) throw new UserError(`--out is required: the artifact to write, e.g. --out sst2${ARTIFACT_EXTENSION}`);
  if (!out.endsWith(ARTIFACT_EXTENSION)) throw new UserError(`--out must end with ${ARTIFACT_EXTENSION}`, { file: out });
  const loaded = await loadModel(loadOptions(values, stderrLog));
  try {
    const task = await loadTask(values, loaded);
    const req = extractRequest(values, loaded.tokenizer.sha256);
    if (values['episodes-out'] && req.method !== 'iv') throw new UserError('--episodes-out writes the episodes of an Iterative Vectors extraction (--method iv)');
    const result = await extractArtifact(loaded.model, task, { ...req, onProgress: progressLine(`extract ${req.method}`) });
    writeArtifact(out, result.artifact);
    if (values['episodes-out']) {
      writeAtomic(values['episodes-out'], `${JSON.stringify(extractionEpisodesJson(task, result.episodes!, req.iv))}\n`);
    }
    const summary = {
      artifact: out,
      method: result.artifact.metadata.method,
      labels: result.artifact.metadata.labels,
      options: result.artifact.metadata.options,
      cut: result.artifact.metadata.options.cut,
      timings: { ms: result.ms, forwardPasses: result.stats.forwardPasses, tokens: result.stats.tokens, forwardPassesPerSecond: (result.stats.forwardPasses / result.ms) * 1000, tokensPerSecond: (result.stats.tokens / result.ms) * 1000 },
    };
    if (values.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else stderrLog(`wrote ${out} (${summary.method}, ${result.stats.forwardPasses} forward passes, ${(result.ms / 1000).toFixed(1)} s)`);
  } finally {
    await loaded.model.dispose();
  }
}
