import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { UserError } from '../../core/errors';
import { writeAtomic } from '../../node/files';
import { INSTRUMENT_VERSION, instrumentDecoder, type InstrumentManifest } from './instrument';
import { findDecoderSites, type MergedSites } from './mergedDecoder';
import {
  checkConfigAgainstSites,
  checkExternalFiles,
  checkLayerCount,
  CONFIG_JSON_LIMIT,
  locateModel,
  ONNX_FILE_LIMIT,
  readChecked,
  readModelFolder,
  summarize,
  type ExternalRef,
  type ModelSummary,
} from './modelFolder';
import type { LayerSites } from './sites';

export interface InstrumentedModel {
  /** The instrumented graph in the cache. */
  graphFile: string;
  manifest: InstrumentManifest;
  summary: ModelSummary;
  sites: LayerSites[];
  /** A merged decoder's sites in both branches (`sites` are those of the branch without past). */
  merged?: MergedSites;
  config?: Record<string, unknown>;
  genaiConfig?: Record<string, unknown>;
}

interface CacheEntry extends Omit<InstrumentedModel, 'graphFile'> {
  source: string;
  /** The source graph's external tensors: checked against their files on every load. */
  externalData: ExternalRef[];
}

export interface InstrumentRequest {
  path: string;
  /** Which .onnx file of the folder. */
  file?: string;
  /** A site pattern with {l}, overriding the site table. */
  site?: string;
  cacheDir: string;
  log: (message: string) => void;
}

/**
 * The instrumented graph of an exported decoder, from the cache when this graph file and the
 * folder's configs (by content hash), instrumentation version and site pattern were seen before;
 * built and cached otherwise.
 * External data is not copied: the session loads it from the model's folder.
 */
export function ensureInstrumented(req: InstrumentRequest): InstrumentedModel {
  const probe = locateModel(req.path, req.file);
  const graphBytes = readChecked(probe.onnxFile, { what: 'the ONNX graph', ...ONNX_FILE_LIMIT });
  const hash = createHash('sha256')
    .update(graphBytes)
    .update(`\0v${INSTRUMENT_VERSION}\0${req.site ?? ''}`);
  // The configs give the sizes, special ids and input names: an edited config is a different model.
  for (const name of ['config.json', 'genai_config.json']) {
    const text = readChecked(join(probe.folder, name), { ...CONFIG_JSON_LIMIT, optional: true });
    hash.update(`\0${name}\0`).update(text ?? '');
  }
  const key = hash.digest('hex').slice(0, 24);
  const dir = join(req.cacheDir, 'hub-graphs', key);
  const graphFile = join(dir, 'model.onnx');
  const entryFile = join(dir, 'entry.json');
  const entry = existsSync(graphFile) ? readEntry(entryFile) : undefined;
  if (entry) {
    // The weights may have changed since (a truncated download, a deleted file): their files are checked on every load.
    checkExternalFiles(entry.externalData, probe.onnxFile);
    // The folder may have moved since: where the weights are is always the current one.
    return { ...entry, summary: { ...entry.summary, folder: probe.folder, onnxFile: probe.onnxFile }, graphFile };
  }
  req.log(`Instrumenting ${probe.onnxFile} (cached in ${dir}).`);
  const folder = readModelFolder(req.path, req.file, graphBytes);
  checkExternalFiles(folder.externalData, folder.onnxFile);
  const summary = summarize(folder);
  checkLayerCount(folder, summary);
  const found = findDecoderSites(folder.graph, summary.architecture, { layers: summary.layers, override: req.site });
  checkConfigAgainstSites(folder, summary, found.sites, req.site);
  if (summary.hiddenSize === undefined) {
    throw new UserError(
      'the model width is unknown: neither config.json (hidden_size, n_embd, d_model) nor genai_config.json (hidden_size, or heads x head_size) gives it',
      { file: summary.onnxFile },
    );
  }
  const logits = logitsName(folder.genaiConfig);
  const { bytes, manifest } = instrumentDecoder(folder.model, found, { width: summary.hiddenSize, dtype: summary.dtype, logits });
  const made: CacheEntry = {
    source: probe.onnxFile,
    manifest,
    summary,
    ...found,
    config: folder.config,
    genaiConfig: folder.genaiConfig,
    externalData: folder.externalData,
  };
  writeCache(dir, 'the instrumented graph', () => {
    writeAtomic(graphFile, bytes);
    writeAtomic(entryFile, JSON.stringify(made));
  });
  return { ...made, graphFile };
}

/** A cache entry as written by ensureInstrumented; undefined when absent, unreadable or from older code (then rebuilt). */
function readEntry(entryFile: string): CacheEntry | undefined {
  try {
    const entry = JSON.parse(readFileSync(entryFile, 'utf8')) as CacheEntry;
    return Array.isArray(entry.externalData) && entry.summary && entry.manifest ? entry : undefined;
  } catch {
    return undefined;
  }
}

/** Creates `dir` and runs `write` in it; a failure (read-only, not a folder, disk full) is a UserError naming the folder. */
function writeCache(dir: string, what: string, write: () => void): void {
  try {
    mkdirSync(dir, { recursive: true });
    write();
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new UserError(
      `cannot write ${what} into the cache folder ${dir}: ${err.code ? `${err.code}, ` : ''}${err.message.replace(/^\w+: /, '')}. Choose a writable cache folder (--cache-dir, or IV_CACHE_DIR)`,
      { file: dir },
    );
  }
}

function logitsName(genai: Record<string, unknown> | undefined): string {
  const outputs = ((genai?.model as Record<string, unknown> | undefined)?.decoder as Record<string, unknown> | undefined)?.outputs as
    Record<string, unknown> | undefined;
  return typeof outputs?.logits === 'string' ? outputs.logits : 'logits';
}

/**
 * sha256 over the graph file and its external data files: the model's identity in artifacts.
 * Hashing gigabytes takes seconds, so the result is remembered per file path, size and mtime.
 */
export async function modelSha256(files: string[], cacheDir: string): Promise<string> {
  const stamp = files.map((f) => {
    const s = statSync(f);
    return `${f}:${s.size}:${s.mtimeMs}`;
  });
  const memo = join(cacheDir, 'hub-hashes', `${createHash('sha256').update(stamp.join('\n')).digest('hex').slice(0, 24)}.txt`);
  if (existsSync(memo)) return readFileSync(memo, 'utf8').trim();
  const hash = createHash('sha256');
  for (const f of files) {
    for await (const chunk of createReadStream(f)) hash.update(chunk as Buffer);
  }
  const digest = hash.digest('hex');
  writeCache(dirname(memo), "the model's hash", () => writeAtomic(memo, digest));
  return digest;
}
