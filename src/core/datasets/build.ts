import { baseName } from '../paths';
import { checkClasses } from './checks';
import { formatWarning } from './warnings';
import { chooseFields, extractExamples } from './fields';
import { applyLabelWords, resolveLabels } from './labels';
import { seededSplit, tailSplit } from './splits';
import { RawTable } from './table';
import {
  Dataset,
  DatasetWarning,
  DEFAULT_SPLIT_SEED,
  DEFAULT_TEST_FRACTION,
  DEFAULT_VALIDATION_FRACTION,
  Example,
  LoadDatasetOptions,
  MAX_TEXT_CHARS,
  SourceFormat,
  SplitCounts,
  SplitName,
  SPLIT_NAMES,
} from './types';

export interface DatasetParts {
  id: string;
  source: string;
  sha256: string;
  format: SourceFormat;
  /**
   * `files`: one table per split, kept in file order (validation from the end of train when
   * missing). `seeded`: a single table split with a seeded shuffle.
   */
  mode: { kind: 'files'; tables: Partial<Record<SplitName, RawTable>> } | { kind: 'seeded'; table: RawTable };
  notes?: string[];
  warnings?: DatasetWarning[];
}

/** Field selection, label resolution, splitting and counting shared by every source. */
export function buildDataset(parts: DatasetParts, options: LoadDatasetOptions = {}): Dataset {
  const named: [SplitName | 'all', RawTable][] = [];
  if (parts.mode.kind === 'files') {
    for (const s of SPLIT_NAMES) {
      const table = parts.mode.tables[s];
      if (table) named.push([s, table]);
    }
  } else {
    named.push(['all', parts.mode.table]);
  }
  const tables = named.map(([, t]) => t);
  const { textField, labelField } = chooseFields(tables, options.textField, options.labelField);
  const raw = tables.map((t) => extractExamples(t, textField, labelField));
  const fileNames = tables.find((t) => t.classLabelNames?.[labelField])?.classLabelNames?.[labelField];
  const names = options.labelNames ?? fileNames;
  const resolved = resolveLabels(raw, labelField, names, options.labelNames ? 'labelNames' : 'ClassLabel names');
  const grouped: Example[][] = raw.map((group, g) => group.map((ex, i) => ({ text: ex.text, label: resolved.indices[g][i], line: ex.line })));

  const notes = [...(parts.notes ?? [])];
  const cut = raw.flat().filter((ex) => ex.cut);
  if (cut.length > 0) notes.push(cutNote(cut));
  const warnings = [...(parts.warnings ?? []), ...resolved.warnings];
  const splits: Partial<Record<SplitName, Example[]>> = {};
  const files: Partial<Record<SplitName, string>> = {};
  const validationFraction = options.validationFraction ?? DEFAULT_VALIDATION_FRACTION;
  if (parts.mode.kind === 'seeded') {
    const seed = options.seed ?? DEFAULT_SPLIT_SEED;
    const testFraction = options.testFraction ?? DEFAULT_TEST_FRACTION;
    const s = seededSplit(grouped[0], seed, testFraction, validationFraction);
    Object.assign(splits, s);
    for (const name of SPLIT_NAMES) files[name] = tables[0].file;
    notes.push(
      `seeded split of ${baseName(tables[0].file)} (seed ${seed}): test = ${pct(testFraction)} of the rows, validation = ${pct(validationFraction)} of the rest, train = the remainder; each split in file order`,
    );
  } else {
    named.forEach(([name, table], g) => {
      splits[name as SplitName] = grouped[g];
      files[name as SplitName] = table.file;
    });
    if (!splits.validation && splits.train && options.validationFromTrain !== false && validationFraction > 0) {
      const { train, validation } = tailSplit(splits.train, validationFraction);
      splits.train = train;
      splits.validation = validation;
      files.validation = files.train;
      notes.push(`validation: the last ${pct(validationFraction)} of ${baseName(files.train!)} (no validation file); train: the first ${train.length} rows`);
    }
    if (!splits.train) {
      warnings.push({
        code: 'no-train-split',
        file: parts.source,
        message: formatWarning(`no train split (found: ${Object.keys(splits).join(', ')}): vectors cannot be extracted from this dataset`, {
          file: parts.source,
        }),
      });
    }
  }

  // After the split options are checked: they are the plainer mistake.
  checkClasses(grouped, resolved.labels, { file: parts.source, field: labelField });
  const sourceLabels = resolved.labels;
  const labels = applyLabelWords(sourceLabels, options.labelWords);
  return {
    id: parts.id,
    source: parts.source,
    sha256: parts.sha256,
    labels,
    sourceLabels,
    splits,
    counts: countSplits(splits, labels.length),
    files,
    format: parts.format,
    textField,
    labelField,
    notes,
    warnings,
  };
}

export function countSplits(splits: Partial<Record<SplitName, readonly Example[]>>, classes: number): Partial<Record<SplitName, SplitCounts>> {
  const counts: Partial<Record<SplitName, SplitCounts>> = {};
  for (const name of SPLIT_NAMES) {
    const rows = splits[name];
    if (!rows) continue;
    const perLabel = new Array<number>(classes).fill(0);
    for (const ex of rows) perLabel[ex.label]++;
    counts[name] = { rows: rows.length, perLabel };
  }
  return counts;
}

/** Which rows' texts were cut to MAX_TEXT_CHARS (the first 20 named by file and line). */
function cutNote(cut: readonly { file: string; line: number }[]): string {
  const shown = cut
    .slice(0, 20)
    .map((ex) => `${baseName(ex.file)}:${ex.line}`)
    .join(', ');
  const more = cut.length > 20 ? `, ... (${cut.length - 20} more)` : '';
  return `${cut.length} row${cut.length === 1 ? '' : 's'} longer than ${MAX_TEXT_CHARS} characters cut to that before tokenizing (a prompt uses only a sample's first tokens): ${shown}${more}`;
}

function pct(f: number): string {
  return `${Math.round(f * 1000) / 10}%`;
}
