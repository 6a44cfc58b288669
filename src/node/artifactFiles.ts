import { existsSync, rmSync } from 'node:fs';
import { UserError } from '../core/errors';
import { parseJson } from '../core/json';
import { baseName } from '../core/paths';
import { canonicalJson, decodeArtifact, encodeArtifactFiles, sidecarPath, type EncodeOptions, type VectorArtifact } from '../core/vectors/artifact';
import type { ControlVectorDescription, ControlVectorExport } from '../core/vectors/gguf';
import { fileError, READ_LIMITS, readUserFile, writeAtomic } from './files';

/**
 * Writes the artifact atomically (temp file + rename); for `*.ivec.safetensors` also the sidecar
 * `*.ivec.json`. The artifact holds all its metadata itself and the sidecar is a copy of it, so the
 * pair is written in the order that never shows two that disagree, whenever the process is killed:
 * the old sidecar is removed, the artifact replaced, then the new sidecar written. A write that fails
 * or is killed half way leaves an artifact (old or new) without a sidecar, never a contradicting pair.
 */
export function writeArtifact(path: string, artifact: VectorArtifact, options: EncodeOptions = {}): void {
  const files = encodeArtifactFiles(artifact, options);
  const sidecar = sidecarPath(path);
  try {
    if (sidecar) rmSync(sidecar, { force: true });
    writeAtomic(path, files.safetensors);
    if (sidecar) writeAtomic(sidecar, files.sidecar);
  } catch (e) {
    throw fileError(e, path, 'write', 'vector artifact');
  }
}

/** Reads an artifact; its sidecar, when there is one, must say what the artifact says (see checkSidecar). */
export function readArtifact(path: string): VectorArtifact {
  const artifact = decodeArtifact(readUserFile(path, READ_LIMITS.vector), path);
  const sidecar = sidecarPath(path);
  if (sidecar && existsSync(sidecar)) checkSidecar(artifact, readUserFile(sidecar, READ_LIMITS.json).toString('utf8'), path, sidecar);
  return artifact;
}

/**
 * Refuses a sidecar that contradicts its artifact (another writer killed between its two files, or
 * one of them replaced by hand): a reader never acts on such a pair. The artifact is the complete
 * record, so the message says to delete the sidecar to use it as it is.
 */
export function checkSidecar(artifact: VectorArtifact, sidecarText: string, artifactPath: string, sidecar: string): void {
  let same: boolean;
  try {
    same = canonicalJson(parseJson(sidecarText, { file: sidecar })) === canonicalJson(artifact.metadata);
  } catch {
    same = false;
  }
  if (!same) {
    throw new UserError(
      `does not match ${baseName(artifactPath)} beside it (a write of the pair was interrupted, or one of the two files replaced): the artifact holds its metadata itself, so delete ${baseName(sidecar)} to use the artifact as it is, or extract the vectors again`,
      { file: sidecar },
    );
  }
}

/** Writes a GGUF control vector atomically and returns its description. */
export function writeControlVector(path: string, exported: ControlVectorExport): ControlVectorDescription {
  try {
    writeAtomic(path, exported.bytes);
  } catch (e) {
    throw fileError(e, path, 'write', 'control vector');
  }
  return exported.description;
}
