import { CancelledError, UserError, type Location } from '../../core/errors';
import type { Edit, ForwardRequest, ModelInfo, Site, StepEdit } from '../../core/model';
import type { LoadOptions } from '../loadModel';
import type { TokenizerSource } from '../tokenizer/loadTokenizer';

export interface LoadedReply {
  info: ModelInfo;
  executionProvider: string;
  fallbacks: string[];
  checkpoint?: string;
  tokenizerSource: TokenizerSource;
}

export interface ForwardReply {
  logits: Float32Array[];
  taps: Partial<Record<Site, { data: Float32Array; layers: number; positions: number; width: number }>>;
}

type None = Record<string, never>;

/** Every call the model worker answers: its parameters and its reply, declared once for both sides. */
export interface WorkerCalls {
  load: { params: { options: Omit<LoadOptions, 'log' | 'cancel'> }; reply: LoadedReply };
  forward: { params: { request: ForwardRequest }; reply: ForwardReply };
  startDecoding: { params: None; reply: { session: number } };
  prefill: { params: { session: number; tokens: readonly number[]; edits?: readonly Edit[] }; reply: Float32Array };
  step: { params: { session: number; token: number; edits?: readonly StepEdit[] }; reply: Float32Array };
  endDecoding: { params: { session: number }; reply: null };
  dispose: { params: None; reply: null };
}

export type Call = keyof WorkerCalls;
export type Params<K extends Call> = WorkerCalls[K]['params'];
export type Reply<K extends Call> = WorkerCalls[K]['reply'];

/** Main thread -> model worker: a call with an id that its answer repeats. */
export type WorkerRequest<K extends Call = Call> = { [P in K]: { id: number; type: P; params: Params<P> } }[K];

/** An error as a value that survives structured cloning (class and location would not). */
export interface WireError {
  kind: 'user' | 'cancelled' | 'internal';
  message: string;
  location?: Location;
  stack?: string;
}

/** Model worker -> main thread: a reply, an error, or a log line. */
export type WorkerMessage = { id: number; ok: true; value: Reply<Call> } | { id: number; ok: false; error: WireError } | { log: string };

export function toWireError(e: unknown): WireError {
  if (e instanceof UserError) return { kind: 'user', message: e.message, location: { ...e.location }, stack: e.stack };
  if (e instanceof CancelledError) return { kind: 'cancelled', message: e.message };
  return e instanceof Error ? { kind: 'internal', message: e.message, stack: e.stack } : { kind: 'internal', message: String(e) };
}

/** The error a WireError stands for, as the class the worker threw (its message already names the location). */
export function fromWireError(w: WireError): Error {
  if (w.kind === 'cancelled') return new CancelledError();
  const e = w.kind === 'user' ? Object.assign(new UserError(w.message), { location: w.location ?? {} }) : new Error(w.message);
  if (w.stack) e.stack = w.stack;
  return e;
}
