/**
 * The rules of a Transformers.js export and of its file cache, mirrored from Transformers.js 4.3.1
 * (node_modules/@huggingface/transformers/src/..., named at each rule). That package exports none of
 * them (its `exports` map allows only its entry, which does not load in a CommonJS bundle), so they are
 * copied here, in one place; test/unit/transformersJsLayout.test.ts checks each against the installed
 * package's own code.
 */
import type { HubDType } from '../../core/modelSettings';

/** src/utils/dtypes.js, DEFAULT_DTYPE_SUFFIX_MAPPING: dtype → suffix of the ONNX file name (HUB_DTYPES and the ones users cannot ask for, which a config.json may name). */
export const DTYPE_SUFFIX: Readonly<Record<string, string>> = Object.freeze({
  fp32: '',
  fp16: '_fp16',
  int8: '_int8',
  uint8: '_uint8',
  q8: '_quantized',
  q4: '_q4',
  q2: '_q2',
  q1: '_q1',
  q4f16: '_q4f16',
  q2f16: '_q2f16',
  q1f16: '_q1f16',
  bnb4: '_bnb4',
} satisfies Record<HubDType, string> & Record<string, string>);

/** src/utils/hub/constants.js, MAX_EXTERNAL_DATA_CHUNKS. */
export const MAX_EXTERNAL_DATA_CHUNKS = 100;

/** src/utils/hub/constants.js REPO_ID_REGEX and src/utils/hub/utils.js isValidHfModelId. */
export function isValidHfModelId(id: string): boolean {
  if (!/^(\b[\w\-.]+\b\/)?\b[\w\-.]{1,96}\b$/.test(id)) return false;
  if (id.includes('..') || id.includes('--')) return false;
  return !id.endsWith('.git') && !id.endsWith('.ipynb');
}

/**
 * src/utils/dtypes.js selectDtype(dtype, fileName, 'cpu', { configDtype: dtype }), as session.js calls
 * it when no dtype is asked for: the config's dtype (a string, or per file name), else fp32.
 */
export function defaultDtype(configDtype: unknown, fileName: string): string {
  const d =
    configDtype && typeof configDtype === 'object'
      ? Object.hasOwn(configDtype, fileName)
        ? (configDtype as Record<string, unknown>)[fileName]
        : undefined
      : configDtype;
  // 'auto' has no suffix, so it falls to fp32 too (Transformers.js' CPU default).
  return typeof d === 'string' && Object.hasOwn(DTYPE_SUFFIX, d) ? d : 'fp32';
}

/** src/utils/model-loader.js resolveExternalDataFormat: how many external data files `fullName` has. */
export function externalDataChunks(useExternalDataFormat: unknown, fullName: string, fileName: string): number {
  if (!useExternalDataFormat) return 0;
  if (typeof useExternalDataFormat === 'object') {
    const byFile = useExternalDataFormat as Record<string, unknown>;
    if (Object.hasOwn(byFile, fullName)) return Number(byFile[fullName]);
    if (Object.hasOwn(byFile, fileName)) return Number(byFile[fileName]);
    return 0;
  }
  return Number(useExternalDataFormat);
}

/** src/utils/model-loader.js getExternalDataChunkNames: `X.onnx_data`, `X.onnx_data_1`, ... */
export function externalDataChunkNames(fullName: string, chunks: number): string[] {
  return Array.from({ length: chunks }, (_, i) => `${fullName}_data${i === 0 ? '' : `_${i}`}`);
}

/**
 * src/utils/hub.js buildResourcePaths, proposedCacheKey with a FileCache: where a repo file lies under
 * the cache folder (`/`-separated), `<id>/<file>` for main and `<id>/<revision>/<file>` otherwise.
 */
export function cacheKey(id: string, revision: string, file: string): string {
  return revision === 'main' ? `${id}/${file}` : `${id}/${revision}/${file}`;
}
