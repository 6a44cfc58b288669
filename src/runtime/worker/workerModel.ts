import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { UserError } from '../../core/errors';
import {
  LayerTaps,
  type DecodeSession,
  type Edit,
  type ForwardRequest,
  type ForwardResult,
  type ModelInfo,
  type StepEdit,
  type SteerableModel,
} from '../../core/model';
import type { LoadedModel, LoadOptions } from '../loadModel';
import { loadTokenizer } from '../tokenizer/loadTokenizer';
import { fromWireError, type Call, type Params, type Reply, type WorkerMessage, type WorkerRequest } from './messages';

export interface WorkerOptions {
  /** Called once if the worker dies (killed, out of memory, a crash in native code) while the model is in use. */
  onExit?: (error: UserError) => void;
  workerFile?: string;
}

/**
 * A SteerableModel whose ONNX Runtime sessions run in a worker thread (dist/modelWorker.js), so
 * that forward passes never block the caller's event loop. The tokenizer stays on the caller's
 * thread: prompts are built there. If the worker dies, its pending and later calls fail with a
 * UserError that says so (never hang), and `onExit` lets the owner load a new one.
 */
export async function loadModelInWorker(options: LoadOptions, worker: WorkerOptions = {}): Promise<LoadedModel> {
  const file = worker.workerFile ?? join(__dirname, 'modelWorker.js');
  const channel = new WorkerChannel(new Worker(file), options.log ?? (() => {}), worker.onExit);
  try {
    // A cancellation flag cannot cross to the worker live (a message is a copy): a load there runs to its end.
    const { log: _log, cancel: _cancel, ...rest } = options;
    const reply = await channel.call('load', { options: rest });
    const tokenizer = await loadTokenizer(reply.tokenizerSource);
    const model = new WorkerModel(channel, reply.info, reply.executionProvider);
    return { model, tokenizer, fallbacks: reply.fallbacks, checkpoint: reply.checkpoint, tokenizerSource: reply.tokenizerSource };
  } catch (e) {
    await channel.terminate();
    throw e;
  }
}

class WorkerChannel {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (value: Reply<Call>) => void; reject: (e: Error) => void }>();
  /** Why the worker is gone: every later call fails with it at once. */
  private gone: UserError | undefined;
  private terminating = false;

  constructor(
    private readonly worker: Worker,
    log: (line: string) => void,
    private readonly onExit?: (error: UserError) => void,
  ) {
    worker.on('message', (msg: WorkerMessage) => {
      if ('log' in msg) return log(msg.log);
      const p = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      if (msg.ok) p?.resolve(msg.value);
      else p?.reject(fromWireError(msg.error));
    });
    worker.on('error', (e) => this.stop(`failed (${e.message})`));
    worker.on('exit', (code) => this.stop(`exited with code ${code}`));
  }

  call<K extends Call>(type: K, params: Params<K>): Promise<Reply<K>> {
    if (this.gone) return Promise.reject(this.gone);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      // The worker answers id with handlers[type]'s reply (WorkerCalls types both sides): the one place a reply is typed.
      this.pending.set(id, { resolve: resolve as (value: Reply<Call>) => void, reject });
      this.worker.postMessage({ id, type, params } satisfies WorkerRequest<K>);
    });
  }

  private stop(how: string): void {
    if (!this.gone) {
      this.gone = new UserError(
        this.terminating
          ? 'the model was disposed'
          : `the model worker ${how}: it was killed, ran out of memory or crashed; the run stopped and the next one loads the model again`,
      );
      if (!this.terminating) this.onExit?.(this.gone);
    }
    for (const p of this.pending.values()) p.reject(this.gone);
    this.pending.clear();
  }

  async terminate(): Promise<void> {
    this.terminating = true;
    await this.worker.terminate();
  }
}

class WorkerModel implements SteerableModel {
  constructor(
    private readonly channel: WorkerChannel,
    readonly info: ModelInfo,
    readonly executionProvider: string,
  ) {}

  async forward(request: ForwardRequest): Promise<ForwardResult> {
    const r = await this.channel.call('forward', { request });
    return {
      logits: r.logits,
      taps: Object.fromEntries(Object.entries(r.taps).map(([site, t]) => [site, new LayerTaps(t.data, t.layers, t.positions, t.width)])),
    };
  }

  async startDecoding(): Promise<DecodeSession> {
    const { session } = await this.channel.call('startDecoding', {});
    const channel = this.channel;
    let length = 0;
    return {
      get length() {
        return length;
      },
      async prefill(tokens: readonly number[], edits?: readonly Edit[]) {
        const logits = await channel.call('prefill', { session, tokens, edits });
        length = tokens.length;
        return logits;
      },
      async step(token: number, edits?: readonly StepEdit[]) {
        const logits = await channel.call('step', { session, token, edits });
        length++;
        return logits;
      },
      dispose() {
        void channel.call('endDecoding', { session });
      },
    };
  }

  async dispose(): Promise<void> {
    await this.channel.call('dispose', {}).catch(() => undefined);
    await this.channel.terminate();
  }
}
