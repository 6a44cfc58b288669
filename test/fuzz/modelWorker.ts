/**
 * The model loaders and tokenizers, for the sandbox worker (see sandbox.ts): graph walks, protobuf, ONNX
 * Runtime, @huggingface/tokenizers and the tar reader run here, where a loop can be stopped. Each handler
 * loads, then uses what it loaded the way a run does (a forward pass with an edit and a tap, a few decoding
 * steps, encoding and decoding text), and returns a summary. A UserError while loading is thrown as is; a
 * UserError while using is counted; anything else is thrown.
 */
import { UserError } from '../../src/core/errors';
import type { SteerableModel } from '../../src/core/model';
import { carveEmbedded } from '../../src/runtime/embedded/embeddedModel';
import { extractFromTgz } from '../../src/runtime/embedded/tarball';
import { inspectModel } from '../../src/runtime/hub/inspect';
import { loadHubModel } from '../../src/runtime/hub/loadHubModel';
import { loadModel } from '../../src/runtime/loadModel';
import { HubTokenizer, loadHubTokenizer } from '../../src/runtime/tokenizer/hubTokenizer';
import { LlamaTokenizer } from '../../src/runtime/tokenizer/tokenizer';
import { tokenizerJsonFromLlama2cBin } from '../../src/runtime/tokenizer/tokenizerJson';
import type { Tokenizer } from '../../src/core/model';

export interface Use {
  calls: number;
  userErrors: number;
  /** The first UserError's message, for the report. */
  first?: string;
}

/** A UserError is counted; anything else escapes (the property reports it). */
async function counted(use: Use, fn: () => unknown): Promise<unknown> {
  use.calls++;
  try {
    return await fn();
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    use.userErrors++;
    use.first ??= e.message;
    return undefined;
  }
}

function broken(what: string): never {
  throw new Error(`invariant: ${what}`);
}

/** One forward pass (an edit at layer 0, a tap, the last position's logits) and two decoding steps. */
async function run(model: SteerableModel, use: Use): Promise<Record<string, unknown>> {
  const info = model.info;
  const len = Math.max(1, Math.min(3, info.maxSeqLen));
  const tokens = Array.from({ length: len }, (_, i) => (i + 1) % info.vocabSize);
  const out: Record<string, unknown> = { info };
  const r = (await counted(use, () =>
    model.forward({
      tokens: [tokens],
      logits: [{ seq: 0, pos: len - 1 }],
      taps: [{ seq: 0, pos: 0 }],
      tapSites: ['attn_out'],
      edits: info.nLayers > 0 ? [{ site: 'attn_out', layer: 0, seq: 0, pos: 0, vector: new Float32Array(info.dModel).fill(0.25) }] : [],
    }),
  )) as Awaited<ReturnType<SteerableModel['forward']>> | undefined;
  if (r) {
    const logits = r.logits[0];
    if (logits.length !== info.vocabSize) broken(`the logits have ${logits.length} entries but the model info says ${info.vocabSize} tokens`);
    out.finite = logits.every(Number.isFinite);
    const taps = r.taps.attn_out;
    if (taps && taps.width !== info.dModel) broken(`the taps have width ${taps.width} but d_model is ${info.dModel}`);
  }
  await counted(use, async () => {
    const s = await model.startDecoding();
    try {
      const first = await s.prefill(tokens.slice(0, 1));
      if (first.length !== info.vocabSize) broken(`prefill gave ${first.length} logits for ${info.vocabSize} tokens`);
      if (info.maxSeqLen > 1) await s.step(tokens[tokens.length - 1]);
    } finally {
      s.dispose();
    }
  });
  return out;
}

export interface TokenizerInputs {
  texts: string[];
  ids: number[];
}

/** Encoding (with and without BOS and the dummy prefix), decoding, token texts and streaming. */
async function exercise(
  tok: Tokenizer & { streamDecoder?: (prev?: number) => { push(id: number): string; flush(): string } },
  inputs: TokenizerInputs,
  use: Use,
): Promise<void> {
  const n = tok.vocabSize;
  for (const text of inputs.texts) {
    for (const bos of [false, true]) {
      for (const prefixSpace of [true, false]) {
        const ids = (await counted(use, () => tok.encode(text, { bos, prefixSpace }))) as number[] | undefined;
        if (ids && !ids.every((id) => Number.isInteger(id) && id >= 0 && id < n)) broken(`encode gave ids outside 0..${n - 1}: ${ids.slice(0, 10).join(',')}`);
        if (ids && ids.length) await counted(use, () => tok.decode(ids));
      }
    }
  }
  const ids = inputs.ids.map((i) => i % n);
  await counted(use, () => tok.decode(ids));
  for (const id of ids) await counted(use, () => tok.tokenText(id));
  if (tok.streamDecoder) {
    await counted(use, () => {
      const s = tok.streamDecoder!(ids[0]);
      for (const id of ids.slice(1)) s.push(id);
      s.flush();
    });
  }
}

export const handlers = {
  async folder({ path, cacheDir }: { path: string; cacheDir: string }) {
    const use: Use = { calls: 0, userErrors: 0 };
    const { model } = await loadHubModel({ path, cacheDir, device: 'cpu', threads: 1, log: () => {} });
    try {
      return { ...(await run(model, use)), use };
    } finally {
      await model.dispose();
    }
  },
  inspect: ({ path, site }: { path: string; site?: string }) => {
    const r = inspectModel(path, { site });
    return { layers: r.layers, sites: r.sites.length, architecture: r.architecture };
  },
  async llama2c({ path, cacheDir }: { path: string; cacheDir: string }) {
    const use: Use = { calls: 0, userErrors: 0 };
    const { model } = await loadModel({ model: path, cacheDir, threads: 1 });
    try {
      return { ...(await run(model, use)), use };
    } finally {
      await model.dispose();
    }
  },
  async tokenizerText({ text, file, inputs }: { text: string; file: string; inputs: TokenizerInputs }) {
    const use: Use = { calls: 0, userErrors: 0 };
    const tok = HubTokenizer.fromJsonText(text, { file });
    await exercise(tok, inputs, use);
    return { vocabSize: tok.vocabSize, use };
  },
  async tokenizerFolder({ folder, inputs }: { folder: string; inputs: TokenizerInputs }) {
    const use: Use = { calls: 0, userErrors: 0 };
    const tok = await loadHubTokenizer(folder);
    await exercise(tok, inputs, use);
    return { vocabSize: tok.vocabSize, bos: tok.bosId, eos: tok.eosId, use };
  },
  async llamaBin({ bytes, file, inputs }: { bytes: Uint8Array; file: string; inputs: TokenizerInputs }) {
    const use: Use = { calls: 0, userErrors: 0 };
    const json = tokenizerJsonFromLlama2cBin(bytes, file);
    const tok = LlamaTokenizer.fromJsonText(JSON.stringify(json));
    await exercise(tok, inputs, use);
    return { vocabSize: tok.vocabSize, use };
  },
  tarball: ({ tgz, wanted }: { tgz: Uint8Array; wanted: string[] }) => [...extractFromTgz(tgz, wanted)].map(([k, v]) => [k, v.length]),
  carve: ({ tgz }: { tgz: Uint8Array }) => {
    const { model, tokenizer } = carveEmbedded(tgz);
    return { model: model.length, tokenizer: tokenizer.length };
  },
};
