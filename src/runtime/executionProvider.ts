import * as ort from 'onnxruntime-node';
import type { DeviceSetting } from '../core/modelSettings';

const AUTO_ORDER: Record<string, string[]> = {
  linux: ['cuda', 'webgpu'],
  win32: ['dml', 'webgpu'],
  darwin: ['coreml', 'webgpu'],
};

export interface ProviderChoice {
  session: ort.InferenceSession;
  /** The provider that actually runs. */
  provider: string;
  /** Why each provider tried before it was not used (empty when the first choice worked). */
  fallbacks: string[];
}

/**
 * Creates a session on the requested provider. onnxruntime throws (rather than falling back) when a
 * provider is missing, so each candidate is tried alone and CPU is the explicit last resort.
 */
export async function createSession(model: string | Uint8Array, device: DeviceSetting, options: ort.InferenceSession.SessionOptions): Promise<ProviderChoice> {
  const candidates = device === 'auto' ? [...(AUTO_ORDER[process.platform] ?? []), 'cpu'] : device === 'cpu' ? ['cpu'] : [device, 'cpu'];
  const fallbacks: string[] = [];
  for (const provider of candidates) {
    try {
      const opts = { ...options, executionProviders: [provider] };
      const session = typeof model === 'string' ? await ort.InferenceSession.create(model, opts) : await ort.InferenceSession.create(model, opts);
      return { session, provider, fallbacks };
    } catch (e) {
      if (provider === 'cpu') throw e;
      fallbacks.push(`${provider}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  throw new Error('unreachable: cpu is always the last candidate');
}

/** Session options tuned for this engine: full graph optimisation, one inter-op thread. */
export function sessionOptions(threads?: number): ort.InferenceSession.SessionOptions {
  return {
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    interOpNumThreads: 1,
    ...(threads ? { intraOpNumThreads: threads } : {}),
    logSeverityLevel: 3,
  };
}
