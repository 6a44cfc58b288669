// The model worker: onnxruntime-node runs a session synchronously on the calling thread, so a
// host that must stay responsive (the VS Code extension host) runs the model here instead.
import { parentPort } from 'node:worker_threads';
import type { DecodeSession } from '../../core/model';
import { loadModel, type LoadedModel } from '../loadModel';
import { toWireError, type Call, type Params, type Reply, type WorkerMessage, type WorkerRequest } from './messages';

const port = parentPort!;
let loaded: LoadedModel | undefined;
const sessions = new Map<number, DecodeSession>();
let nextSession = 1;

function model() {
  if (!loaded) throw new Error('the model worker has no model loaded');
  return loaded.model;
}

function session(id: number): DecodeSession {
  const s = sessions.get(id);
  if (!s) throw new Error(`no decoding session ${id}`);
  return s;
}

/** A reply and the buffers to move (not copy) to the main thread; each is owned by the reply alone. */
type Answer<T> = { value: T; transfer?: ArrayBuffer[] };
const logits = (value: Float32Array): Answer<Float32Array> => ({ value, transfer: [value.buffer as ArrayBuffer] });

const handlers: { [K in Call]: (params: Params<K>) => Promise<Answer<Reply<K>>> } = {
  async load({ options }) {
    loaded = await loadModel({ ...options, log: (line) => port.postMessage({ log: line } satisfies WorkerMessage) });
    const { model: m, fallbacks, checkpoint, tokenizerSource } = loaded;
    return { value: { info: m.info, executionProvider: m.executionProvider, fallbacks, checkpoint, tokenizerSource } };
  },
  async forward({ request }) {
    const r = await model().forward(request);
    const taps = Object.fromEntries(
      Object.entries(r.taps).map(([site, t]) => [site, { data: t.data, layers: t.layers, positions: t.positions, width: t.width }]),
    );
    return {
      value: { logits: r.logits, taps },
      transfer: [...r.logits.map((l) => l.buffer as ArrayBuffer), ...Object.values(r.taps).map((t) => t.data.buffer as ArrayBuffer)],
    };
  },
  async startDecoding() {
    const id = nextSession++;
    sessions.set(id, await model().startDecoding());
    return { value: { session: id } };
  },
  prefill: async ({ session: id, tokens, edits }) => logits(await session(id).prefill(tokens, edits)),
  step: async ({ session: id, token, edits }) => logits(await session(id).step(token, edits)),
  async endDecoding({ session: id }) {
    sessions.get(id)?.dispose();
    sessions.delete(id);
    return { value: null };
  },
  async dispose() {
    await loaded?.model.dispose();
    loaded = undefined;
    return { value: null };
  },
};

/** Runs one request through its handler (generic in K so that the handler and its params match). */
function handle<K extends Call>(msg: WorkerRequest<K>): Promise<Answer<Reply<K>>> {
  return handlers[msg.type](msg.params);
}

port.on('message', (msg: WorkerRequest) => {
  handle(msg).then(
    ({ value, transfer }) => port.postMessage({ id: msg.id, ok: true, value } satisfies WorkerMessage, transfer),
    (e: unknown) => port.postMessage({ id: msg.id, ok: false, error: toWireError(e) } satisfies WorkerMessage),
  );
});
