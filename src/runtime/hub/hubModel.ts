import type * as ort from 'onnxruntime-node';
import { UserError } from '../../core/errors';
import {
  LayerTaps,
  SITES,
  type Site,
  type DecodeSession,
  type Edit,
  type ForwardRequest,
  type ForwardResult,
  type ModelInfo,
  type StepEdit,
  type SteerableModel,
} from '../../core/model';
import { editFeeds, indexTensor, packTokens } from '../forwardFeeds';
import { validateRequest, validateStep } from '../requestValidation';
import type { DecoderIO, PastState } from './decoderIO';
import { IV, type InstrumentManifest } from './instrument';

/**
 * SteerableModel on one session of an instrumented exported decoder: the same graph serves batched
 * forward passes and generation, which feeds the export's own KV cache outputs back as inputs.
 */
export class HubSteerableModel implements SteerableModel {
  constructor(
    readonly info: ModelInfo,
    readonly executionProvider: string,
    private readonly session: ort.InferenceSession,
    /** How the export is fed (also what a plain loop over the export needs: benchmarks). */
    readonly io: DecoderIO,
    private readonly manifest: InstrumentManifest,
    /** The export's graph file, as published. */
    readonly sourceFile: string,
  ) {}

  /** The sites this graph can edit and tap at every layer. */
  get sites(): Site[] {
    return [...this.manifest.sites];
  }

  async forward(req: ForwardRequest): Promise<ForwardResult> {
    validateRequest(req, this.info);
    return (await this.run(req)).result;
  }

  /** One call of the graph after `past` (a fresh batch when absent); `keepCache` also returns the cache to continue from. */
  async run(req: ForwardRequest, past?: PastState, keepCache = false): Promise<{ result: ForwardResult; past?: PastState }> {
    const d = this.info.dModel;
    const taps = req.taps ?? [];
    const sites = taps.length ? (req.tapSites ?? []) : [];
    this.checkSites(req, sites);
    const { ids, length } = packTokens(req.tokens);
    const feeds: Record<string, ort.Tensor> = {
      ...this.io.feeds(ids.data as BigInt64Array, req.tokens.length, length, past),
      [IV.tapIndex]: indexTensor(taps, length),
      [IV.logitIndex]: indexTensor(req.logits ?? [], length),
      ...editFeeds(req.edits, this.manifest.sites, IV.site, length, d),
    };
    const fetches = [IV.logits, ...sites.map((s) => IV.site(s).taps), ...(keepCache ? this.io.presents : [])];
    const outputs = await this.session.run(feeds, fetches);
    const V = this.info.vocabSize;
    const logitData = outputs[IV.logits].data as Float32Array;
    const result: ForwardResult = {
      logits: (req.logits ?? []).map((_, i) => logitData.slice(i * V, (i + 1) * V)),
      taps: Object.fromEntries(
        SITES.filter((s) => sites.includes(s)).map((s) => [s, new LayerTaps(outputs[IV.site(s).taps].data as Float32Array, this.info.nLayers, taps.length, d)]),
      ),
    };
    return { result, past: keepCache ? this.io.nextPast(outputs, (past?.length ?? 0) + length) : undefined };
  }

  private checkSites(req: ForwardRequest, tapSites: readonly Site[]): void {
    const need = [...tapSites, ...(req.edits ?? []).map((e) => e.site)];
    const absent = [...new Set(need.filter((site) => !this.manifest.sites.includes(site)))];
    if (absent.length) {
      throw new UserError(
        `${this.info.name}: the ${absent.join(' and ')} site(s) were not found in every layer of this graph, so they cannot be edited or read (found: ${this.manifest.sites.join(', ')})`,
      );
    }
  }

  async startDecoding(): Promise<DecodeSession> {
    return new HubDecodeSession(this);
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

/** Generation with the export's KV cache: each call's present outputs become the next call's past inputs. */
class HubDecodeSession implements DecodeSession {
  private past?: PastState;

  constructor(private readonly model: HubSteerableModel) {}

  get length(): number {
    return this.past?.length ?? 0;
  }

  async prefill(tokens: readonly number[], edits: readonly Edit[] = []): Promise<Float32Array> {
    if (this.past) throw new Error('prefill: this decode session already holds a prompt');
    const req = { tokens: [tokens], edits, logits: [{ seq: 0, pos: tokens.length - 1 }] };
    validateRequest(req, this.model.info, 'prefill');
    const { result, past } = await this.model.run(req, undefined, true);
    this.past = past;
    return result.logits[0];
  }

  async step(token: number, edits: readonly StepEdit[] = []): Promise<Float32Array> {
    const { maxSeqLen, name } = this.model.info;
    if (!this.past) throw new Error('step: call prefill first');
    if (this.past.length >= maxSeqLen) throw new UserError(`generation reached ${name}'s context of ${maxSeqLen} tokens`);
    validateStep(token, edits, this.model.info);
    const req = { tokens: [[token]], edits: edits.map((e) => ({ ...e, seq: 0, pos: 0 })), logits: [{ seq: 0, pos: 0 }] };
    const { result, past } = await this.model.run(req, this.past, true);
    this.past = past;
    return result.logits[0];
  }

  dispose(): void {
    this.past = undefined;
  }
}
