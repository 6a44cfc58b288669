import { Location, UserError } from '../errors';
import { Dataset, DatasetWarning, Example, SplitName, SPLIT_NAMES } from './types';
import { formatWarning } from './warnings';

/** What a bare split needs to be reported well. */
export interface SplitInfo {
  /** Class names (also the number of classes); without it classes are counted from the rows. */
  labels?: readonly string[];
  /** Split name for messages, e.g. "train". */
  name?: string;
  file?: string;
  /** Label field for messages (default "label"). */
  field?: string;
}

/**
 * Throws a UserError when some class has fewer than `k` rows in `split` (an n-way k-shot support
 * set draws k rows per class without replacement). The message names every short class and its count.
 */
export function checkShots(split: readonly Example[], k: number, info: SplitInfo = {}): void {
  if (!(Number.isInteger(k) && k >= 0)) throw new UserError(`the number of shots must be a whole number >= 0, got ${k}`, { field: 'shots' });
  const classes = info.labels?.length ?? split.reduce((m, ex) => Math.max(m, ex.label + 1), 0);
  const counts = new Array<number>(classes).fill(0);
  for (const ex of split) counts[ex.label]++;
  const short = counts.map((c, i) => ({ c, i })).filter(({ c }) => c < k);
  if (short.length === 0) return;
  const name = (i: number) => (info.labels ? `"${info.labels[i]}"` : `class ${i}`);
  const list = short.map(({ c, i }) => `${name(i)} has ${c} row${c === 1 ? '' : 's'}`).join(', ');
  throw new UserError(`${info.name ?? 'the split'} has fewer rows than the ${k} shot${k === 1 ? '' : 's'} per label asked for: ${list}`, {
    file: info.file,
    field: info.field ?? 'label',
  });
}

/**
 * Classification needs two classes: refuses rows that all carry one label (every method would
 * predict it, and the metrics have nothing to compare), naming the file and the label.
 */
export function checkClasses(examples: readonly (readonly Example[])[], labels: readonly string[], location: Location): void {
  const present = new Set<number>();
  for (const group of examples) for (const ex of group) present.add(ex.label);
  if (present.size >= 2) return;
  const [only] = [...present];
  const unused = labels.filter((_, i) => i !== only);
  const named =
    unused.length > 0 ? ` (the label names also give ${unused.map((l) => `"${l}"`).join(', ')}, but no row has ${unused.length > 1 ? 'them' : 'it'})` : '';
  throw new UserError(`every row has the label "${labels[only]}": a classification needs rows of at least two labels${named}`, location);
}

/** `checkShots` on a dataset's split; a missing split is a UserError too. */
export function checkDatasetShots(dataset: Dataset, split: SplitName, k: number): void {
  const rows = dataset.splits[split];
  if (!rows) throw new UserError(`the dataset ${dataset.id} has no ${split} split`, { file: dataset.source });
  checkShots(rows, k, { labels: dataset.labels, name: split, file: dataset.files[split], field: dataset.labelField });
}

/**
 * Rows whose text is longer than `limit` tokens (they will be cut at their end): one warning per
 * split that has any, with the count and the lines (the message lists the first 20).
 */
export function checkLengths(dataset: Dataset, countTokens: (text: string) => number, limit: number): DatasetWarning[] {
  const warnings: DatasetWarning[] = [];
  for (const split of SPLIT_NAMES) {
    const rows = dataset.splits[split];
    if (!rows) continue;
    const lines = rows.filter((ex) => countTokens(ex.text) > limit).map((ex) => ex.line);
    if (lines.length === 0) continue;
    lines.sort((a, b) => a - b);
    const shown = lines.slice(0, 20).join(', ') + (lines.length > 20 ? `, ... (${lines.length - 20} more)` : '');
    const file = dataset.files[split];
    const field = dataset.textField;
    warnings.push({
      code: 'rows-too-long',
      split,
      file,
      field,
      lines,
      message: formatWarning(
        `${split}: ${lines.length} of ${rows.length} row${rows.length === 1 ? '' : 's'} ${lines.length === 1 ? 'is' : 'are'} longer than ${limit} tokens and will be cut at the end; line${lines.length === 1 ? '' : 's'} ${shown}`,
        { file, field },
      ),
    });
  }
  return warnings;
}

/**
 * Scoring reads the logit of each label's first token, so two labels whose first tokens are equal
 * cannot be told apart: throws a UserError naming both labels and the token.
 */
export function checkFirstTokens(labels: readonly string[], firstToken: (word: string) => string | number, location: Location = { field: 'labelWords' }): void {
  const owner = new Map<string, string>();
  for (const label of labels) {
    const token = firstToken(label);
    const key = JSON.stringify(token);
    const prev = owner.get(key);
    if (prev !== undefined) {
      throw new UserError(
        `labels "${prev}" and "${label}" both begin with the token ${key}, so scoring by the first token cannot tell them apart; choose other label words (labelWords) or score by the full label likelihood`,
        location,
      );
    }
    owner.set(key, label);
  }
}
