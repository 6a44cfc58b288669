/** A loaded dataset made ready for the model, with every note and warning a face should show. */
import { checkLengths, type Dataset } from '../../datasets';
import type { ModelInfo, Tokenizer } from '../../model';
import type { VectorArtifact } from '../../vectors/artifact';
import { promptOptionsOf } from '../artifacts';
import type { DatasetRequest } from '../spec/requests';
import { prepareTask, type Task } from '../task';
import type { RunPorts } from './ports';

/**
 * The task of a dataset, its prompts written as the request says (a vector file's per-sample cap
 * kept); its warnings (unusual rows, samples longer than that cap) go to the log.
 */
export function taskOf(
  dataset: Dataset,
  tokenizer: Tokenizer,
  info: ModelInfo,
  req: Pick<DatasetRequest, 'bos' | 'tokenization'>,
  ports: Pick<RunPorts, 'log' | 'warn'>,
  artifact?: VectorArtifact,
): Task {
  const maxSampleTokens = artifact && promptOptionsOf(artifact.metadata.options).maxSampleTokens;
  const task = prepareTask(dataset, tokenizer, info, { bos: req.bos, tokenization: req.tokenization, maxSampleTokens });
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
