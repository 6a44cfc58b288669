import { existsSync, readFileSync, rmSync } from 'node:fs';
import { UserError } from '../core/errors';
import { decodeArtifact, encodeArtifactFiles, sidecarPath, type EncodeOptions, type VectorArtifact } from '../core/vectors/artifact';
import type { ControlVectorDescription, ControlVectorExport } from '../core/vectors/gguf';
import { writeAtomic } from './files';

/**
 * Writes the artifact atomically (temp file + rename); for `*.ivec.safetensors` also the sidecar
 * `*.ivec.json`. The sidecar goes first, so whoever sees the artifact sees its sidecar; if the
 * artifact cannot be written, a sidecar that this call created is removed.
 */
export function writeArtifact(path: string, artifact: VectorArtifact, options: EncodeOptions = {}): void {
  const files = encodeArtifactFiles(artifact, options);
  const sidecar = sidecarPath(path);
  const sidecarExisted = sidecar !== undefined && existsSync(sidecar);
  try {
    if (sidecar) writeAtomic(sidecar, files.sidecar);
    writeAtomic(path, files.safetensors);
  } catch (e) {
    if (sidecar && !sidecarExisted) rmSync(sidecar, { force: true });
    throw ioError(e, path, 'write', 'vector artifact');
  }
}

export function readArtifact(path: string): VectorArtifact {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw ioError(e, path, 'read', 'vector artifact');
  }
  return decodeArtifact(bytes, path);
}

/** Writes a GGUF control vector atomically and returns its description. */
export function writeControlVector(path: string, exported: ControlVectorExport): ControlVectorDescription {
  try {
    writeAtomic(path, exported.bytes);
  } catch (e) {
    throw ioError(e, path, 'write', 'control vector');
  }
  return exported.description;
}

/** A UserError saying why, for the file system errors a user can fix; anything else as it is. */
function ioError(e: unknown, path: string, verb: 'read' | 'write', what: string): unknown {
  const code = (e as NodeJS.ErrnoException)?.code;
  const why: Record<string, string> = {
    ENOENT: verb === 'read' ? 'no such file' : 'its folder does not exist',
    EISDIR: 'it is a folder',
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    ENOSPC: 'no space left on the device',
    EROFS: 'the file system is read-only',
    ENOTDIR: 'a part of the path is not a folder',
  };
  return code && why[code] ? new UserError(`cannot ${verb} the ${what}: ${why[code]}`, { file: path }) : e;
}
