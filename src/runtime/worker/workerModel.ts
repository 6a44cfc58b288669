import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { UserError } from '../../core/errors';
import { LayerTaps, type DecodeSession, type Edit, type ForwardRequest, type ForwardResult, type ModelInfo, type SteerableModel } from '../../core/model';
import type { LoadedModel, LoadOptions } from '../loadModel';
import { loadTokenizer } from '../tokenizer/loadTokenizer';
import type { ForwardReply, LoadedReply, WorkerReply, WorkerRequest } from './messages';

type Body<T> = T extends unknown ? Omit<T, 'id'> : never;

/**
 * A SteerableModel whose ONNX Runtime sessions run in a worker thread (dist/modelWorker.js), so
 * that forward passes never block the caller's event loop. The tokenizer stays on the caller's
 * thread: prompts are built there.
 */
export async function loadModelInWorker(options: LoadOptions, workerFile = join(__dirname, 'modelWorker.js')): Promise<LoadedModel> {
  const channel = new WorkerChannel(new Worker(workerFile), options.log ?? (() => {}));
  try {
    // A cancellation flag cannot cross to the worker live (a message is a copy): a load there runs to its end.
    const { log: _log, cancel: _cancel, ...rest } = options;
    const reply = (await channel.call({ type: 'load', options: rest })) as LoadedReply;
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
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  constructor(
    private readonly worker: Worker,
    log: (line: string) => void,
  ) {
    worker.on('message', (reply: WorkerReply) => {
      if ('log' in reply) return log(reply.log);
      const p = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (!p) return;
      if (reply.ok) p.resolve(reply.value);
      else if (!reply.ok) p.reject(reply.error.name === 'UserError' ? Object.assign(new UserError(''), { message: reply.error.message, location: reply.error.location ?? {} }) : Object.assign(new Error(reply.error.message), { name: reply.error.name }));
    });
    worker.on('error', (e) => this.failAll(e));
    worker.on('exit', (code) => this.failAll(new Error(`the model worker exited (code ${code})`)));
  }

  call(body: Body<WorkerRequest>): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...body, id });
    });
  }

  private failAll(e: Error): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  async terminate(): Promise<void> {
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
    const r = (await this.channel.call({ type: 'forward', request })) as ForwardReply;
    return { logits: r.logits, taps: Object.fromEntries(Object.entries(r.taps).map(([site, t]) => [site, new LayerTaps(t!.data, t!.layers, t!.positions, t!.width)])) };
  }

  async startDecoding(): Promise<DecodeSession> {
    const session = (await this.channel.call({ type: 'startDecoding' })) as number;
    const channel = this.channel;
    let length = 0;
    return {
      get length() {
        return length;
      },
      async prefill(tokens: readonly number[], edits?: readonly Edit[]) {
        const logits = (await channel.call({ type: 'prefill', session, tokens, edits })) as Float32Array;
        length = tokens.length;
        return logits;
      },
      async step(token: number, edits?: readonly Omit<Edit, 'seq' | 'pos'>[]) {
        const logits = (await channel.call({ type: 'step', session, token, edits })) as Float32Array;
        length++;
        return logits;
      },
      dispose() {
        void channel.call({ type: 'endDecoding', session });
      },
    };
  }

  async dispose(): Promise<void> {
    await this.channel.call({ type: 'dispose' }).catch(() => undefined);
    await this.channel.terminate();
  }
}
