import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CancelledError, UserError } from '../../src/core/errors';
import { isHubId, parseHubId, resolveHubModel, type HubProgress, type ResolveHubOptions } from '../../src/runtime/hub/hubSource';
import { loadModel } from '../../src/runtime/loadModel';
import { FIXTURES } from './fixtures';

const GPT2 = join(FIXTURES, 'tiny-random-gpt2-ort-fused');
const LLAMA = join(FIXTURES, 'tiny-random-llama-genai-builder-fp16');
/** Hugging Face's default cache (huggingface_hub, @huggingface/hub's downloadFileToCacheDir); hubSource must never write there. */
const HF_DEFAULT_CACHE = process.env.HF_HOME ? join(process.env.HF_HOME, 'hub') : join(homedir(), '.cache', 'huggingface', 'hub');

const read = (p: string) => readFileSync(p);
const json = (v: unknown) => Buffer.from(JSON.stringify(v, null, 2));

type RepoFiles = Record<string, Buffer>;
/** A fake hub in the Hugging Face URL layout (/{owner}/{name}/resolve/{revision}/{file}) and headers (ETag, X-Error-Code). */
interface FakeHub {
  server: Server;
  url: string;
  /** Every request, as "METHOD path [range]". */
  requests: string[];
  /** The Authorization header of each request ('' when none). */
  authorization: string[];
  close(): Promise<void>;
}

/**
 * repos: `owner/name` → revision → files. Unknown repos answer 404, `unauthorized` ones 401 (what
 * huggingface.co answers for a repo that does not exist or is private), unknown files 404, with the
 * X-Error-Code of huggingface.co, except in `bare404` repos (as some mirrors answer).
 * `slow` files are sent in 16 kB pieces 15 ms apart; `truncated` files stop after half of their bytes
 * (chunked, so that the client sees a clean end); `failing` files answer their probe but 500 to the GET.
 */
async function startHub(
  repos: Record<string, Record<string, RepoFiles>>,
  opts: { unauthorized?: string[]; slow?: string[]; truncated?: string[]; failing?: string[]; bare404?: string[] } = {},
): Promise<FakeHub> {
  const requests: string[] = [];
  const authorization: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const range = req.headers.range;
    requests.push(`${req.method} ${decodeURIComponent(path)}${range ? ` [${range}]` : ''}`);
    authorization.push(req.headers.authorization ?? '');
    const parts = path.split('/').filter(Boolean);
    const [owner, name, resolveWord, revision] = parts;
    const file = parts.slice(4).map(decodeURIComponent).join('/');
    const id = `${owner}/${name}`;
    if (resolveWord !== 'resolve' || !revision || !file) return void res.writeHead(400).end('bad request');
    const refuse = (status: number, code: string, error: string) =>
      void res.writeHead(status, { 'content-type': 'application/json', 'x-error-code': code }).end(JSON.stringify({ error }));
    if (opts.unauthorized?.includes(id)) return refuse(401, 'RepoNotFound', 'Invalid username or password.');
    const repo = repos[id];
    if (!repo) return refuse(404, 'RepoNotFound', 'Repository not found');
    const body = repo[decodeURIComponent(revision)]?.[file];
    if (!body && opts.bare404?.includes(id)) return void res.writeHead(404).end('Not found');
    if (!body) return refuse(404, 'EntryNotFound', 'Entry not found');
    const etag = `"${createHash('sha256').update(body).digest('hex')}"`;
    if (range === 'bytes=0-0') {
      res.writeHead(206, { 'content-length': '1', 'content-range': `bytes 0-0/${body.length}`, etag });
      return void res.end(body.subarray(0, 1));
    }
    if (opts.failing?.includes(`${id}/${file}`)) return refuse(500, 'Internal', 'the storage is down');
    if (opts.truncated?.includes(`${id}/${file}`)) {
      res.writeHead(200, { 'content-type': 'application/octet-stream', etag });
      return void res.end(body.subarray(0, body.length >> 1));
    }
    res.writeHead(200, { 'content-length': String(body.length), 'content-type': 'application/octet-stream', etag });
    if (!opts.slow?.includes(`${id}/${file}`)) return void res.end(body);
    let offset = 0;
    const step = () => {
      if (res.destroyed) return;
      res.write(body.subarray(offset, offset + 16384));
      offset += 16384;
      if (offset >= body.length) res.end();
      else setTimeout(step, 15);
    };
    step();
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://127.0.0.1:${port}/`,
    requests,
    authorization,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

// --- the served repos (real files from the shared fixtures) ---

/** GPT-2 (ORT fused export, weights inside the graph): past.onnx served as the fp32 graph onnx/model.onnx. */
function gpt2Repo(): RepoFiles {
  return {
    'config.json': read(join(GPT2, 'config.json')),
    'tokenizer.json': read(join(GPT2, 'tokenizer.json')),
    'tokenizer_config.json': read(join(GPT2, 'tokenizer_config.json')),
    'onnx/model.onnx': read(join(GPT2, 'past.onnx')),
  };
}

/**
 * Llama (onnxruntime-genai builder, fp16, external data) laid out as a Transformers.js export with no
 * fp32 file: model.onnx as onnx/model_fp16.onnx, model.onnx.data as onnx/model_fp16.onnx_data. (The graph's
 * initializers still name "model.onnx.data" as their location: only bytes are tested here, loading the
 * graph from this folder would need that file name.) A q4 variant in two data chunks (the same bytes
 * split in halves) exercises the `_data_1` naming. config.json is written here: the fixture has none.
 */
function llamaRepo(): RepoFiles {
  const data = read(join(LLAMA, 'model.onnx.data'));
  const half = Math.floor(data.length / 2);
  return {
    'config.json': json({
      architectures: ['LlamaForCausalLM'],
      model_type: 'llama',
      'transformers.js_config': { dtype: 'fp16', use_external_data_format: { 'model_fp16.onnx': true, 'model_q4.onnx': 2 } },
    }),
    'tokenizer.json': read(join(LLAMA, 'tokenizer.json')),
    'tokenizer_config.json': read(join(LLAMA, 'tokenizer_config.json')),
    'special_tokens_map.json': read(join(LLAMA, 'special_tokens_map.json')),
    'generation_config.json': json({ bos_token_id: 1, eos_token_id: 2 }),
    'onnx/model_fp16.onnx': read(join(LLAMA, 'model.onnx')),
    'onnx/model_fp16.onnx_data': data,
    'onnx/model_q4.onnx': read(join(LLAMA, 'model.onnx')),
    'onnx/model_q4.onnx_data': data.subarray(0, half),
    'onnx/model_q4.onnx_data_1': data.subarray(half),
  };
}

let root: string;
let hfCacheBefore: string[] | undefined;
let cacheCount = 0;
/** A fresh cache folder under the test root, so that every test starts with an empty cache. */
const freshCache = () => join(root, `cache-${++cacheCount}`);

const listHfCache = (): string[] | undefined =>
  existsSync(HF_DEFAULT_CACHE) ? readdirSync(HF_DEFAULT_CACHE, { recursive: true }).map(String).sort() : undefined;

before(() => {
  assert.ok(existsSync(GPT2) && existsSync(LLAMA), `the third-party ONNX fixtures are missing at ${FIXTURES} (set IV_SHARED_DIR)`);
  root = mkdtempSync(join(tmpdir(), 'iv-hub-'));
  hfCacheBefore = listHfCache();
});
after(() => {
  rmSync(root, { recursive: true, force: true });
});

/** Runs resolveHubModel and returns the UserError it throws (fails when it does not throw one). */
async function userError(spec: string, options: ResolveHubOptions): Promise<string> {
  try {
    await resolveHubModel(spec, options);
  } catch (e) {
    assert.ok(e instanceof UserError, `expected a UserError, got ${(e as Error)?.stack ?? e}`);
    return e.message;
  }
  assert.fail(`resolveHubModel(${spec}) did not throw`);
}

function assertSameBytes(localFile: string, served: Buffer): void {
  assert.ok(existsSync(localFile), `${localFile} exists`);
  assert.ok(read(localFile).equals(served), `${localFile} has the served bytes`);
}

/** Every file under dir, relative, sorted. */
const tree = (dir: string) =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => relative(dir, join(d.parentPath ?? (d as unknown as { path: string }).path, d.name)))
    .sort();

describe('isHubId / parseHubId', () => {
  test('owner/name and owner/name@revision are hub ids; paths and bare names are not', () => {
    for (const id of ['onnx-community/Qwen2.5-0.5B-Instruct', 'HuggingFaceTB/SmolLM2-135M-Instruct', 'a/b@main', 'a/b@refs/pr/1', 'a/b@0123abcd']) {
      assert.equal(isHubId(id), true, id);
    }
    for (const p of [
      './x',
      '/x',
      '../a/b',
      'C:\\x',
      'C:/x/y',
      'x.onnx',
      'default',
      'a/model.onnx',
      'a/b/c',
      'a/b@',
      'a/b@../x',
      'a--b/c',
      'a/b.git',
      '',
      'a/ b',
    ]) {
      assert.equal(isHubId(p), false, p);
    }
    assert.deepEqual(parseHubId('a/b@v1.0'), { id: 'a/b', revision: 'v1.0' });
    assert.deepEqual(parseHubId('a/b'), { id: 'a/b' });
  });

  test('an existing relative folder of the form owner/name is a path, not a hub id', () => {
    const cwd = process.cwd();
    const dir = join(root, 'cwd');
    mkdirSync(join(dir, 'owner', 'name'), { recursive: true });
    process.chdir(dir);
    try {
      assert.equal(isHubId('owner/name'), false);
      assert.equal(isHubId('owner/other'), true);
    } finally {
      process.chdir(cwd);
    }
  });
});

describe('resolveHubModel against a fake hub', () => {
  let hub: FakeHub;
  const gpt2 = gpt2Repo();
  const gpt2v1 = { ...gpt2, 'config.json': json({ ...JSON.parse(gpt2['config.json'].toString()), marker: 'v1' }) };
  const llama = llamaRepo();
  const broken = { ...gpt2, 'config.json': json({ model_type: 'gpt2', 'transformers.js_config': { use_external_data_format: true } }) };
  const { 'onnx/model.onnx': gpt2Graph, ...nograph } = gpt2;
  const fp16only: RepoFiles = { ...nograph, 'onnx/model_fp16.onnx': gpt2Graph };
  const slow = { ...gpt2, 'onnx/model.onnx': Buffer.concat([gpt2['onnx/model.onnx'], Buffer.alloc(1 << 20)]) };
  const opts = (cacheDir: string, more: Partial<ResolveHubOptions> = {}): ResolveHubOptions => ({ cacheDir, remoteHost: hub.url, ...more });

  before(async () => {
    hub = await startHub(
      {
        'tiny/gpt2': { main: gpt2, v1: gpt2v1 },
        'tiny/llama': { main: llama },
        'tiny/broken': { main: broken },
        'tiny/slow': { main: slow },
        'tiny/fp16only': { main: fp16only },
        'tiny/nograph': { main: nograph },
        'tiny/truncated': { main: gpt2 },
        'tiny/failing': { main: gpt2 },
      },
      {
        unauthorized: ['tiny/private'],
        slow: ['tiny/slow/onnx/model.onnx'],
        truncated: ['tiny/truncated/onnx/model.onnx'],
        failing: ['tiny/failing/onnx/model.onnx'],
        bare404: ['tiny/fp16only'],
      },
    );
  });
  after(() => hub.close());

  test('downloads config, tokenizer and the fp32 graph into the cache dir, byte for byte, in the Transformers.js layout', async () => {
    const cacheDir = freshCache();
    const progress: HubProgress[] = [];
    const logs: string[] = [];
    const rootBefore = tree(root);
    const r = await resolveHubModel('tiny/gpt2', opts(cacheDir, { progress: (p) => progress.push(p), log: (m) => logs.push(m) }));
    const folder = join(cacheDir, 'tiny', 'gpt2');
    assert.equal(r.folder, folder);
    assert.equal(r.onnxFile, join(folder, 'onnx', 'model.onnx'));
    assert.equal(r.dtype, 'fp32');
    assert.equal(r.revision, 'main');
    for (const [file, bytes] of Object.entries(gpt2)) assertSameBytes(join(folder, file), bytes);
    assert.deepEqual(
      [...r.files].sort(),
      Object.keys(gpt2)
        .map((f) => join(folder, f))
        .sort(),
    );
    // The optional files were asked for and their 404 tolerated.
    assert.ok(hub.requests.includes('GET /tiny/gpt2/resolve/main/generation_config.json [bytes=0-0]'));
    assert.ok(hub.requests.includes('GET /tiny/gpt2/resolve/main/special_tokens_map.json [bytes=0-0]'));
    // Each file was asked about, then read in one plain GET.
    assert.ok(hub.requests.includes('GET /tiny/gpt2/resolve/main/onnx/model.onnx [bytes=0-0]'));
    assert.equal(hub.requests.filter((q) => q === 'GET /tiny/gpt2/resolve/main/onnx/model.onnx').length, 1);
    // Only the model's files are in the cache (no temporary files left), and nothing else was written
    // in the test root or in Hugging Face's default cache.
    assert.deepEqual(
      tree(cacheDir),
      Object.keys(gpt2)
        .map((f) => join('tiny', 'gpt2', f))
        .sort(),
    );
    assert.deepEqual(
      tree(root).filter((f) => !f.startsWith(relative(root, cacheDir) + sep)),
      rootBefore,
      'no file left outside the cache dir',
    );
    assert.deepEqual(listHfCache(), hfCacheBefore, `${HF_DEFAULT_CACHE} untouched`);
    const last = progress.filter((p) => p.file === 'onnx/model.onnx').at(-1);
    assert.deepEqual(last, { file: 'onnx/model.onnx', loaded: gpt2['onnx/model.onnx'].length, total: gpt2['onnx/model.onnx'].length });
    assert.ok(logs.some((m) => m.includes('downloading onnx/model.onnx')));
  });

  test('a second online call downloads nothing again', async () => {
    const cacheDir = freshCache();
    await resolveHubModel('tiny/gpt2', opts(cacheDir));
    const before = hub.requests.length;
    const r = await resolveHubModel('tiny/gpt2', opts(cacheDir));
    const again = hub.requests.slice(before);
    // Only the optional files that the repo does not have are asked for again.
    assert.deepEqual(again.sort(), [
      'GET /tiny/gpt2/resolve/main/generation_config.json [bytes=0-0]',
      'GET /tiny/gpt2/resolve/main/special_tokens_map.json [bytes=0-0]',
    ]);
    assert.equal(r.onnxFile, join(cacheDir, 'tiny', 'gpt2', 'onnx', 'model.onnx'));
  });

  test('the dtype of transformers.js_config is the default; its external data file comes along', async () => {
    const cacheDir = freshCache();
    const r = await resolveHubModel('tiny/llama', opts(cacheDir));
    const folder = join(cacheDir, 'tiny', 'llama');
    assert.equal(r.dtype, 'fp16');
    assert.equal(r.onnxFile, join(folder, 'onnx', 'model_fp16.onnx'));
    assertSameBytes(r.onnxFile, llama['onnx/model_fp16.onnx']);
    assertSameBytes(join(folder, 'onnx', 'model_fp16.onnx_data'), llama['onnx/model_fp16.onnx_data']);
    const expected = [
      'config.json',
      'tokenizer.json',
      'tokenizer_config.json',
      'generation_config.json',
      'special_tokens_map.json',
      'onnx/model_fp16.onnx',
      'onnx/model_fp16.onnx_data',
    ];
    assert.deepEqual([...r.files].sort(), expected.map((f) => join(folder, f)).sort());
    for (const f of expected) assertSameBytes(join(folder, f), llama[f]);
    assert.ok(!existsSync(join(folder, 'onnx', 'model_q4.onnx')), 'other variants are not downloaded');
  });

  test('an explicit dtype picks its suffix; a chunk count of 2 fetches _data and _data_1', async () => {
    const cacheDir = freshCache();
    const r = await resolveHubModel('tiny/llama', opts(cacheDir, { dtype: 'q4' }));
    const folder = join(cacheDir, 'tiny', 'llama');
    assert.equal(r.onnxFile, join(folder, 'onnx', 'model_q4.onnx'));
    for (const f of ['onnx/model_q4.onnx', 'onnx/model_q4.onnx_data', 'onnx/model_q4.onnx_data_1']) {
      assertSameBytes(join(folder, f), llama[f]);
      assert.ok(r.files.includes(join(folder, f)), f);
    }
    assert.ok(!existsSync(join(folder, 'onnx', 'model_fp16.onnx')));
  });

  test('an unavailable dtype errors with the file tried and the variants the hub has', async () => {
    const cacheDir = freshCache();
    const msg = await userError('tiny/llama', opts(cacheDir, { dtype: 'q8' }));
    assert.match(msg, /dtype q8 is not available/);
    assert.match(msg, /onnx\/model_quantized\.onnx \(q8\): 404/);
    assert.match(msg, /Available on the hub: fp16 \(onnx\/model_fp16\.onnx\), q4 \(onnx\/model_q4\.onnx\)\./);
    assert.ok(!existsSync(join(cacheDir, 'tiny', 'llama', 'onnx')), 'nothing of the graph was written');
  });

  test('without a dtype, fp32 then fp16 are tried (a 404 without X-Error-Code is missing too); with neither, both are listed', async () => {
    const r = await resolveHubModel('tiny/fp16only', opts(freshCache()));
    assert.equal(r.dtype, 'fp16');
    assertSameBytes(r.onnxFile, gpt2['onnx/model.onnx']);
    assert.ok(hub.requests.includes('GET /tiny/fp16only/resolve/main/onnx/model.onnx [bytes=0-0]'), 'fp32 was tried first');
    const msg = await userError('tiny/nograph', opts(freshCache()));
    assert.match(msg, /no ONNX file for the default dtypes/);
    assert.match(msg, /^ {2}onnx\/model\.onnx \(fp32\): 404/m);
    assert.match(msg, /^ {2}onnx\/model_fp16\.onnx \(fp16\): 404/m);
    assert.match(msg, /does not look like a Transformers\.js export/);
  });

  test('a model id the hub does not know errors clearly (404, and 401 as huggingface.co answers)', async () => {
    const msg404 = await userError('tiny/nope', opts(freshCache()));
    assert.match(msg404, /hub model tiny\/nope not found/);
    assert.match(msg404, /answered 404/);
    assert.match(msg404, /tiny\/nope\/resolve\/main\/config\.json/);
    const msg401 = await userError('tiny/private', opts(freshCache()));
    assert.match(msg401, /hub model tiny\/private not found: .* answered 401/);
    assert.match(msg401, /HF_TOKEN/);
  });

  test('an external data file that config.json declares but the hub lacks is named', async () => {
    const msg = await userError('tiny/broken', opts(freshCache()));
    assert.match(msg, /onnx\/model\.onnx has 1 external data file\(s\) \(onnx\/model\.onnx_data\)/);
    assert.match(msg, /onnx\/model\.onnx_data is not on the hub \(404/);
  });

  test('a revision goes into the URL and into its own cache folder', async () => {
    const cacheDir = freshCache();
    const r = await resolveHubModel('tiny/gpt2@v1', opts(cacheDir));
    assert.equal(r.folder, join(cacheDir, 'tiny', 'gpt2', 'v1'));
    assert.equal(r.revision, 'v1');
    assertSameBytes(join(r.folder, 'config.json'), gpt2v1['config.json']);
    assert.ok(hub.requests.includes('GET /tiny/gpt2/resolve/v1/onnx/model.onnx'));
    const main = await resolveHubModel('tiny/gpt2', opts(cacheDir));
    assertSameBytes(join(main.folder, 'config.json'), gpt2['config.json']);
    await assert.rejects(resolveHubModel('tiny/gpt2@v1', opts(cacheDir, { revision: 'v2' })), UserError);
  });

  test('offline with an uncached model lists the missing files, the cache dir and how to get them', async () => {
    const cacheDir = freshCache();
    const before = hub.requests.length;
    const msg = await userError('tiny/llama', opts(cacheDir, { offline: true }));
    assert.equal(hub.requests.length, before, 'offline makes no request');
    assert.match(msg, /offline: hub model tiny\/llama is not fully in the cache/);
    assert.ok(msg.includes(cacheDir), msg);
    for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx'])
      assert.match(msg, new RegExp(`^  ${f.replace('.', '\\.')}`, 'm'), f);
    assert.match(msg, /run once with network access/);
    assert.match(msg, /copy a Transformers\.js export/);
  });

  test('offline with the model cached in another dtype lists the missing data chunks and the cached variant', async () => {
    const cacheDir = freshCache();
    await resolveHubModel('tiny/llama', opts(cacheDir));
    const msg = await userError('tiny/llama', opts(cacheDir, { offline: true, dtype: 'q4' }));
    for (const f of ['onnx/model_q4.onnx', 'onnx/model_q4.onnx_data', 'onnx/model_q4.onnx_data_1'])
      assert.match(msg, new RegExp(`^  ${f.replace(/\./g, '\\.')}$`, 'm'), f);
    assert.doesNotMatch(msg, /^ {2}config\.json$/m);
    assert.match(msg, /cached variants: fp16/);
  });

  test('cancelling during a download throws CancelledError and leaves no partial file', async () => {
    const cacheDir = freshCache();
    const cancel = { cancelled: false };
    let during: string[] = [];
    await assert.rejects(
      resolveHubModel(
        'tiny/slow',
        opts(cacheDir, {
          cancel,
          progress: (p) => {
            if (p.file !== 'onnx/model.onnx' || p.loaded === 0) return;
            during = readdirSync(join(cacheDir, 'tiny', 'slow', 'onnx'));
            cancel.cancelled = true;
          },
        }),
      ),
      CancelledError,
    );
    assert.equal(during.length, 1);
    assert.match(during[0], /^model\.onnx\.tmp\./, 'the download goes to a temporary file beside its target');
    assert.ok(!existsSync(join(cacheDir, 'tiny', 'slow', 'onnx', 'model.onnx')));
    assert.deepEqual(
      tree(cacheDir).filter((f) => f.includes('onnx')),
      [],
      'no temporary file of the graph is left',
    );
    // A cancel flag that is already set stops before any request.
    const n = hub.requests.length;
    await assert.rejects(resolveHubModel('tiny/gpt2', opts(freshCache(), { cancel: { cancelled: true } })), CancelledError);
    assert.equal(hub.requests.length, n);
  });

  test('a download that ends before the announced size is an error and leaves no file', async () => {
    const cacheDir = freshCache();
    const msg = await userError('tiny/truncated', opts(cacheDir));
    const size = gpt2['onnx/model.onnx'].length;
    assert.match(msg, new RegExp(`download of onnx/model\\.onnx of tiny/truncated ended after ${size >> 1} of the ${size} bytes`));
    assert.deepEqual(
      tree(cacheDir).filter((f) => f.includes('onnx')),
      [],
      'neither the graph nor its temporary file is in the cache',
    );
  });

  test("a file whose GET fails after its probe is a UserError with the hub's message", async () => {
    const cacheDir = freshCache();
    const msg = await userError('tiny/failing', opts(cacheDir));
    assert.match(
      msg,
      /^downloading onnx\/model\.onnx of tiny\/failing from http:\S+\/tiny\/failing\/resolve\/main\/onnx\/model\.onnx failed: the storage is down/,
    );
    assert.deepEqual(
      tree(cacheDir).filter((f) => f.includes('onnx')),
      [],
    );
  });

  test('two calls at once into one cache both get the whole model', async () => {
    const cacheDir = freshCache();
    const [a, b] = await Promise.all([resolveHubModel('tiny/llama', opts(cacheDir)), resolveHubModel('tiny/llama', opts(cacheDir))]);
    assert.deepEqual(a, b);
    for (const f of Object.keys(llama).filter((f) => !f.includes('q4'))) assertSameBytes(join(a.folder, f), llama[f]);
    assert.equal(tree(cacheDir).length, a.files.length, 'no temporary file left');
  });

  test('HF_TOKEN goes to huggingface.co only, and must be an hf_ token there', async () => {
    const saved = process.env.HF_TOKEN;
    process.env.HF_TOKEN = 'hf_test';
    try {
      const n = hub.requests.length;
      await resolveHubModel('tiny/gpt2', opts(freshCache()));
      assert.ok(hub.authorization.length > n);
      assert.deepEqual(new Set(hub.authorization.slice(n)), new Set(['']), 'no token sent to another endpoint');
      process.env.HF_TOKEN = 'not-a-token';
      const msg = await userError('tiny/gpt2', { cacheDir: freshCache(), remoteHost: 'https://huggingface.co' });
      assert.match(msg, /HF_TOKEN is not a Hugging Face access token/);
    } finally {
      if (saved === undefined) delete process.env.HF_TOKEN;
      else process.env.HF_TOKEN = saved;
    }
  });

  test('invalid ids are UserErrors', async () => {
    await assert.rejects(resolveHubModel('./x', opts(freshCache())), UserError);
    await assert.rejects(resolveHubModel('a/b@../../etc', opts(freshCache())), UserError);
  });
});

describe('offline from the cache after the hub is gone', () => {
  test('a downloaded model resolves offline without the server; online it is a network error', async () => {
    const hub = await startHub({ 'tiny/llama': { main: llamaRepo() } });
    const cacheDir = freshCache();
    const online = await resolveHubModel('tiny/llama', { cacheDir, remoteHost: hub.url });
    await hub.close();

    const offline = await resolveHubModel('tiny/llama', { cacheDir, remoteHost: hub.url, offline: true });
    assert.deepEqual(offline, online);
    for (const f of offline.files) assert.ok(existsSync(f), f);

    // Online with an empty cache, the first request (config.json) finds no server (a port nothing
    // listens on, so that no pooled connection to the old server is reused).
    const gone = await startHub({});
    await gone.close();
    const msg = await userError('tiny/llama', { cacheDir: freshCache(), remoteHost: gone.url });
    assert.match(msg, /network error downloading config\.json of tiny\/llama/);
    assert.match(msg, /ECONNREFUSED/);
    assert.deepEqual(listHfCache(), hfCacheBefore, `${HF_DEFAULT_CACHE} untouched`);
  });
});

describe('a hub id through the whole engine', () => {
  test('loadModel("owner/name") downloads, instruments and runs the model; offline it runs from the cache', async () => {
    const hub = await startHub({ 'tiny/gpt2': { main: gpt2Repo() } });
    const cacheDir = freshCache();
    const saved = process.env.HF_ENDPOINT;
    process.env.HF_ENDPOINT = hub.url;
    const logs: string[] = [];
    const argmaxAfter = async (offline: boolean) => {
      const { model, tokenizer } = await loadModel({ model: 'tiny/gpt2', cacheDir, offline, threads: 2, log: (m) => logs.push(m) });
      try {
        assert.equal(model.info.name, 'tiny/gpt2');
        assert.equal(tokenizer.decode(tokenizer.encode(' the house')), ' the house', "the repo's tokenizer.json");
        const [row] = (await model.forward({ tokens: [[5, 17, 42, 99, 7]], logits: [{ seq: 0, pos: 4 }] })).logits;
        return row.indexOf(Math.max(...row));
      } finally {
        await model.dispose();
      }
    };
    try {
      assert.equal(await argmaxAfter(false), 401, 'the fixture README records argmax 401 for this prompt');
      assert.ok(
        logs.some((l) => /^hub: onnx\/model\.onnx 0\.6 \/ 0\.6 MB$/.test(l)),
        `download progress is logged: ${logs.join(' | ')}`,
      );
      await hub.close();
      assert.equal(await argmaxAfter(true), 401);
    } finally {
      if (saved === undefined) delete process.env.HF_ENDPOINT;
      else process.env.HF_ENDPOINT = saved;
    }
  });
});
