import type { Edit, ForwardRequest, ModelInfo, Site } from '../../core/model';
import type { LoadOptions } from '../loadModel';
import type { TokenizerSource } from '../tokenizer/loadTokenizer';

/** Main thread -> model worker. Every request carries an id that its reply repeats. */
export type WorkerRequest =
  | { id: number; type: 'load'; options: Omit<LoadOptions, 'log' | 'cancel'> }
  | { id: number; type: 'forward'; request: ForwardRequest }
  | { id: number; type: 'startDecoding' }
  | { id: number; type: 'prefill'; session: number; tokens: readonly number[]; edits?: readonly Edit[] }
  | { id: number; type: 'step'; session: number; token: number; edits?: readonly Omit<Edit, 'seq' | 'pos'>[] }
  | { id: number; type: 'endDecoding'; session: number }
  | { id: number; type: 'dispose' };

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

/** Model worker -> main thread: a result, an error (rebuilt as the same class), or a log line. */
export type WorkerReply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: { name: string; message: string; location?: Record<string, unknown> } }
  | { id: -1; log: string };
