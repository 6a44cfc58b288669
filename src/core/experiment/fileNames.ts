/** The file-name rules of runs: artifact names, the files written next to them, numbered copies. */
import { UserError } from '../errors';
import { ARTIFACT_EXTENSION } from '../vectors/artifact';

/** A file-name-safe stem: `stdlib:first-names` -> `first-names`, anything odd -> `-`. */
export function safeStem(name: string): string {
  const stem = name
    .replace(/^stdlib:/, '')
    .replace(/^hf:/, '')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '');
  return stem || 'vectors';
}

/** Default artifact name of an extraction, e.g. `sst2.iv.ivec.safetensors`. */
export function defaultArtifactName(datasetId: string, method: string): string {
  return `${safeStem(datasetId)}.${method}${ARTIFACT_EXTENSION}`;
}

/** `x.ivec.safetensors` -> `x` (the base of the files written next to it). */
export function artifactBase(fileName: string): string {
  return fileName.endsWith(ARTIFACT_EXTENSION) ? fileName.slice(0, -ARTIFACT_EXTENSION.length) : fileName.replace(/\.[^.]*$/, '');
}

/** `name.ext` -> `name-2.ext` (n >= 2), keeping compound extensions such as `.ivec.safetensors` and `.eval.json`. */
export function numberedName(fileName: string, n: number): string {
  const m = /^(.*?)((?:\.ivec)?\.[A-Za-z0-9]+)$/.exec(fileName);
  if (!m || m[1] === '') return `${fileName}-${n}`;
  return `${m[1]}-${n}${m[2]}`;
}

/** An artifact name must end with the artifact extension; `naming` says how the error names the field. */
export function checkArtifactName(name: string, naming: 'field' | 'flag' = 'field'): void {
  if (name.endsWith(ARTIFACT_EXTENSION)) return;
  if (naming === 'flag') throw new UserError(`--out must end with ${ARTIFACT_EXTENSION}, got "${name}"`, { file: name });
  throw new UserError(`must end with ${ARTIFACT_EXTENSION}, got "${name}"`, { field: 'out' });
}
