// The model worker: onnxruntime-node runs a session synchronously on the calling thread, so a
// host that must stay responsive (the VS Code extension host) runs the model here instead.
import { parentPort } from 'node:worker_threads';
import type { DecodeSession } from '../../core/model';
import { UserError } from '../../core/errors';
import { loadModel, type LoadedModel } from '../loadModel';
import type { ForwardReply, LoadedReply, WorkerReply, WorkerRequest } from './messages';

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

async function handle(msg: WorkerRequest): Promise<{ value: unknown; transfer: ArrayBuffer[] }> {
  switch (msg.type) {
    case 'load': {
      loaded = await loadModel({ ...msg.options, log: (line) => port.postMessage({ id: -1, log: line } satisfies WorkerReply) });
      const value: LoadedReply = { info: loaded.model.info, executionProvider: loaded.model.executionProvider, fallbacks: loaded.fallbacks, checkpoint: loaded.checkpoint, tokenizerSource: loaded.tokenizerSource };
      return { value, transfer: [] };
    }
    case 'forward': {
      const r = await model().forward(msg.request);
      const value: ForwardReply = { logits: r.logits, taps: Object.fromEntries(Object.entries(r.taps).map(([site, t]) => [site, { data: t.data, layers: t.layers, positions: t.positions, width: t.width }])) };
      return { value, transfer: [...r.logits.map((l) => l.buffer as ArrayBuffer), ...Object.values(r.taps).map((t) => t.data.buffer as ArrayBuffer)] };
    }
    case 'startDecoding': {
      const id = nextSession++;
      sessions.set(id, await model().startDecoding());
      return { value: id, transfer: [] };
    }
    case 'prefill': {
      const logits = await session(msg.session).prefill(msg.tokens, msg.edits);
      return { value: logits, transfer: [logits.buffer as ArrayBuffer] };
    }
    case 'step': {
      const logits = await session(msg.session).step(msg.token, msg.edits);
      return { value: logits, transfer: [logits.buffer as ArrayBuffer] };
    }
    case 'endDecoding':
      sessions.get(msg.session)?.dispose();
      sessions.delete(msg.session);
      return { value: null, transfer: [] };
    case 'dispose':
      await loaded?.model.dispose();
      loaded = undefined;
      return { value: null, transfer: [] };
  }
}

port.on('message', (msg: WorkerRequest) => {
  handle(msg).then(
    ({ value, transfer }) => port.postMessage({ id: msg.id, ok: true, value } satisfies WorkerReply, transfer),
    (e: Error) => port.postMessage({ id: msg.id, ok: false, error: { name: e.name, message: e.message, location: e instanceof UserError ? { ...e.location } : undefined } } satisfies WorkerReply),
  );
});
