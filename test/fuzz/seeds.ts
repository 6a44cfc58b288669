/**
 * Valid seed files for the mutations: real rows from ../shared/datasets (the first few KB of a few files,
 * read at start, never copied into the repository; inline rows where that folder is missing) written as
 * JSONL, CSV, TSV and Parquet; vector artifacts written by the project's own writer; sweep result files.
 */
import { existsSync, openSync, readSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { FORMAT_VERSION, CREATOR_NAME, encodeArtifactFiles, type ArtifactMetadata, type VectorArtifact } from '../../src/core/vectors/artifact';
import { sweepHeaderLine } from '../../src/core/experiment/sweepResults';
import type { Seed } from './arbitraries';

const encoder = new TextEncoder();

// ---------------------------------------------------------------------------------------------
// Datasets

export const SHARED_DATASETS = join(__dirname, '..', '..', '..', 'shared', 'datasets');

/** The first `bytes` of a file, cut after its last whole line. */
function head(file: string, bytes: number): string | undefined {
  if (!existsSync(file)) return undefined;
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const n = readSync(fd, buf, 0, bytes, 0);
    const text = buf.subarray(0, n).toString('utf8');
    const cut = text.lastIndexOf('\n');
    return cut > 0 ? text.slice(0, cut + 1) : undefined;
  } finally {
    closeSync(fd);
  }
}

interface Row {
  text: string;
  label: string | number;
}

const INLINE_ROWS: Row[] = [
  { text: 'a gripping, funny film', label: 'positive' },
  { text: 'tedious and far too long', label: 'negative' },
  { text: 'Ça marche, "vraiment" bien', label: 'positive' },
  { text: 'worst sequel,\never', label: 'negative' },
  { text: '🙂 fine', label: 'positive' },
  { text: 'meh', label: 'negative' },
];

/** Rows of a few real datasets (or the inline rows): [name, rows]. */
function realRows(): [string, Row[]][] {
  const picks: [string, string][] = [
    ['sst2', 'train.jsonl'],
    ['trec', 'train.jsonl'],
    ['emotion', 'validation.jsonl'],
    ['ag_news', 'test.jsonl'],
  ];
  const out: [string, Row[]][] = [];
  for (const [name, file] of picks) {
    const text = head(join(SHARED_DATASETS, name, file), 3000);
    if (!text) continue;
    const rows = text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Row)
      .slice(0, 12);
    out.push([name, rows]);
  }
  if (out.length === 0) out.push(['inline', INLINE_ROWS]);
  return out;
}

const csvField = (s: string) => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

export interface DatasetSeeds {
  jsonl: Seed[];
  csv: Seed[];
  tsv: Seed[];
  parquet: Seed[];
  /** Every label word of the seeds (for label-word mappings that hit real labels). */
  labels: string[];
}

let datasetSeeds: DatasetSeeds | undefined;

export function datasetSeedFiles(): DatasetSeeds {
  if (datasetSeeds) return datasetSeeds;
  const sets = realRows();
  const seeds: DatasetSeeds = { jsonl: [], csv: [], tsv: [], parquet: [], labels: [] };
  for (const [name, rows] of sets) {
    seeds.labels.push(...rows.map((r) => String(r.label)));
    seeds.jsonl.push({ name: `${name}.jsonl`, bytes: encoder.encode(rows.map((r) => JSON.stringify(r)).join('\n') + '\n') });
    seeds.csv.push({
      name: `${name}.csv`,
      bytes: encoder.encode(['text,label', ...rows.map((r) => `${csvField(r.text)},${csvField(String(r.label))}`)].join('\n') + '\n'),
    });
    seeds.tsv.push({
      name: `${name}.tsv`,
      bytes: encoder.encode(['text\tlabel', ...rows.map((r) => `${r.text.replace(/[\t\n]/g, ' ')}\t${r.label}`)].join('\n') + '\n'),
    });
    seeds.parquet.push({
      name: `${name}.parquet`,
      bytes: new Uint8Array(
        parquetWriteBuffer({
          columnData: [
            { name: 'text', data: rows.map((r) => r.text), type: 'STRING' },
            { name: 'label', data: rows.map((r) => String(r.label)), type: 'STRING' },
          ],
        }),
      ),
    });
  }
  // Numeric labels with Hugging Face ClassLabel names, other column names, extra columns.
  const [, rows] = sets[0];
  const names = [...new Set(rows.map((r) => String(r.label)))];
  seeds.parquet.push({
    name: 'classlabel.parquet',
    bytes: new Uint8Array(
      parquetWriteBuffer({
        columnData: [
          { name: 'sentence', data: rows.map((r) => r.text), type: 'STRING' },
          { name: 'label', data: rows.map((r) => BigInt(names.indexOf(String(r.label)))), type: 'INT64' },
          { name: 'idx', data: rows.map((_, i) => i), type: 'INT32' },
        ],
        kvMetadata: [
          { key: 'huggingface', value: JSON.stringify({ info: { features: { sentence: { _type: 'Value' }, label: { _type: 'ClassLabel', names } } } }) },
        ],
      }),
    ),
  });
  seeds.jsonl.push({
    name: 'numeric.jsonl',
    bytes: encoder.encode(
      rows.map((r, i) => JSON.stringify({ id: i, sentence: r.text, label: names.indexOf(String(r.label)), extra: [1, { a: null }] })).join('\r\n'),
    ),
  });
  seeds.csv.push({
    name: 'crlf.csv',
    bytes: encoder.encode('\uFEFFsentence,label,idx\r\n' + rows.map((r, i) => `${csvField(r.text)},${names.indexOf(String(r.label))},${i}`).join('\r\n')),
  });
  seeds.labels = [...new Set(seeds.labels)];
  datasetSeeds = seeds;
  return seeds;
}

// ---------------------------------------------------------------------------------------------
// Vector artifacts

export const TINY_MODEL = { name: 'tiny', sha256: 'ab'.repeat(32), nLayers: 3, dModel: 4, vocabSize: 300 };

export function metadata(method: ArtifactMetadata['method'], site: ArtifactMetadata['site'], labels: string[]): ArtifactMetadata {
  return {
    formatVersion: FORMAT_VERSION,
    method,
    site,
    labels,
    model: { ...TINY_MODEL },
    tokenizerSha256: 'cd'.repeat(32),
    dataset: { id: 'sst2', source: '/data/sst2', sha256: 'ef'.repeat(32), counts: { train: 10, validation: 4, test: 6 } },
    options: {
      episodes: 20,
      shots: 2,
      refreshEvery: 5,
      strength: 0.3,
      seed: 42,
      zeroShotPosition: 'separator',
      evalStrength: 0.5,
      injectAt: 'all',
      tokenization: 'segments',
      bos: false,
      maxSampleTokens: 64,
      datasetOptions: { textField: 'text', labelField: 'label', labelWords: { positive: 'good', negative: 'bad' } },
      validation: { shots: 1, episodes: 10, demoOrder: 'shuffled' },
      shotsTried: [1, 2],
      variant: 'official',
      effectEpisodes: 5,
      topHeads: 2,
    },
    metrics: { validation: { accuracy: 0.75 } },
    timings: { ms: 12 },
    creator: { name: CREATOR_NAME, version: '0.1.0' },
    createdAt: '2025-01-02T03:04:05.000Z',
    layerStrengths: [1, 0.5, 2],
    history: [
      { episode: 5, relativeChange: null },
      { episode: 10, relativeChange: 0.25, meanNorm: 1.5 },
    ],
  };
}

function matrix(rows: number, d: number, salt: number, special?: number): Float32Array {
  return Float32Array.from({ length: rows * d }, (_, i) => (special !== undefined && i === 1 ? special : Math.sin(i + salt) * (i % 3 === 0 ? 10 : 0.1)));
}

/** Valid artifacts of each method, written by the project's writer, as [safetensors bytes, sidecar text]. */
export function artifactSeeds(): { artifacts: VectorArtifact[]; files: Seed[]; sidecars: Seed[] } {
  const d = TINY_MODEL.dModel;
  const iv: VectorArtifact = {
    metadata: metadata('iterative-vectors', 'attn_out', ['negative', 'positive']),
    tensors: new Map([0, 1, 2].map((l) => [`blocks.${l}.attn_out`, { shape: [3, d], data: matrix(3, d, l) }])),
  };
  const tv: VectorArtifact = {
    metadata: { ...metadata('task-vector', 'resid_post', ['a', 'b', 'c']), layerStrengths: undefined, history: undefined },
    tensors: new Map([[`blocks.1.resid_post`, { shape: [1, d], data: matrix(1, d, 7) }]]),
  };
  const fv: VectorArtifact = {
    metadata: { ...metadata('function-vector', 'attn_out', ['x', 'y']), layerStrengths: undefined },
    tensors: new Map([[`blocks.2.attn_out`, { shape: [1, d], data: matrix(1, d, 3, -0) }]]),
  };
  const head: VectorArtifact = {
    metadata: { ...metadata('iterative-vectors', 'head_out', ['only']), createdAt: undefined },
    tensors: new Map([[`blocks.0.head_out`, { shape: [2, d], data: matrix(2, d, 1, 1e-45) }]]),
  };
  const artifacts = [iv, tv, fv, head];
  const files: Seed[] = [];
  const sidecars: Seed[] = [];
  artifacts.forEach((a, i) => {
    const f = encodeArtifactFiles(a, { deterministic: i % 2 === 1 });
    files.push({ name: `${a.metadata.method}-${i}.ivec.safetensors`, bytes: f.safetensors });
    sidecars.push({ name: `${a.metadata.method}-${i}.ivec.json`, bytes: encoder.encode(f.sidecar) });
  });
  return { artifacts, files, sidecars };
}

/** A safetensors file with a hand-written header (dtypes this project never writes: F16, BF16, F64). */
export function safetensorsBytes(header: string, data: Uint8Array): Uint8Array {
  const h = encoder.encode(header);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

export function otherDtypeSeeds(): Seed[] {
  const data = new Uint8Array(8 + 8 + 16);
  for (let i = 0; i < data.length; i++) data[i] = (i * 37) & 0xff;
  const header = JSON.stringify({
    __metadata__: { format: 'pt' },
    'blocks.0.attn_out': { dtype: 'F16', shape: [1, 4], data_offsets: [0, 8] },
    'blocks.1.attn_out': { dtype: 'BF16', shape: [1, 4], data_offsets: [8, 16] },
    'blocks.2.attn_out': { dtype: 'F64', shape: [2, 1], data_offsets: [16, 32] },
  });
  return [{ name: 'dtypes.safetensors', bytes: safetensorsBytes(header, data) }];
}

// ---------------------------------------------------------------------------------------------
// Sweep results

export const SWEEP_SETTINGS = {
  model: { name: 'tiny', sha256: 'ab'.repeat(8) },
  dataset: { id: 'sst2', sha256: 'ef'.repeat(8) },
  verbalizer: { tokenization: 'segments', bos: false },
  extract: { episodes: 20, seed: 42 },
  eval: { episodes: 10, shots: 1 },
  injectAt: 'all',
};

export function sweepRow(shots: number, refreshEvery: number, extStrength: number, evalStrength: number, accuracy: number) {
  return { shots, refreshEvery, extStrength, evalStrength, accuracy, macroF1: accuracy - 0.05, predictionShares: [0.5, 0.5], ms: 3 };
}

export function sweepSeeds(): Seed[] {
  const rows = [sweepRow(1, 10, 0.1, 0.3, 0.6), sweepRow(1, 10, 0.1, 0.5, 0.7), sweepRow(2, 10, 0.3, 0.3, 0.55), sweepRow(2, 0, 0, 1, 0.5)];
  const text = sweepHeaderLine(SWEEP_SETTINGS) + rows.map((r) => `${JSON.stringify(r)}\n`).join('');
  return [
    { name: 'sweep.jsonl', bytes: encoder.encode(text) },
    { name: 'header-only.jsonl', bytes: encoder.encode(sweepHeaderLine(SWEEP_SETTINGS)) },
    { name: 'cut.jsonl', bytes: encoder.encode(text.slice(0, -20)) },
  ];
}
