/**
 * Somewhere else to run code that may loop synchronously (third-party readers such as hyparquet) or crash
 * natively (ONNX Runtime on a malformed graph): no timer fires during such a loop on the thread that runs
 * it, and a segmentation fault ends the whole process. The sandbox sends each call to a worker thread or, with
 * `process: true`, to a child process (which a native crash or an out-of-memory abort cannot take down with
 * it); when no answer comes within the limit, it stops the worker, starts a new one for the next call and
 * reports a hang; when the worker dies, it reports how. Errors come back as the class they were thrown as
 * (UserError with its location, or an Error with its name, message and stack).
 *
 * `module` exports `handlers`: functions of one structured-clonable argument, returning a structured-clonable value.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { UserError, type Location } from '../../src/core/errors';
import { FuzzFailure, type FailureKind } from './property';

interface Answer {
  id: number;
  ok: boolean;
  value?: unknown;
  error?: {
    userError: boolean;
    name: string;
    message: string;
    stack?: string;
    location?: Location;
    /** A FuzzFailure the worker's own checks threw (its kind, and the error it was about). */
    fuzz?: { kind: FailureKind; detail: string; inner?: { name: string; message: string; stack?: string } };
  };
  memory: number;
}

/** The worker's side; `post` and `receive` are the thread's or the process's message port. */
const WORKER = (module: string, thread: boolean) => `
${thread ? "const { parentPort } = require('node:worker_threads'); require('tsx/cjs/api').register();" : ''}
const post = ${thread ? '(m) => parentPort.postMessage(m)' : '(m) => process.send(m)'};
const receive = ${thread ? "(f) => parentPort.on('message', f)" : "(f) => process.on('message', f)"};
const { handlers } = require(${JSON.stringify(module)});
const memory = () => { const m = process.memoryUsage(); return m.heapUsed + m.arrayBuffers; };
receive(async ({ id, name, arg }) => {
  const before = memory();
  try {
    const value = await handlers[name](arg);
    post({ id, ok: true, value, memory: memory() - before });
  } catch (e) {
    const inner = e && e.name === 'FuzzFailure' && e.error instanceof Error ? { name: e.error.name, message: e.error.message, stack: e.error.stack } : undefined;
    const fuzz = e && e.name === 'FuzzFailure' ? { kind: e.kind, detail: e.detail, inner } : undefined;
    const error = { userError: e && e.name === 'UserError' && typeof e.location === 'object', name: e && e.name, message: e && e.message !== undefined ? e.message : String(e), stack: e && e.stack, location: e && e.location, fuzz };
    post({ id, ok: false, error, memory: memory() - before });
  }
});
`;

interface Running {
  send(message: unknown): void;
  stop(): Promise<void>;
  pending: Map<number, { resolve: (a: Answer) => void; reject: (e: unknown) => void }>;
}

export interface SandboxOptions {
  /** A child process instead of a worker thread: survives native crashes (slower to start, about 0.5 s). */
  process?: boolean;
  /** The worker's JavaScript heap limit. */
  memoryLimitMb?: number;
}

export class Sandbox {
  private running: Running | undefined;
  private nextId = 1;

  constructor(
    private readonly module: string,
    private readonly options: SandboxOptions = {},
  ) {}

  private start(): Running {
    const limit = this.options.memoryLimitMb ?? 1024;
    const pending: Running['pending'] = new Map();
    const answer = (a: Answer) => {
      pending.get(a.id)?.resolve(a);
      pending.delete(a.id);
    };
    let running: Running;
    const fail = (why: FuzzFailure) => {
      for (const p of pending.values()) p.reject(why);
      pending.clear();
      if (this.running === running) this.running = undefined;
    };
    if (this.options.process) {
      const child: ChildProcess = spawn(process.execPath, [`--max-old-space-size=${limit}`, '--import', 'tsx', '-e', WORKER(this.module, false)], {
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
        serialization: 'advanced',
      });
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
      child.on('message', answer);
      child.on('exit', (code, signal) => {
        const why = signal ? `was killed by ${signal}` : `exited with code ${code}`;
        const kind = /heap out of memory|Allocation failed/i.test(stderr) ? 'memory' : 'crash';
        const tail = stderr
          .split('\n')
          .filter((l) => !/^\s*\d+: 0x|onnxruntime:/.test(l) && l.trim() !== '')
          .slice(-6)
          .join('\n');
        fail(new FuzzFailure(kind, `the sandbox process ${why}${tail ? `:\n${tail}` : ''}`));
      });
      child.unref();
      (child.channel as { unref?: () => void } | undefined)?.unref?.();
      running = {
        send: (m) => child.send(m as never),
        stop: async () => {
          child.kill('SIGKILL');
        },
        pending,
      };
    } else {
      const worker = new Worker(WORKER(this.module, true), { eval: true, resourceLimits: { maxOldGenerationSizeMb: limit } });
      worker.on('message', answer);
      worker.on('error', (e) => fail(new FuzzFailure(/memory|heap/i.test(String(e)) ? 'memory' : 'crash', `the sandbox worker died: ${String(e)}`, e)));
      worker.on('exit', (code) => fail(new FuzzFailure('crash', `the sandbox worker exited with code ${code}`)));
      worker.unref();
      running = { send: (m) => worker.postMessage(m), stop: () => worker.terminate().then(() => undefined), pending };
    }
    return running;
  }

  /** `handlers[name](arg)` in the worker: its value, or its error as thrown; a FuzzFailure after `timeoutMs` (the worker is then replaced). */
  async call<T>(name: string, arg: unknown, timeoutMs: number): Promise<T> {
    const running = (this.running ??= this.start());
    const id = this.nextId++;
    let timer: NodeJS.Timeout | undefined;
    const answer = await new Promise<Answer>((resolve, reject) => {
      running.pending.set(id, { resolve, reject });
      timer = setTimeout(() => {
        running.pending.delete(id);
        if (this.running === running) this.running = undefined;
        void running.stop();
        reject(new FuzzFailure('hang', `${name} did not return within ${timeoutMs} ms (a synchronous loop: the worker was stopped)`));
      }, timeoutMs);
      running.send({ id, name, arg });
    }).finally(() => clearTimeout(timer));
    if (answer.memory > 256 * 2 ** 20) throw new FuzzFailure('memory', `${name} grew the heap by ${(answer.memory / 2 ** 20).toFixed(0)} MB`);
    if (answer.ok) return answer.value as T;
    const e = answer.error!;
    if (e.fuzz) {
      const inner = e.fuzz.inner && Object.assign(new Error(e.fuzz.inner.message), { name: e.fuzz.inner.name, stack: e.fuzz.inner.stack });
      throw new FuzzFailure(e.fuzz.kind, e.fuzz.detail, inner);
    }
    if (e.userError) {
      const u = new UserError('');
      Object.defineProperty(u, 'message', { value: e.message });
      Object.defineProperty(u, 'location', { value: e.location ?? {} });
      if (e.stack) u.stack = e.stack;
      throw u;
    }
    const err = new Error(e.message);
    err.name = e.name;
    if (e.stack) err.stack = e.stack;
    throw err;
  }

  async close(): Promise<void> {
    const running = this.running;
    this.running = undefined;
    await running?.stop();
  }
}
