/**
 * Everything that reads a decoded vector artifact (views, rows, the GGUF export and its reader, recipes,
 * the options it seeds, the model check, the layer panel's messages), and a sandbox handler that decodes
 * an artifact and uses it: an artifact may claim sizes (a billion layers) whose use aborts the process,
 * so the fuzz properties run this in a child process (see sandbox.ts).
 */
import fc from 'fast-check';
import { UserError } from '../../src/core/errors';
import type { ModelInfo } from '../../src/core/model';
import {
  checkModelMatch,
  controlVectorFromArtifact,
  decodeArtifact,
  encodeArtifactFiles,
  layerNorms,
  rowCosines,
  tensorsSha256,
  CONTROL_VECTOR_PLACEMENTS,
  type VectorArtifact,
} from '../../src/core/vectors';
import { resolveRow, rowChoices } from '../../src/core/vectors/rows';
import { artifactDefaults, artifactPromptOptions } from '../../src/core/experiment/artifacts';
import { recipeOf } from '../../src/core/experiment/recipe';
import { checkOptions, extractRequestOf, optionsFromArtifact, resolveOptions, METHOD_OF_ARTIFACT } from '../../src/core/experiment/spec';
import type { RowOption } from '../../src/core/experiment/spec/parse';
import { convergencePoints, vectorNorms } from '../../src/core/experiment/layerEffects';
import { updateMessage } from '../../src/host/panel/wire';
import { decodeGguf } from '../unit/ggufReader';
import { weirdString, word } from './arbitraries';
import { invariant, noThrow, userErrorOrSuccess, type Expect } from './property';

export const rowOption: fc.Arbitrary<RowOption | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.constant('query' as const),
  fc.oneof(fc.nat(5), fc.constantFrom(2 ** 31, 2 ** 53 + 2)),
  fc.oneof(word, weirdString, fc.constantFrom('negative', 'positive', 'a', 'x', 'only')),
  fc.record({
    positive: fc.oneof(fc.nat(4), fc.constantFrom('negative', 'positive', 'a', 'b')),
    negative: fc.oneof(fc.nat(4), fc.constantFrom('negative', 'positive', 'b', 'c')),
  }),
);

export const exportOptions = fc.record({
  row: rowOption,
  scale: fc.oneof(fc.constantFrom(1, -1, 0, 0.5, 1e6, -1e6), fc.double({ min: -1e6, max: 1e6, noNaN: true })),
  placement: fc.constantFrom(...CONTROL_VECTOR_PLACEMENTS),
  modelHint: fc.option(fc.oneof(word, weirdString), { nil: undefined }),
  useLayerStrengths: fc.boolean(),
  info: fc.record({ nLayers: fc.constantFrom(3, 2, 4), dModel: fc.constantFrom(4, 8), vocabSize: fc.constantFrom(300, 301), sha: fc.boolean() }),
});
export type ExportOptions = typeof exportOptions extends fc.Arbitrary<infer T> ? T : never;

export function useArtifact(a: VectorArtifact, file: string, o: ExportOptions): void {
  const expect: Expect = { files: [file] };
  const m = a.metadata;
  noThrow(() => layerNorms(a), 'layerNorms');
  for (let l = 0; l < m.model.nLayers; l++) {
    noThrow(() => rowCosines(a, l), 'rowCosines');
    noThrow(() => rowCosines(a, l, { includeQuery: true }), 'rowCosines with the query');
  }
  noThrow(() => tensorsSha256(a.tensors), 'tensorsSha256');
  noThrow(() => artifactDefaults(a), 'artifactDefaults');
  noThrow(() => artifactPromptOptions(a), 'artifactPromptOptions');

  // What it decodes to, it encodes again, to the same tensors.
  const again = noThrow(() => encodeArtifactFiles(a), 're-encoding a decoded artifact');
  const back = noThrow(() => decodeArtifact(again.safetensors, file), 'decoding a re-encoded artifact');
  invariant(tensorsSha256(back.tensors) === tensorsSha256(a.tensors), 'the tensors changed in a decode/encode round trip');

  // The GGUF export: iv export-gguf resolves the row option, then exports.
  const choice = userErrorOrSuccess(() => resolveRow(o.row, m.method, m.labels), { fields: ['row', 'row.positive', 'row.negative'] });
  const rows = choice instanceof UserError ? rowChoices(m.method, m.labels).slice(0, 3) : [choice];
  for (const r of rows) {
    const exported = userErrorOrSuccess(
      () =>
        controlVectorFromArtifact(a, { row: r.row, scale: o.scale, placement: o.placement, modelHint: o.modelHint, useLayerStrengths: o.useLayerStrengths }),
      { ...expect, fields: ['row'] },
    );
    if (exported instanceof UserError) continue;
    const g = noThrow(() => decodeGguf(exported.bytes, 'export.gguf'), 'reading back the exported GGUF');
    invariant(g.tensors.length === exported.description.layerCount, 'the GGUF has another number of tensors than its description');
    for (const t of g.tensors) invariant(t.data?.every(Number.isFinite), `GGUF tensor ${t.name} holds non-finite values`);
  }

  // Re-running and evaluating it: the recipe and the options it seeds go through the spec.
  const recipe = userErrorOrSuccess(() => recipeOf(m, file), expect);
  if (!(recipe instanceof UserError)) {
    const r = noThrow(() => resolveOptions('extract', recipe), 'resolveOptions of a recipe');
    noThrow(() => extractRequestOf(r, METHOD_OF_ARTIFACT[m.method]), 'extractRequestOf a recipe');
  }
  const seeded = noThrow(() => optionsFromArtifact(m, {}, () => true), 'optionsFromArtifact');
  const checked = userErrorOrSuccess(() => checkOptions('evaluate', seeded), {});
  invariant(!(checked instanceof UserError), () => `the options seeded from the artifact are refused by the spec: ${(checked as UserError).message}`);

  const info: ModelInfo = {
    name: 'm',
    sha256: o.info.sha ? m.model.sha256 : 'other',
    nLayers: o.info.nLayers,
    dModel: o.info.dModel,
    nHeads: 1,
    nKvHeads: 1,
    headDim: o.info.dModel,
    vocabSize: o.info.vocabSize,
    maxSeqLen: 64,
    bosId: 1,
    eosId: 2,
  };
  userErrorOrSuccess(() => checkModelMatch(a, info, file, { ignoreHash: !o.info.sha }), expect);

  // The layer-effects panel: norms and convergence as messages (their guards throw on malformed params).
  if (m.method === 'iterative-vectors') {
    const vectors = Array.from(
      { length: m.model.nLayers },
      (_, l) => a.tensors.get(`blocks.${l}.${m.site}`)?.data ?? new Float32Array((m.labels.length + 1) * m.model.dModel),
    );
    const norms = noThrow(() => vectorNorms(vectors, m.labels.length + 1), 'vectorNorms');
    noThrow(() => updateMessage(1, { kind: 'norms', rowLabels: [...m.labels, '(query)'], norms }, null), 'the norms message of the layers panel');
    const points = noThrow(() => convergencePoints(m.history), 'convergencePoints');
    noThrow(() => updateMessage(1, { kind: 'convergence', points }, null), 'the convergence message of the layers panel');
  }
}

export const handlers = {
  /** decodeArtifact on the bytes (a UserError must name `file`), then every reader on what it decodes to. */
  decode({ bytes, file, o, input }: { bytes: Uint8Array; file: string; o: ExportOptions; input: string }): boolean {
    const a = userErrorOrSuccess(() => decodeArtifact(bytes, file), { files: [file], input: () => input });
    if (a instanceof UserError) return false;
    useArtifact(a, file, o);
    return true;
  },
};
