/**
 * The dataset layer's public types: a labelled text-classification dataset, split into
 * train / validation / test, with every row traceable to its source line.
 */

export type SplitName = 'train' | 'validation' | 'test';

/** Split names in their canonical order (also the order used for hashing and for class order). */
export const SPLIT_NAMES: readonly SplitName[] = ['train', 'validation', 'test'];

/** One labelled row. */
export interface Example {
  /** The text, trimmed at both ends, at most `MAX_TEXT_CHARS` characters. */
  text: string;
  /** Index into `Dataset.labels`. */
  label: number;
  /**
   * Where the row is in its source, 1-based: the line of a JSONL file, the line where the record
   * starts in a CSV/TSV file, the row number (row index + 1) of a Parquet file, the element number of
   * a built-in data list. `Dataset.files[split]` names the file.
   */
  line: number;
}

export interface SplitCounts {
  rows: number;
  /** Rows per class, aligned with `Dataset.labels`. */
  perLabel: number[];
}

export type SourceFormat = 'jsonl' | 'csv' | 'tsv' | 'parquet' | 'stdlib';

export interface Dataset {
  /** Short name: the folder name, the file name without extension, `stdlib:<name>` or `hf:<owner>/<name>`. */
  id: string;
  /** Absolute path of the folder or file, or the `stdlib:` / `hf:` id. */
  source: string;
  /**
   * sha256 (hex) of the source bytes, independent of options: for one file, of its bytes; for
   * several files (a folder, hub splits, a built-in), of the lines `<split or part>:<sha256 of its bytes>\n`
   * in canonical order. The same data gives the same hash on every machine.
   */
  sha256: string;
  /**
   * The label words a prompt prints, in class order (after the `labelWords` mapping). Class order:
   * the `labelNames` list (or a Parquet file's ClassLabel names) when there is one, else the order
   * of first appearance in the train file (for a single file: in the whole file; without train:
   * validation, then test).
   */
  labels: string[];
  /** The labels as written in the dataset, same order as `labels`. */
  sourceLabels: string[];
  splits: Partial<Record<SplitName, Example[]>>;
  counts: Partial<Record<SplitName, SplitCounts>>;
  /** The file (or built-in data path) that each split's `line` numbers refer to. */
  files: Partial<Record<SplitName, string>>;
  format: SourceFormat;
  textField: string;
  labelField: string;
  /** How the splits were obtained (e.g. "validation: last 20% of train.jsonl (no validation file)"). */
  notes: string[];
  /** Problems that do not stop loading (numeric labels without names, missing train split, ...). */
  warnings: DatasetWarning[];
}

/** A problem that does not stop the run; `message` is already formatted like a UserError's. */
export interface DatasetWarning {
  code: 'numeric-labels-without-names' | 'no-train-split' | 'rows-too-long' | 'duplicates-dropped';
  message: string;
  file?: string;
  field?: string;
  split?: SplitName;
  /** The lines concerned, in file order (all of them, even when the message lists only the first few). */
  lines?: number[];
}

/** Options shared by every source. */
export interface LoadDatasetOptions {
  /** Column holding the text; default: the first present of `DEFAULT_TEXT_FIELDS`. */
  textField?: string;
  /** Column holding the label; default `label`. */
  labelField?: string;
  /** Names for numeric label ids (id i = labelNames[i]); also fixes the class order. */
  labelNames?: readonly string[];
  /** Label words to print instead of the dataset's labels, e.g. `{ female: "girl", male: "boy" }`. */
  labelWords?: Readonly<Record<string, string>>;
  /** Seed of the seeded splits (single file, built-ins). Default `DEFAULT_SPLIT_SEED` (42). */
  seed?: number;
  /** Single file: share of the shuffled rows that becomes test. Default 0.2. */
  testFraction?: number;
  /**
   * Share of the train pool that becomes validation when the source has no validation split:
   * for a folder, the LAST fraction of the train file in file order (as the paper's protocol);
   * for a single file or a built-in, the fraction of the shuffled rows left after test. Default 0.2.
   */
  validationFraction?: number;
  /** Folder without validation file: take validation from the end of train (default true). */
  validationFromTrain?: boolean;
  /** CSV/TSV: field delimiter (default `,` for .csv, tab for .tsv). */
  delimiter?: string;
  /** `stdlib:spam`: the most characters of subject + body kept per mail (default 400). */
  maxTextChars?: number;
}

/**
 * The most characters of a row's text kept: the rest is cut before anything tokenizes it (the notes
 * say which rows). A prompt uses at most the first `maxSampleTokens` tokens of a sample (256 unless a
 * vector file says otherwise: prepareTask in src/core/experiment/task.ts), and no tokenizer averages
 * 256 characters a token, so the cut leaves every prompt as it was; it bounds what tokenizing costs
 * (one 10 MB row took 112 s and 3.6 GB, for the 256 tokens used).
 */
export const MAX_TEXT_CHARS = 64 * 1024;

/** Candidate text columns, in order of preference. */
export const DEFAULT_TEXT_FIELDS: readonly string[] = ['text', 'sentence', 'question', 'content', 'review', 'tweet', 'document', 'input'];
export const DEFAULT_LABEL_FIELD = 'label';
/** Seed of seeded splits (the paper's default seed). */
export const DEFAULT_SPLIT_SEED = 42;
export const DEFAULT_TEST_FRACTION = 0.2;
export const DEFAULT_VALIDATION_FRACTION = 0.2;
