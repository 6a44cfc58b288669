import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HUB_DTYPES } from '../../src/core/modelSettings';
import {
  cacheKey,
  defaultDtype,
  DTYPE_SUFFIX,
  externalDataChunkNames,
  externalDataChunks,
  isValidHfModelId,
  MAX_EXTERNAL_DATA_CHUNKS,
} from '../../src/runtime/hub/transformersJsLayout';
// The installed Transformers.js' own code, from its ESM source (the package exports none of it); only
// this test reads it, to check the mirror in src/runtime/hub/transformersJsLayout.ts.
// @ts-expect-error -- untyped .js
import * as tjsDtypes from '../../node_modules/@huggingface/transformers/src/utils/dtypes.js';
// @ts-expect-error -- untyped .js
import * as tjsHub from '../../node_modules/@huggingface/transformers/src/utils/hub.js';
// @ts-expect-error -- untyped .js
import * as tjsHubUtils from '../../node_modules/@huggingface/transformers/src/utils/hub/utils.js';
// @ts-expect-error -- untyped .js
import * as tjsLoader from '../../node_modules/@huggingface/transformers/src/utils/model-loader.js';
// @ts-expect-error -- untyped .js
import { FileCache } from '../../node_modules/@huggingface/transformers/src/utils/cache/FileCache.js';
import tjsPackage from '../../node_modules/@huggingface/transformers/package.json';

const tjs = {
  ...(tjsDtypes as {
    DEFAULT_DTYPE_SUFFIX_MAPPING: Record<string, string>;
    selectDtype(dtype: unknown, fileName: string, device: string, options: { configDtype: unknown }): string;
  }),
  ...(tjsHub as {
    MAX_EXTERNAL_DATA_CHUNKS: number;
    buildResourcePaths(id: string, file: string, options: { revision: string }, cache: unknown): { proposedCacheKey: string };
  }),
  ...(tjsHubUtils as { isValidHfModelId(id: string): boolean }),
  ...(tjsLoader as {
    resolveExternalDataFormat(config: unknown, fullName: string, fileName: string): number;
    getExternalDataChunkNames(fullName: string, chunks: number): string[];
  }),
};

describe('the Transformers.js rules mirrored in transformersJsLayout.ts', () => {
  test('the mirror names the installed version', () => {
    assert.equal(tjsPackage.version, '4.3.1', 'Transformers.js was upgraded: re-check the mirror and update the version in its header');
  });

  test('the dtype → suffix table is DEFAULT_DTYPE_SUFFIX_MAPPING, and every HUB_DTYPES entry is in it', () => {
    assert.deepEqual({ ...DTYPE_SUFFIX }, { ...tjs.DEFAULT_DTYPE_SUFFIX_MAPPING });
    for (const d of HUB_DTYPES) assert.ok(Object.hasOwn(DTYPE_SUFFIX, d), d);
  });

  test('the external data chunk limit is MAX_EXTERNAL_DATA_CHUNKS', () => {
    assert.equal(MAX_EXTERNAL_DATA_CHUNKS, tjs.MAX_EXTERNAL_DATA_CHUNKS);
  });

  test('the default dtype is selectDtype on the CPU with the config dtype', () => {
    const configs = [undefined, null, '', 'fp16', 'q4', 'q4f16', 'q2', 'auto', 'bogus', 'toString', 5, true, [], {}];
    for (const c of [...configs, { model: 'q4' }, { model: 'auto' }, { model: 'bogus' }, { other: 'q4' }, { model: 'fp16', other: 'q8' }]) {
      assert.equal(defaultDtype(c, 'model'), tjs.selectDtype(c, 'model', 'cpu', { configDtype: c }), JSON.stringify(c));
    }
  });

  test('the chunk count is resolveExternalDataFormat, the chunk names getExternalDataChunkNames', () => {
    const formats = [
      undefined,
      null,
      false,
      true,
      0,
      1,
      2,
      '3',
      'x',
      { 'model_q4.onnx': 2 },
      { model: true },
      { model: 3, 'model_q4.onnx': 1 },
      { other: 4 },
      {},
    ];
    for (const f of formats) {
      for (const fullName of ['model.onnx', 'model_q4.onnx']) {
        assert.deepEqual(externalDataChunks(f, fullName, 'model'), tjs.resolveExternalDataFormat(f, fullName, 'model'), `${JSON.stringify(f)} ${fullName}`);
      }
    }
    for (const n of [0, 1, 2, 5]) assert.deepEqual(externalDataChunkNames('model_fp16.onnx', n), tjs.getExternalDataChunkNames('model_fp16.onnx', n));
  });

  test('the model-id rule is isValidHfModelId', () => {
    const ids = ['a/b', 'onnx-community/Qwen2.5-0.5B-Instruct', 'a--b/c', 'a/b..c', 'a/b.git', 'a/b.ipynb', 'a/-b', 'a/b-', 'b', `a/${'x'.repeat(96)}`];
    for (const id of [...ids, `a/${'x'.repeat(97)}`, 'a/b/c', 'a/ b', '', '/b', 'a/', '.a/b', 'a_/b_']) {
      assert.equal(isValidHfModelId(id), tjs.isValidHfModelId(id), id);
    }
  });

  test("the cache keys are buildResourcePaths' with a FileCache", () => {
    const cache = new FileCache('/cache');
    for (const revision of ['main', 'v1', 'refs/pr/1', '0123abcd']) {
      for (const file of ['config.json', 'onnx/model_q4.onnx_data_1']) {
        assert.equal(
          cacheKey('tiny/gpt2', revision, file),
          tjs.buildResourcePaths('tiny/gpt2', file, { revision }, cache).proposedCacheKey,
          `${revision} ${file}`,
        );
      }
    }
  });
});
