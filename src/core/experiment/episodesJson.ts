import type { SplitName } from '../datasets';
import type { Episode } from '../icl/episodes';
import type { Prompt } from '../icl/prompt';
import type { Extraction } from '../iv/extract';
import type { EvalResult } from './methods';
import { splitRows, type Task } from './task';

/**
 * The episodes of a run as an independent implementation needs them (`--episodes-out`): which rows,
 * in which order, and the token ids and io positions built from them, so that another
 * implementation can rebuild the prompts from the rows and check it gets the same ids.
 */
function episodesJson(
  task: Task,
  split: SplitName,
  kind: 'extraction' | 'evaluation',
  episodes: readonly Episode[],
  prompts: readonly Prompt[],
  extra: (i: number) => Record<string, unknown>,
  header: Record<string, unknown>,
) {
  const rows = splitRows(task, split);
  const row = (i: number) => ({ line: rows[i].line, text: rows[i].text, label: rows[i].label });
  const { bos, maxSampleTokens, maxSeqLen, tokenization } = task.verbalizer.options;
  return {
    format: 'iv-episodes/1',
    kind,
    dataset: task.dataset.id,
    datasetSha256: task.dataset.sha256,
    file: task.dataset.files[split],
    split,
    labels: task.labels,
    labelFirstTokens: task.verbalizer.labelFirstTokens,
    tokenization,
    bos,
    maxSampleTokens,
    maxSeqLen,
    ...header,
    episodes: episodes.map((e, i) => ({
      support: e.support.map(row),
      query: row(e.query),
      tokens: prompts[i].tokens,
      ioPositions: prompts[i].ioPositions,
      cut: prompts[i].cut,
      ...extra(i),
    })),
  };
}

/** Algorithm 1's episodes with the zero-shot prompts B was read from. */
export function extractionEpisodesJson(
  task: Task,
  x: Pick<Extraction, 'episodes' | 'prompts'>,
  header: { shots: number; seed: number; zeroShotPosition: string },
) {
  return episodesJson(
    task,
    'train',
    'extraction',
    x.episodes,
    x.prompts.map((p) => p.fewShot),
    (i) => ({ zeroShot: { tokens: x.prompts[i].zeroShot.tokens, readPosition: x.prompts[i].readPosition } }),
    header,
  );
}

/** An evaluation's episodes with the run's label logits and predictions. */
export function evaluationEpisodesJson(task: Task, split: SplitName, r: EvalResult, header: Record<string, unknown>) {
  return episodesJson(
    task,
    split,
    'evaluation',
    r.episodes,
    r.prompts,
    (i) => ({ labelLogits: Array.from(r.predictions[i].labelLogits), predicted: r.predictions[i].predicted }),
    header,
  );
}
