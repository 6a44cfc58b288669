import { UserError } from '../errors';
import { RawExample } from './fields';
import { formatWarning } from './warnings';
import { DatasetWarning } from './types';

export interface ResolvedLabels {
  /** Class names in class order. */
  labels: string[];
  /** Class index of each example, same shape as the input. */
  indices: number[][];
  warnings: DatasetWarning[];
}

const INTEGER = /^\d+$/;

/**
 * Turns raw labels into class indices.
 *
 * With `names` (the user's labelNames, or a Parquet file's ClassLabel names): class i is names[i];
 * a numeric label (or, in CSV/TSV, a string of digits that is not itself a name) is an id that must
 * be in 0..names.length-1; a string label must be one of the names.
 *
 * Without names: the label word is the label as written (numbers as their digits), and the class
 * order is the order of first appearance over `groups` in the order given (train first).
 */
export function resolveLabels(
  groups: readonly (readonly RawExample[])[],
  labelField: string,
  names?: readonly string[],
  namesField = 'labelNames',
): ResolvedLabels {
  if (names) return resolveWithNames(groups, labelField, checkNames(names, namesField));
  const labels: string[] = [];
  const index = new Map<string, number>();
  const indices = groups.map((group) =>
    group.map((ex) => {
      const word = String(ex.label);
      let i = index.get(word);
      if (i === undefined) {
        i = labels.length;
        index.set(word, i);
        labels.push(word);
      }
      return i;
    }),
  );
  const warnings: DatasetWarning[] = [];
  if (labels.length > 0 && labels.every((l) => INTEGER.test(l))) {
    const file = groups.find((g) => g.length > 0)?.[0].file;
    warnings.push({
      code: 'numeric-labels-without-names',
      file,
      field: labelField,
      message: formatWarning(
        `the labels are numbers (${labels.join(', ')}) and no labelNames were given: prompts will print these numbers as label words; give labelNames to print words`,
        { file, field: labelField },
      ),
    });
  }
  return { labels, indices, warnings };
}

function resolveWithNames(groups: readonly (readonly RawExample[])[], labelField: string, names: readonly string[]): ResolvedLabels {
  const byName = new Map(names.map((n, i) => [n, i]));
  const indices = groups.map((group) =>
    group.map((ex) => {
      const where = { file: ex.file, line: ex.line, field: labelField };
      if (typeof ex.label === 'string') {
        const i = byName.get(ex.label);
        if (i !== undefined) return i;
        if (!INTEGER.test(ex.label)) {
          throw new UserError(`label "${ex.label}" is not one of the label names (${names.join(', ')})`, where);
        }
      }
      const id = Number(ex.label);
      if (!(id >= 0 && id < names.length)) {
        throw new UserError(`label id ${ex.label} is out of range: there are ${names.length} label names (ids 0..${names.length - 1})`, where);
      }
      return id;
    }),
  );
  return { labels: [...names], indices, warnings: [] };
}

function checkNames(names: readonly string[], field: string): string[] {
  if (names.length === 0) throw new UserError('the list of label names is empty', { field });
  const out = names.map((n, i) => {
    if (typeof n !== 'string' || n.trim() === '') throw new UserError(`label name ${i} is empty or not a string`, { field: `${field}[${i}]` });
    return n.trim();
  });
  const seen = new Set<string>();
  for (const n of out) {
    if (seen.has(n)) throw new UserError(`label name "${n}" appears twice`, { field });
    seen.add(n);
  }
  return out;
}

/**
 * Applies the user's mapping from dataset labels to label words (e.g. `{female: "girl", male: "boy"}`);
 * labels not in the mapping keep their own word. A key that is not a dataset label, an empty word,
 * or two labels mapped to the same word is a UserError naming the `labelWords` field.
 */
export function applyLabelWords(labels: readonly string[], mapping: Readonly<Record<string, string>> | undefined, file?: string): string[] {
  if (!mapping) return [...labels];
  const known = new Set(labels);
  for (const [from, to] of Object.entries(mapping)) {
    const field = `labelWords.${from}`;
    if (!known.has(from)) throw new UserError(`unknown label "${from}" in the label mapping; the dataset's labels are: ${labels.join(', ')}`, { file, field });
    if (typeof to !== 'string' || to.trim() === '') throw new UserError(`the label word for "${from}" is empty`, { file, field });
  }
  const words = labels.map((l) => (Object.prototype.hasOwnProperty.call(mapping, l) ? mapping[l].trim() : l));
  const owner = new Map<string, string>();
  words.forEach((w, i) => {
    const prev = owner.get(w);
    if (prev !== undefined) {
      throw new UserError(`labels "${prev}" and "${labels[i]}" would both print as "${w}"; give them different label words`, {
        file,
        field: `labelWords.${labels[i]}`,
      });
    }
    owner.set(w, labels[i]);
  });
  return words;
}
