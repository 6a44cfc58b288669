/**
 * Hugging Face hub model ids (`owner/name`, `owner/name@revision`) → a local model folder, downloaded
 * through Transformers.js' own hub code into a cache directory we name, with a dtype choice and an
 * offline mode that reads the cache only.
 *
 * Which Transformers.js code, and why this way (v4.3.1, pinned exactly in package.json):
 * - The function that fetches one repo file into the cache, `getModelFile` (src/utils/hub.js), is not
 *   exported by the package: its index exports `env`, `ModelRegistry`, `ModelFileNotFoundError`,
 *   `AutoConfig`, ... but no file-level helper, and its `exports` map allows only ".", so
 *   `@huggingface/transformers/src/...` cannot be imported by name. Its public paths that download a
 *   `.onnx` (`AutoModel*.from_pretrained`) also open an ONNX Runtime session on it (GBs of weights).
 * - The package entry does not survive this project's bundles either: esbuild turns its ESM build into
 *   CommonJS, where `createRequire(import.meta.url)` throws at load (and it drags in sharp and
 *   onnxruntime-web, 1.5 MB). So the hub modules are imported here from the package's own ESM source
 *   (`node_modules/@huggingface/transformers/src/...`, the code its dist is built from) by relative
 *   path: a small graph (env, hub, FileCache, dtypes, model-loader, get_file_metadata; ~55 kB bundled)
 *   that loads in CommonJS bundles and under tsx. The types come from the package's `types/` folder.
 * - That source graph has its own `env` object, distinct from the one `import { env } from
 *   '@huggingface/transformers'` gives: settings here never leak into other users of the package.
 *   Even so, each call sets the fields it needs and restores them afterwards, and calls run one at a
 *   time (the fields are module-global).
 * - What is mirrored, not re-implemented: the dtype → file-suffix table (`DEFAULT_DTYPE_SUFFIX_MAPPING`),
 *   the default dtype (`selectDtype`), the external-data chunk count (`resolveExternalDataFormat` on
 *   `config["transformers.js_config"].use_external_data_format`, with `device_config.cpu` laid over it
 *   as session.js does) and the chunk names (`getExternalDataChunkNames`: `X.onnx_data`,
 *   `X.onnx_data_1`, ...), the model-id rule (`isValidHfModelId`), the cache keys
 *   (`buildResourcePaths`) and the download itself (`getModelFile` → `FileCache.put`, which streams to
 *   a temporary file and renames it). Decoder-only models: one session file, `onnx/model{suffix}.onnx`.
 * - The cache is Transformers.js' `FileCache` layout under `cacheDir`: `<cacheDir>/<owner>/<name>/<file>`
 *   for revision `main`, `<cacheDir>/<owner>/<name>/<revision>/<file>` for any other revision. Both hold
 *   `config.json` + `onnx/<file>`, so that folder is what we return. It is handed to Transformers.js as
 *   `env.customCache`: a `FileCache` subclass whose `match` answers with the file's path (a form
 *   `getModelFile` accepts) instead of a `FileResponse`, because a `FileResponse` starts reading the
 *   whole file into memory when it is constructed (measured: 800 MB of RSS for an 800 MB file), which
 *   `getModelFile` does on every cache hit and after every download.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve as resolvePath, sep } from 'node:path';
import { CancelledError, UserError, throwIfCancelled, type Cancellation } from '../../core/errors';

// The hub modules of Transformers.js, from its ESM source (see above). They have no declaration file
// beside them, hence the ignores; each is given its type from the package's types/ folder just below.
// @ts-expect-error -- untyped .js; typed below
import * as tjsEnvModule from '../../../node_modules/@huggingface/transformers/src/env.js';
// @ts-expect-error -- untyped .js; typed below
import * as tjsHubModule from '../../../node_modules/@huggingface/transformers/src/utils/hub.js';
// @ts-expect-error -- untyped .js; typed below
import * as tjsHubUtilsModule from '../../../node_modules/@huggingface/transformers/src/utils/hub/utils.js';
// @ts-expect-error -- untyped .js; typed below
import * as tjsDtypesModule from '../../../node_modules/@huggingface/transformers/src/utils/dtypes.js';
// @ts-expect-error -- untyped .js; typed below
import * as tjsLoaderModule from '../../../node_modules/@huggingface/transformers/src/utils/model-loader.js';
// @ts-expect-error -- untyped .js; typed below
import * as tjsFileCacheModule from '../../../node_modules/@huggingface/transformers/src/utils/cache/FileCache.js';
// @ts-expect-error -- untyped .js; typed below
import * as tjsMetadataModule from '../../../node_modules/@huggingface/transformers/src/utils/model_registry/get_file_metadata.js';

const tjsEnv = (tjsEnvModule as typeof import('../../../node_modules/@huggingface/transformers/types/env.js')).env;
const tjsHub = tjsHubModule as typeof import('../../../node_modules/@huggingface/transformers/types/utils/hub.js');
const tjsHubUtils = tjsHubUtilsModule as typeof import('../../../node_modules/@huggingface/transformers/types/utils/hub/utils.js');
const tjsDtypes = tjsDtypesModule as typeof import('../../../node_modules/@huggingface/transformers/types/utils/dtypes.js');
const tjsLoader = tjsLoaderModule as typeof import('../../../node_modules/@huggingface/transformers/types/utils/model-loader.js');
const tjsMetadata = tjsMetadataModule as typeof import('../../../node_modules/@huggingface/transformers/types/utils/model_registry/get_file_metadata.js');
/** FileCache, typed loosely: our subclass's `match` answers with a path, which FileCache's declared type does not allow. */
const TjsFileCache = (
  tjsFileCacheModule as { FileCache: new (path: string) => { path: string; put(request: string, response: Response, progress?: unknown): Promise<void> } }
).FileCache;
type TjsEnv = typeof tjsEnv;

/** The dtypes a user can ask for (Transformers.js' names; each maps to one ONNX file suffix). */
import { HUB_DTYPES, type HubDType } from '../../core/modelSettings';

export interface HubProgress {
  /** Repo-relative file, e.g. `onnx/model.onnx_data`. */
  file: string;
  loaded: number;
  /** Bytes expected (the response's content-length; 0 when the server does not say). */
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
  /** Hub endpoint; default `$HF_ENDPOINT`, else Transformers.js' default (https://huggingface.co/). */
  remoteHost?: string;
  /** URL path after the host; default Transformers.js' `{model}/resolve/{revision}/`. */
  remotePathTemplate?: string;
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
  if (!tjsHubUtils.isValidHfModelId(id) || FILE_EXT.test(m[2])) return undefined;
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
  if (options.dtype !== undefined && !(options.dtype in tjsDtypes.DEFAULT_DTYPE_SUFFIX_MAPPING)) {
    throw new UserError(`unknown dtype "${options.dtype}": expected one of ${HUB_DTYPES.join(', ')}`);
  }
  if (!options.cacheDir) throw new UserError('no cache folder given for hub models');
  const ctx: Ctx = {
    id: parsed.id,
    revision,
    cacheDir: resolvePath(options.cacheDir),
    options,
    log: options.log ?? (() => undefined),
    cache: undefined as unknown as LeanFileCache,
  };
  ctx.cache = new LeanFileCache(ctx.cacheDir);
  throwIfCancelled(options.cancel);
  return serialized(() => withTjsEnv(ctx, () => (options.offline ? resolveOffline(ctx) : resolveOnline(ctx))));
}

// ---------------------------------------------------------------------------------------------------

interface Ctx {
  id: string;
  revision: string;
  cacheDir: string;
  options: ResolveHubOptions;
  log: (message: string) => void;
  cache: LeanFileCache;
}

/**
 * Transformers.js' FileCache (same layout, same atomic `put`) whose `match` answers with the cached
 * file's path instead of a FileResponse, which would read the whole file into memory.
 */
class LeanFileCache extends TjsFileCache {
  async match(request: string): Promise<string | undefined> {
    // Only keys inside the cache: Transformers.js also tries env.localModelPath/<file> (absolute) as a key.
    if (isAbsolute(request)) return undefined;
    const file = join(this.path, request);
    if (!file.startsWith(this.path.endsWith(sep) ? this.path : this.path + sep)) return undefined;
    try {
      return statSync(file).isFile() ? file : undefined;
    } catch {
      return undefined;
    }
  }
}

/** Where Transformers.js' FileCache keeps (or would keep) a repo file. */
function cachePath(ctx: Ctx, file: string): string {
  return join(ctx.cacheDir, tjsHub.buildResourcePaths(ctx.id, file, { revision: ctx.revision }, ctx.cache as never).proposedCacheKey);
}

function remoteUrl(ctx: Ctx, file: string): string {
  return tjsHub.buildResourcePaths(ctx.id, file, { revision: ctx.revision }, ctx.cache as never).remoteURL;
}

function isCached(ctx: Ctx, file: string): boolean {
  try {
    return statSync(cachePath(ctx, file)).isFile();
  } catch {
    return false;
  }
}

/** The folder of the model in the cache (the parent of config.json). */
function modelFolder(ctx: Ctx): string {
  const config = cachePath(ctx, 'config.json');
  return config.slice(0, config.length - 'config.json'.length - 1);
}

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
  return `${SESSION_FILE}${(tjsDtypes.DEFAULT_DTYPE_SUFFIX_MAPPING as Record<string, string>)[dtype] ?? ''}.onnx`;
}

function planFor(config: Json, dtype: string): Plan {
  const fullName = onnxFileOf(dtype);
  const chunks = tjsLoader.resolveExternalDataFormat(tjsConfig(config).use_external_data_format as never, fullName, SESSION_FILE);
  if (!Number.isInteger(chunks) || chunks < 0 || chunks > tjsHub.MAX_EXTERNAL_DATA_CHUNKS) {
    throw new UserError(
      `config.json: transformers.js_config.use_external_data_format gives ${chunks} external data files for ${fullName} (at most ${tjsHub.MAX_EXTERNAL_DATA_CHUNKS})`,
    );
  }
  return {
    dtype,
    onnx: `${SUBFOLDER}/${fullName}`,
    data: tjsLoader.getExternalDataChunkNames(fullName, chunks).map((n) => `${SUBFOLDER}/${n}`),
  };
}

/** The dtypes to try, in order: the requested one only, or Transformers.js' default then fp32 and fp16. */
function dtypeCandidates(config: Json, requested: string | undefined): string[] {
  if (requested) return [requested];
  const custom = tjsConfig(config);
  const configDtype = custom.dtype as never;
  const first = tjsDtypes.selectDtype(configDtype, SESSION_FILE, 'cpu', { configDtype });
  return [...new Set([first, ...FALLBACK_DTYPES])];
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
  const folder = modelFolder(ctx);
  const names = [...REQUIRED_FILES, ...OPTIONAL_FILES.filter((f) => isCached(ctx, f)), plan.onnx, ...plan.data];
  const files = names.map((f) => cachePath(ctx, f));
  const onnxFile = cachePath(ctx, plan.onnx);
  if (onnxFile !== join(folder, plan.onnx)) throw new Error(`hub cache layout: ${onnxFile} is not under ${folder}`);
  return { folder, onnxFile, files, dtype: plan.dtype, revision: ctx.revision };
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
      const cachedDtypes = Object.keys(tjsDtypes.DEFAULT_DTYPE_SUFFIX_MAPPING).filter((d) => {
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
// Online: Transformers.js' getModelFile into the cache.

async function resolveOnline(ctx: Ctx): Promise<HubModel> {
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

/** A repo file answered 401/403/404. */
class MissingOnHub extends Error {
  constructor(
    readonly file: string,
    readonly status: number,
    readonly url: string,
  ) {
    super(`${file}: ${status} at ${url}`);
  }
}

async function noVariantError(ctx: Ctx, config: Json, tried: string[]): Promise<UserError> {
  const available: string[] = [];
  for (const dtype of Object.keys(tjsDtypes.DEFAULT_DTYPE_SUFFIX_MAPPING)) {
    throwIfCancelled(ctx.options.cancel);
    const plan = planFor(config, dtype);
    try {
      const meta = await tjsMetadata.get_file_metadata(ctx.id, plan.onnx, { revision: ctx.revision, cache_dir: ctx.cacheDir });
      if (meta.exists) available.push(`${dtype} (${plan.onnx})`);
    } catch {
      // A failed probe only shortens the list.
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

/** One repo file through Transformers.js' getModelFile; its local path, or undefined for a missing optional file. */
async function fetchFile(ctx: Ctx, file: string, fatal: boolean): Promise<string | undefined> {
  throwIfCancelled(ctx.options.cancel);
  const url = remoteUrl(ctx, file);
  if (isCached(ctx, file)) ctx.log(`hub: ${file} (cached)`);
  else ctx.log(`hub: downloading ${file} from ${url}`);
  let got: string | Uint8Array | null;
  try {
    got = await tjsHub.getModelFile(
      ctx.id,
      file,
      fatal,
      { cache_dir: ctx.cacheDir, revision: ctx.revision, progress_callback: progressCallback(ctx) as never },
      true,
    );
  } catch (e) {
    throw translateError(ctx, file, url, e);
  }
  throwIfCancelled(ctx.options.cancel);
  if (got === null || got === undefined) {
    ctx.log(`hub: ${file} is not in the repo (optional)`);
    return undefined;
  }
  const path = cachePath(ctx, file);
  if (got !== path || !isCached(ctx, file)) {
    throw new Error(`Transformers.js returned ${typeof got === 'string' ? got : 'a buffer'} for ${file}, expected the cache file ${path}`);
  }
  return path;
}

function progressCallback(ctx: Ctx): (info: unknown) => void {
  const last = new Map<string, number>();
  return (raw) => {
    if (ctx.options.cancel?.cancelled) abortCurrent?.abort();
    const info = obj(raw);
    const report = ctx.options.progress;
    if (!report || info?.status !== 'progress' || typeof info.file !== 'string') return;
    const loaded = Number(info.loaded) || 0;
    const total = Number(info.total) || 0;
    const now = Date.now();
    const done = total > 0 && loaded >= total;
    if (!done && now - (last.get(info.file) ?? 0) < 100) return;
    last.set(info.file, now);
    report({ file: info.file, loaded, total });
  };
}

function translateError(ctx: Ctx, file: string, url: string, e: unknown): Error {
  if (e instanceof CancelledError || e instanceof UserError) return e;
  const err = e as Error & { status?: number; code?: string; cause?: { code?: string; message?: string }; syscall?: string };
  if (ctx.options.cancel?.cancelled || err?.name === 'AbortError') return new CancelledError();
  if (e instanceof tjsHubUtils.ModelFileNotFoundError || err?.name === 'ModelFileNotFoundError') {
    const status = err.status ?? 404;
    if (file === 'config.json') {
      return new UserError(
        `hub model ${label(ctx)} not found: ${url} answered ${status}. Check the id (owner/name, as on huggingface.co)` +
          `${ctx.revision === 'main' ? '' : ` and the revision "${ctx.revision}"`}; a private or gated model needs HF_TOKEN in the environment.`,
      );
    }
    if (REQUIRED_FILES.includes(file)) {
      return new UserError(
        `hub model ${label(ctx)} has no ${file} (${status} at ${url}); a Transformers.js export with ${REQUIRED_FILES.join(', ')} is needed`,
      );
    }
    return new MissingOnHub(file, status, url);
  }
  if (err?.syscall && err.code && !err.cause) {
    return new UserError(`could not write ${file} of ${label(ctx)} into the cache ${ctx.cacheDir}: ${err.message}`);
  }
  if (err instanceof TypeError && /fetch/i.test(err.message)) {
    const cause = err.cause;
    const why = cause ? [cause.code, cause.message].filter(Boolean).join(': ') : err.message;
    return new UserError(
      `network error downloading ${file} of ${label(ctx)} from ${url}: ${why}. Check the connection (Node's fetch does not use HTTP(S)_PROXY); ` +
        `a model already in the cache ${ctx.cacheDir} can be used offline.`,
    );
  }
  if (err instanceof Error && /occurred while trying to load file|Error \(\d+\)/.test(err.message)) {
    return new UserError(`hub error for ${file} of ${label(ctx)}: ${err.message}`);
  }
  return err instanceof Error ? err : new Error(String(e));
}

// ---------------------------------------------------------------------------------------------------
// Transformers.js' env, set for one call and restored; one call at a time.

/** The abort handle of the call in progress (calls are serialized). */
let abortCurrent: AbortController | undefined;

const ENV_KEYS = [
  'allowRemoteModels',
  'allowLocalModels',
  'remoteHost',
  'remotePathTemplate',
  'useCustomCache',
  'customCache',
  'cacheDir',
  'useFSCache',
  'useBrowserCache',
  'experimental_useCrossOriginStorage',
  'fetch',
] as const satisfies readonly (keyof TjsEnv)[];

async function withTjsEnv<T>(ctx: Ctx, fn: () => Promise<T> | T): Promise<T> {
  const env = tjsEnv;
  const saved = Object.fromEntries(ENV_KEYS.map((k) => [k, env[k]])) as Partial<TjsEnv>;
  const controller = new AbortController();
  const baseFetch = env.fetch ?? globalThis.fetch.bind(globalThis);
  const poll = ctx.options.cancel
    ? setInterval(() => {
        if (ctx.options.cancel?.cancelled) controller.abort();
      }, 100)
    : undefined;
  poll?.unref?.();
  abortCurrent = controller;
  try {
    Object.assign(env, {
      allowRemoteModels: !ctx.options.offline,
      // Never read env.localModelPath (node_modules/@huggingface/transformers/models/ by default).
      allowLocalModels: false,
      remoteHost: ctx.options.remoteHost ?? process.env.HF_ENDPOINT ?? saved.remoteHost,
      remotePathTemplate: ctx.options.remotePathTemplate ?? saved.remotePathTemplate,
      useCustomCache: true,
      customCache: ctx.cache,
      // Not used while customCache is set; pinned anyway so nothing can default to node_modules/.../.cache.
      cacheDir: ctx.cacheDir,
      useFSCache: true,
      useBrowserCache: false,
      experimental_useCrossOriginStorage: false,
      fetch: (input: string | URL, init?: RequestInit) => baseFetch(input, { ...init, signal: controller.signal }),
    } satisfies Partial<TjsEnv>);
    return await fn();
  } finally {
    if (poll) clearInterval(poll);
    abortCurrent = undefined;
    Object.assign(env, saved);
  }
}

let queue: Promise<unknown> = Promise.resolve();
function serialized<T>(fn: () => Promise<T>): Promise<T> {
  const run = queue.then(fn, fn);
  queue = run.catch(() => undefined);
  return run;
}
