/** The rows of an artifact a GGUF control vector can carry, and how a row option names one. */
import { UserError } from '../errors';
import { safeStem } from '../experiment/fileNames';
import type { RowOption } from '../experiment/spec/parse';
import type { VectorMethod } from './artifact';
import type { ControlVectorRow } from './gguf';

export interface RowChoice {
  label: string;
  description: string;
  row: ControlVectorRow;
  /** File-name part: `query`, `female`, `female-minus-male`. */
  tag: string;
}

/**
 * The rows an artifact can export: for Iterative Vectors the query row (first, the default), each
 * class row and each ordered class difference; for Task and Function Vectors their single row.
 */
export function rowChoices(method: VectorMethod, labels: readonly string[]): RowChoice[] {
  if (method !== 'iterative-vectors')
    return [{ label: 'The vector', description: 'row 0 (the only row)', row: 0, tag: method === 'task-vector' ? 'tv' : 'fv' }];
  const out: RowChoice[] = [{ label: 'Query row', description: `row ${labels.length}: added at the query's io position`, row: 'query', tag: 'query' }];
  for (let i = 0; i < labels.length; i++) {
    for (let j = 0; j < labels.length; j++) {
      if (i !== j)
        out.push({
          label: `${labels[i]} − ${labels[j]}`,
          description: `class difference: row ${i} minus row ${j}`,
          row: { positive: i, negative: j },
          tag: `${safeStem(labels[i])}-minus-${safeStem(labels[j])}`,
        });
    }
  }
  labels.forEach((l, i) => out.push({ label: `Class "${l}"`, description: `row ${i}`, row: i, tag: safeStem(l) }));
  return out;
}

/** A row option (index, label, 'query', difference by labels or indices) -> the core's row and its file tag. */
export function resolveRow(row: RowOption | undefined, method: VectorMethod, labels: readonly string[]): RowChoice {
  const choices = rowChoices(method, labels);
  if (row === undefined) return choices[0];
  const rows = method === 'iterative-vectors' ? labels.length + 1 : 1;
  const index = (v: number | string, field: string): number => {
    if (typeof v === 'number') {
      if (v >= rows) throw new UserError(`row ${v} does not exist: the artifact has rows 0..${rows - 1}`, { field });
      return v;
    }
    const i = labels.indexOf(v);
    if (i < 0 || method !== 'iterative-vectors') {
      throw new UserError(
        `"${v}" is not a class of this artifact (${method === 'iterative-vectors' ? `classes: ${labels.join(', ')}` : 'it has a single row'})`,
        { field },
      );
    }
    return i;
  };
  if (row === 'query') {
    if (method !== 'iterative-vectors') throw new UserError('only Iterative Vectors have a query row', { field: 'row' });
    return choices[0];
  }
  if (typeof row === 'object') {
    const p = index(row.positive, 'row.positive');
    const n = index(row.negative, 'row.negative');
    if (p === n) throw new UserError('a class difference needs two different rows', { field: 'row' });
    const name = (i: number) => (i < labels.length ? labels[i] : 'query');
    return {
      label: `${name(p)} − ${name(n)}`,
      description: `row ${p} minus row ${n}`,
      row: { positive: p, negative: n },
      tag: `${safeStem(name(p))}-minus-${safeStem(name(n))}`,
    };
  }
  const i = index(row, 'row');
  if (method === 'iterative-vectors' && i === labels.length) return choices[0];
  return method === 'iterative-vectors' ? { label: `Class "${labels[i]}"`, description: `row ${i}`, row: i, tag: safeStem(labels[i]) } : choices[0];
}
