/** A loaded dataset made ready for the model, with every note and warning a face should show. */
import { checkLengths, type Dataset } from '../../datasets';
import type { ModelInfo, Tokenizer } from '../../model';
import { prepareTask, type Task, type TaskOptions } from '../task';
import type { RunPorts } from './ports';

/** The task of a dataset; its warnings (unusual rows, samples longer than the per-sample cap) go to the log. */
export function taskOf(dataset: Dataset, tokenizer: Tokenizer, info: ModelInfo, prompt: TaskOptions, ports: Pick<RunPorts, 'log' | 'warn'>): Task {
  const task = prepareTask(dataset, tokenizer, info, prompt);
  ports.log(
    `Dataset ${dataset.id} (${dataset.source}): labels ${dataset.labels.join(' / ')}; ${Object.entries(dataset.counts)
      .map(([s, c]) => `${c?.rows} ${s}`)
      .join(', ')}`,
  );
  for (const note of dataset.notes) ports.log(`  ${note}`);
  const long = checkLengths(dataset, (text) => task.verbalizer.inputLength(text), task.verbalizer.options.maxSampleTokens);
  for (const w of [...dataset.warnings, ...long]) ports.warn(w.message);
  return task;
}
