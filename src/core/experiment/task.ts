import { UserError } from '../errors';
import type { Dataset, Example, SplitName } from '../datasets';
import type { ModelInfo, Tokenizer } from '../model';
import { DEFAULT_TOKENIZATION, Verbalizer, type Tokenization } from '../icl/prompt';

/** A dataset made ready for one model: label words checked against its tokenizer, a verbalizer, the splits. */
export interface Task {
  dataset: Dataset;
  verbalizer: Verbalizer;
  labels: readonly string[];
}

export interface TaskOptions {
  /** Start prompts with BOS (default false, as the official code). */
  bos?: boolean;
  /** Per-sample input cap in tokens (default 256, as the official code). */
  maxSampleTokens?: number;
  /** How prompt pieces become tokens (default: segment by segment, as the official code). */
  tokenization?: Tokenization;
}

export function prepareTask(dataset: Dataset, tokenizer: Tokenizer, info: ModelInfo, options: TaskOptions = {}): Task {
  const verbalizer = new Verbalizer(tokenizer, dataset.labels, {
    bos: options.bos ?? false,
    maxSampleTokens: options.maxSampleTokens ?? 256,
    maxSeqLen: info.maxSeqLen,
    tokenization: options.tokenization ?? DEFAULT_TOKENIZATION,
  });
  return { dataset, verbalizer, labels: dataset.labels };
}

/** The rows of a split; a clear error names the dataset when it lacks that split. */
export function splitRows(task: Task, split: SplitName): Example[] {
  const rows = task.dataset.splits[split];
  if (!rows || rows.length === 0) throw new UserError(`the dataset ${task.dataset.id} has no ${split} split`, { file: task.dataset.source });
  return rows;
}
