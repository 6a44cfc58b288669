/**
 * Hugging Face hub model ids (`owner/name`, `owner/name@revision`) → a local model folder: the files of
 * a Transformers.js export, downloaded into a cache directory we name, with a dtype choice and an
 * offline mode that reads the cache only.
 *
 * Design:
 * - The hub protocol is @huggingface/hub's (pinned exactly in package.json): `fileDownloadInfo` asks
 *   for one file (`Range: bytes=0-0` on `<hub>/<id>/resolve/<revision>/<file>`: does it exist, its size,
 *   the URL to read), `downloadFile` turns that answer into a Blob whose `stream()` is one plain GET,
 *   and its `HubApiError` carries the status and URL of a refusal. Xet reconstruction is switched off
 *   (`xet: false`): the resolve URL serves the same bytes in one streamed response, as it does for
 *   Transformers.js.
 * - Writing is ours: each file streams into a temporary file beside its target and is renamed once
 *   all of its bytes (the size the hub announced) are on disk, so the cache never holds a half file
 *   and no file is held in memory. Nothing is written outside `cacheDir`.
 * - What Transformers.js decides (which files a dtype needs, the default dtype, the external data
 *   chunks, the model-id rule, the cache layout) is mirrored in ./transformersJsLayout.ts, so a folder
 *   we fill is one Transformers.js would fill and read. Decoder-only models: one session file,
 *   `onnx/model{suffix}.onnx`, and `transformers.js_config.use_external_data_format` (with
 *   `device_config.cpu` laid over it, as Transformers.js' session.js does) gives its data chunks.
 * - The cache is Transformers.js' FileCache layout under `cacheDir`: `<cacheDir>/<owner>/<name>/<file>`
 *   for revision `main`, `<cacheDir>/<owner>/<name>/<revision>/<file>` for any other revision. Both
 *   hold `config.json` + `onnx/<file>`, so that folder is what we return. A cached file is used as is
 *   (`main` is not re-checked for updates).
 * - No module state: each call has its own abort controller, which the `fetch` given to
 *   @huggingface/hub attaches to every request.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { downloadFile, fileDownloadInfo, HUB_URL, HubApiError, InvalidApiResponseFormatError, type FileDownloadInfoOutput } from '@huggingface/hub';
import { CancelledError, UserError, throwIfCancelled, type Cancellation } from '../../core/errors';
import { HUB_DTYPES, type HubDType } from '../../core/modelSettings';
import {
  cacheKey,
  defaultDtype,
  DTYPE_SUFFIX,
  externalDataChunkNames,
  externalDataChunks,
  isValidHfModelId,
  MAX_EXTERNAL_DATA_CHUNKS,
} from './transformersJsLayout';

export interface HubProgress {
  /** Repo-relative file, e.g. `onnx/model.onnx_data`. */
  file: string;
  loaded: number;
  /** Bytes expected (the size the hub announced). */
  total: number;
}

export interface ResolveHubOptions {
  /** ONNX variant; default: the `transformers.js_config` dtype of config.json, else fp32, then fp16 if there is no fp32 file. */
  dtype?: HubDType;
  /** Branch, tag or commit; default: the `@revision` of the id, else `main`. */
  revision?: string;
  /** Cache root (Transformers.js FileCache layout). Nothing is written outside it. */
  cacheDir: string;
  /** Use the cache only: no network; errors list the files that are missing. */
  offline?: boolean;
  log?: (message: string) => void;
  /** Download progress, at most ~10 calls a second per file plus the last one. */
  progress?: (p: HubProgress) => void;
  /** Polled during downloads (a pending request is aborted); a cancelled call throws CancelledError. */
  cancel?: Cancellation;
  /** Hub endpoint; default `$HF_ENDPOINT`, else https://huggingface.co. */
  remoteHost?: string;
}

export interface HubModel {
  /** Folder holding config.json, tokenizer files and onnx/<file> (a cache folder, see the header). */
  folder: string;
  /** The decoder graph, `<folder>/onnx/model{suffix}.onnx`. */
  onnxFile: string;
  /** Every file of the model that is in the folder (absolute paths): configs, tokenizer, graph, external data. */
  files: string[];
  /** The dtype whose file was taken. */
  dtype: string;
  revision: string;
}

const REQUIRED_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json'];
const OPTIONAL_FILES = ['generation_config.json', 'special_tokens_map.json'];
/** The single session file of a decoder-only model (Transformers.js MODEL_SESSION_CONFIG, DecoderOnly). */
const SESSION_FILE = 'model';
const SUBFOLDER = 'onnx';
/** Tried in this order when no dtype is given and the default one has no file. */
const FALLBACK_DTYPES = ['fp32', 'fp16'];
/** Statuses that mean "not there": huggingface.co answers 401 for a repo that does not exist or is private. */
const MISSING_STATUSES = [401, 403, 404];
/** Paths that look like owner/name but are files. */
const FILE_EXT = /\.(onnx|onnx_data|data|bin|gguf|safetensors|json|jsonl|csv|tsv|parquet|txt|pt|pth)$/i;
const HUB_ID = /^([A-Za-z0-9][\w.-]*)\/([\w.-]+)(?:@(.+))?$/;

function validRevision(rev: string): boolean {
  return /^[\w.\-/]+$/.test(rev) && !rev.includes('..') && !rev.includes('//') && !rev.startsWith('/') && !rev.endsWith('/');
}

/** Where hub downloads go inside the engine's cache folder. */
export function hubCacheDir(cacheDir: string): string {
  return join(cacheDir, 'hub');
}

/** Splits `owner/name@revision`; undefined when `spec` is not of that shape (Transformers.js' model-id rule included). */
export function parseHubId(spec: string): { id: string; revision?: string } | undefined {
  const m = HUB_ID.exec(spec);
  if (!m) return undefined;
  const id = `${m[1]}/${m[2]}`;
  if (!isValidHfModelId(id) || FILE_EXT.test(m[2])) return undefined;
  if (m[3] !== undefined && !validRevision(m[3])) return undefined;
  return m[3] === undefined ? { id } : { id, revision: m[3] };
}

/**
 * True for `owner/name` or `owner/name@revision` that is not an existing local path. Paths (`./x`, `/x`,
 * `C:\x`, `dir/model.onnx`), bare names (`default`, `x.onnx`) and existing relative folders are not.
 */
export function isHubId(spec: string): boolean {
  return parseHubId(spec) !== undefined && !existsSync(spec);
}

/**
 * Makes a hub model available locally: downloads (or, offline, finds in the cache) config.json,
 * tokenizer.json, tokenizer_config.json, generation_config.json and special_tokens_map.json when the
 * repo has them, and the ONNX graph of the dtype with its external data files. Files already in the
 * cache are not downloaded again (and `main` is never re-checked for updates).
 */
export async function resolveHubModel(spec: string, options: ResolveHubOptions): Promise<HubModel> {
  const parsed = parseHubId(spec);
  if (!parsed) {
    throw new UserError(`"${spec}" is not a Hugging Face model id: expected owner/name or owner/name@revision (letters, digits, "-", "_", ".")`);
  }
  if (options.revision !== undefined && parsed.revision !== undefined && options.revision !== parsed.revision) {
    throw new UserError(`two revisions for ${parsed.id}: "@${parsed.revision}" in the id and "${options.revision}" in the options`);
  }
  const revision = options.revision ?? parsed.revision ?? 'main';
  if (!validRevision(revision)) throw new UserError(`invalid revision "${revision}" for ${parsed.id}`);
  if (options.dtype !== undefined && !(HUB_DTYPES as readonly string[]).includes(options.dtype)) {
    throw new UserError(`unknown dtype "${options.dtype}": expected one of ${HUB_DTYPES.join(', ')}`);
  }
  if (!options.cacheDir) throw new UserError('no cache folder given for hub models');
  throwIfCancelled(options.cancel);
  const ctx: Ctx = { id: parsed.id, revision, cacheDir: resolvePath(options.cacheDir), options, log: options.log ?? (() => undefined) };
  return options.offline ? resolveOffline(ctx) : resolveOnline(ctx);
}

// ---------------------------------------------------------------------------------------------------

interface Ctx {
  id: string;
  revision: string;
  cacheDir: string;
  options: ResolveHubOptions;
  log: (message: string) => void;
}

/** Where the cache keeps (or would keep) a repo file. */
function cachePath(ctx: Ctx, file: string): string {
  return join(ctx.cacheDir, ...cacheKey(ctx.id, ctx.revision, file).split('/'));
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

const isCached = (ctx: Ctx, file: string) => isFile(cachePath(ctx, file));

/** The folder of the model in the cache (the parent of config.json). */
const modelFolder = (ctx: Ctx) => dirname(cachePath(ctx, 'config.json'));

interface Plan {
  dtype: string;
  onnx: string;
  data: string[];
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined);

/** `transformers.js_config` as session.js sees it on the CPU: `device_config.cpu` laid over the rest. */
function tjsConfig(config: Json): Json {
  const custom = obj(config['transformers.js_config']) ?? {};
  const cpu = obj(obj(custom.device_config)?.cpu);
  return cpu ? { ...custom, ...cpu } : custom;
}

/** The decoder file of a dtype in a Transformers.js folder's onnx/ (fp32 model.onnx, q4 model_q4.onnx, ...). */
export function onnxFileOf(dtype: string): string {
  return `${SESSION_FILE}${Object.hasOwn(DTYPE_SUFFIX, dtype) ? DTYPE_SUFFIX[dtype] : ''}.onnx`;
}

function planFor(config: Json, dtype: string): Plan {
  const fullName = onnxFileOf(dtype);
  const chunks = externalDataChunks(tjsConfig(config).use_external_data_format, fullName, SESSION_FILE);
  if (!Number.isInteger(chunks) || chunks < 0 || chunks > MAX_EXTERNAL_DATA_CHUNKS) {
    throw new UserError(
      `config.json: transformers.js_config.use_external_data_format gives ${chunks} external data files for ${fullName} (at most ${MAX_EXTERNAL_DATA_CHUNKS})`,
    );
  }
  return {
    dtype,
    onnx: `${SUBFOLDER}/${fullName}`,
    data: externalDataChunkNames(fullName, chunks).map((n) => `${SUBFOLDER}/${n}`),
  };
}

/** The dtypes to try, in order: the requested one only, or Transformers.js' default then fp32 and fp16. */
function dtypeCandidates(config: Json, requested: string | undefined): string[] {
  if (requested) return [requested];
  return [...new Set([defaultDtype(tjsConfig(config).dtype, SESSION_FILE), ...FALLBACK_DTYPES])];
}

function readConfig(ctx: Ctx, path: string): Json {
  try {
    const config = obj(JSON.parse(readFileSync(path, 'utf8')));
    if (!config) throw new Error('not a JSON object');
    return config;
  } catch (e) {
    throw new UserError(`config.json of ${ctx.id} is not valid JSON: ${(e as Error).message}`, { file: path });
  }
}

function result(ctx: Ctx, plan: Plan): HubModel {
  const names = [...REQUIRED_FILES, ...OPTIONAL_FILES.filter((f) => isCached(ctx, f)), plan.onnx, ...plan.data];
  return {
    folder: modelFolder(ctx),
    onnxFile: cachePath(ctx, plan.onnx),
    files: names.map((f) => cachePath(ctx, f)),
    dtype: plan.dtype,
    revision: ctx.revision,
  };
}

const label = (ctx: Ctx) => (ctx.revision === 'main' ? ctx.id : `${ctx.id}@${ctx.revision}`);

// ---------------------------------------------------------------------------------------------------
// Offline: the cache only.

function resolveOffline(ctx: Ctx): HubModel {
  const missing = REQUIRED_FILES.filter((f) => !isCached(ctx, f));
  let plan: Plan | undefined;
  const notes: string[] = [];
  if (isCached(ctx, 'config.json')) {
    const config = readConfig(ctx, cachePath(ctx, 'config.json'));
    const plans = dtypeCandidates(config, ctx.options.dtype).map((d) => planFor(config, d));
    plan = plans.find((p) => [p.onnx, ...p.data].every((f) => isCached(ctx, f)));
    if (!plan) {
      const first = plans[0];
      missing.push(...[first.onnx, ...first.data].filter((f) => !isCached(ctx, f)));
      if (plans.length > 1)
        notes.push(
          `also looked for ${plans
            .slice(1)
            .map((p) => `${p.onnx} (${p.dtype})`)
            .join(', ')}`,
        );
      const cachedDtypes = HUB_DTYPES.filter((d) => {
        const p = planFor(config, d);
        return [p.onnx, ...p.data].every((f) => isCached(ctx, f));
      });
      if (cachedDtypes.length) notes.push(`cached variants: ${cachedDtypes.join(', ')} (ask for one as the dtype)`);
    }
  } else {
    const dtype = ctx.options.dtype ?? 'fp32';
    missing.push(`${planFor({}, dtype).onnx} (${dtype}; plus any external data files that config.json declares)`);
  }
  if (missing.length || !plan) {
    const folder = modelFolder(ctx);
    throw new UserError(
      [
        `offline: hub model ${label(ctx)} is not fully in the cache ${ctx.cacheDir}.`,
        `Missing from ${folder}:`,
        ...missing.map((f) => `  ${f}`),
        ...notes.map((n) => `(${n})`),
        `To get them, run once with network access (not offline), or copy a Transformers.js export of the model ` +
          `(config.json, tokenizer.json, tokenizer_config.json, onnx/...) into ${folder}.`,
      ].join('\n'),
    );
  }
  ctx.log(`hub: ${label(ctx)} from the cache (offline), dtype ${plan.dtype}: ${modelFolder(ctx)}`);
  return result(ctx, plan);
}

// ---------------------------------------------------------------------------------------------------
// Online: @huggingface/hub's requests, our writes.

/** What one online call shares across its requests. */
interface Online extends Ctx {
  hubUrl: string;
  accessToken: string | undefined;
  /** Global fetch with this call's abort signal. */
  fetch: typeof fetch;
}

async function resolveOnline(base: Ctx): Promise<HubModel> {
  const hubUrl = (base.options.remoteHost || process.env.HF_ENDPOINT || HUB_URL).replace(/\/+$/, '');
  const abort = new AbortController();
  const ctx: Online = {
    ...base,
    hubUrl,
    accessToken: accessToken(hubUrl),
    fetch: (input, init) => globalThis.fetch(input, { ...init, signal: abort.signal }),
  };
  const cancel = ctx.options.cancel;
  const poll = cancel
    ? setInterval(() => {
        if (cancel.cancelled) abort.abort();
      }, 100)
    : undefined;
  poll?.unref();
  try {
    return await downloadModel(ctx);
  } finally {
    if (poll) clearInterval(poll);
  }
}

/** `HF_TOKEN` (else `HF_ACCESS_TOKEN`), sent to huggingface.co and hf.co only, as Transformers.js does. */
function accessToken(hubUrl: string): string | undefined {
  let host: string;
  try {
    host = new URL(hubUrl).hostname;
  } catch {
    throw new UserError(`hub endpoint "${hubUrl}" is not a URL (HF_ENDPOINT)`);
  }
  const token = process.env.HF_TOKEN || process.env.HF_ACCESS_TOKEN;
  if (!token || (host !== 'huggingface.co' && host !== 'hf.co')) return undefined;
  if (!token.startsWith('hf_')) throw new UserError('HF_TOKEN is not a Hugging Face access token (they start with "hf_")');
  return token;
}

async function downloadModel(ctx: Online): Promise<HubModel> {
  const configPath = await fetchFile(ctx, 'config.json', true);
  const config = readConfig(ctx, configPath!);
  for (const f of REQUIRED_FILES.slice(1)) await fetchFile(ctx, f, true);
  for (const f of OPTIONAL_FILES) await fetchFile(ctx, f, false);

  const tried: string[] = [];
  for (const dtype of dtypeCandidates(config, ctx.options.dtype)) {
    const plan = planFor(config, dtype);
    try {
      await fetchFile(ctx, plan.onnx, true);
    } catch (e) {
      if (e instanceof MissingOnHub) {
        tried.push(`${plan.onnx} (${dtype}): ${e.status} at ${e.url}`);
        continue;
      }
      throw e;
    }
    for (const f of plan.data) {
      try {
        await fetchFile(ctx, f, true);
      } catch (e) {
        if (!(e instanceof MissingOnHub)) throw e;
        throw new UserError(
          `hub model ${label(ctx)}: config.json (transformers.js_config.use_external_data_format) says ${plan.onnx} has ` +
            `${plan.data.length} external data file(s) (${plan.data.join(', ')}), but ${f} is not on the hub (${e.status} at ${e.url})`,
        );
      }
    }
    const res = result(ctx, plan);
    ctx.log(`hub: ${label(ctx)}, dtype ${plan.dtype}: ${res.folder}`);
    return res;
  }
  throw await noVariantError(ctx, config, tried);
}

/** A repo file that the hub says is not there (401/403/404). */
class MissingOnHub extends Error {
  constructor(
    readonly file: string,
    readonly status: number,
    readonly url: string,
  ) {
    super(`${file}: ${status} at ${url}`);
  }
}

async function noVariantError(ctx: Online, config: Json, tried: string[]): Promise<UserError> {
  const available: string[] = [];
  for (const dtype of HUB_DTYPES) {
    throwIfCancelled(ctx.options.cancel);
    const plan = planFor(config, dtype);
    try {
      if (!((await probe(ctx, plan.onnx)) instanceof MissingOnHub)) available.push(`${dtype} (${plan.onnx})`);
    } catch (e) {
      // A failed probe only shortens the list.
      if (e instanceof CancelledError) throw e;
    }
  }
  const requested = ctx.options.dtype ? `dtype ${ctx.options.dtype} is not available` : 'no ONNX file for the default dtypes';
  return new UserError(
    [
      `hub model ${label(ctx)}: ${requested}. Tried:`,
      ...tried.map((t) => `  ${t}`),
      available.length
        ? `Available on the hub: ${available.join(', ')}. Ask for one of these as the dtype.`
        : `No ${SUBFOLDER}/${SESSION_FILE}*.onnx is on the hub at all: this does not look like a Transformers.js export (an onnx/ folder with model.onnx, model_fp16.onnx, ...).`,
    ].join('\n'),
  );
}

const hubParams = (ctx: Online) => ({
  repo: { type: 'model' as const, name: ctx.id },
  revision: ctx.revision,
  hubUrl: ctx.hubUrl,
  accessToken: ctx.accessToken,
  fetch: ctx.fetch,
});

/** The URL of a repo file, for messages (@huggingface/hub builds the same one). */
const fileUrl = (ctx: Online, file: string) => `${ctx.hubUrl}/${ctx.id}/resolve/${encodeURIComponent(ctx.revision)}/${file}`;

/** The hub's answer for one file: how to download it, or the status and URL that say it is not there. */
async function probe(ctx: Online, file: string): Promise<FileDownloadInfoOutput | MissingOnHub> {
  const url = fileUrl(ctx, file);
  try {
    return (await fileDownloadInfo({ ...hubParams(ctx), path: file })) ?? new MissingOnHub(file, 404, url);
  } catch (e) {
    if (e instanceof HubApiError && MISSING_STATUSES.includes(e.statusCode)) return new MissingOnHub(file, e.statusCode, e.url || url);
    throw translateError(ctx, file, url, e);
  }
}

/** One repo file into the cache; its local path, or undefined for a missing optional file. */
async function fetchFile(ctx: Online, file: string, fatal: boolean): Promise<string | undefined> {
  throwIfCancelled(ctx.options.cancel);
  const path = cachePath(ctx, file);
  if (isFile(path)) {
    ctx.log(`hub: ${file} (cached)`);
    return path;
  }
  const answer = await probe(ctx, file);
  if (answer instanceof MissingOnHub) {
    if (fatal) throw notOnHub(ctx, answer);
    ctx.log(`hub: ${file} is not in the repo (optional)`);
    return undefined;
  }
  const url = fileUrl(ctx, file);
  ctx.log(`hub: downloading ${file} from ${url}`);
  try {
    await download(ctx, file, answer, path);
  } catch (e) {
    throw translateError(ctx, file, url, e);
  }
  return path;
}

/** config.json and the tokenizer files are needed; a missing graph or data file is the caller's to explain. */
function notOnHub(ctx: Online, m: MissingOnHub): Error {
  if (m.file === 'config.json') {
    return new UserError(
      `hub model ${label(ctx)} not found: ${m.url} answered ${m.status}. Check the id (owner/name, as on huggingface.co)` +
        `${ctx.revision === 'main' ? '' : ` and the revision "${ctx.revision}"`}; a private or gated model needs HF_TOKEN in the environment.`,
    );
  }
  if (REQUIRED_FILES.includes(m.file)) {
    return new UserError(
      `hub model ${label(ctx)} has no ${m.file} (${m.status} at ${m.url}); a Transformers.js export with ${REQUIRED_FILES.join(', ')} is needed`,
    );
  }
  return m;
}

/** Streams the file into a temporary file beside `dest` and renames it once every announced byte is there. */
async function download(ctx: Online, file: string, info: FileDownloadInfoOutput, dest: string): Promise<void> {
  // With downloadInfo given, downloadFile makes no request of its own: the GET starts on stream().
  const blob = await downloadFile({ ...hubParams(ctx), path: file, downloadInfo: info, xet: false });
  if (!blob) throw new Error(`@huggingface/hub gave no download for ${file}`);
  mkdirSync(dirname(dest), { recursive: true });
  const tmp = `${dest}.tmp.${process.pid}.${randomBytes(4).toString('hex')}`;
  const report = progressReporter(ctx, file, info.size);
  let loaded = 0;
  try {
    await pipeline(
      Readable.fromWeb(blob.stream() as NodeReadableStream<Uint8Array>),
      new Transform({
        transform(chunk: Buffer, _encoding, done) {
          loaded += chunk.length;
          report(loaded);
          done(null, chunk);
        },
      }),
      createWriteStream(tmp, { flags: 'wx' }),
    );
    if (loaded !== info.size) {
      throw new UserError(`download of ${file} of ${label(ctx)} ended after ${loaded} of the ${info.size} bytes the hub announced`);
    }
    renameSync(tmp, dest);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** At most one report every 100 ms per file, and always the one that completes it. */
function progressReporter(ctx: Ctx, file: string, total: number): (loaded: number) => void {
  const report = ctx.options.progress;
  let last = 0;
  return (loaded) => {
    if (!report) return;
    const now = Date.now();
    if (loaded < total && now - last < 100) return;
    last = now;
    report({ file, loaded, total });
  };
}

function translateError(ctx: Online, file: string, url: string, e: unknown): Error {
  if (e instanceof CancelledError || e instanceof UserError) return e;
  if (ctx.options.cancel?.cancelled || (e as Error)?.name === 'AbortError') return new CancelledError();
  // WebBlob.stream() passes on only the message of a failed GET.
  if (typeof e === 'string') return new UserError(`downloading ${file} of ${label(ctx)} from ${url} failed: ${e}`);
  if (e instanceof HubApiError) return new UserError(`hub error for ${file} of ${label(ctx)}: ${e.message}`);
  if (e instanceof InvalidApiResponseFormatError) return new UserError(`hub error for ${file} of ${label(ctx)}: unexpected answer from ${url}: ${e.message}`);
  const err = e as Error & { code?: string; cause?: { code?: string; message?: string }; syscall?: string };
  if (err?.syscall && err.code && !err.cause) {
    return new UserError(`could not write ${file} of ${label(ctx)} into the cache ${ctx.cacheDir}: ${err.message}`);
  }
  // Node's fetch fails with a TypeError: "fetch failed" before the answer, "terminated" during the body.
  if (err instanceof TypeError && (/fetch/i.test(err.message) || err.cause)) {
    const cause = err.cause;
    const why = cause ? [cause.code, cause.message].filter(Boolean).join(': ') : err.message;
    return new UserError(
      `network error downloading ${file} of ${label(ctx)} from ${url}: ${why}. Check the connection (Node's fetch does not use HTTP(S)_PROXY); ` +
        `a model already in the cache ${ctx.cacheDir} can be used offline.`,
    );
  }
  return err instanceof Error ? err : new Error(String(e));
}
