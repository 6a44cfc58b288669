import * as vscode from 'vscode';
import { UserError } from '../core/errors';
import { decodeArtifact, encodeArtifactFiles, sidecarPath, type VectorArtifact } from '../core/vectors/artifact';
import { numberedName } from '../core/experiment/fileNames';
import { isUriLike, type PathValue } from '../core/experiment/spec';
import { artifactsFolder, isAbsolutePath } from './settings';

/** A path or URI option -> a URI: absolute paths as files, relative ones under `base`. */
export function toUri(value: PathValue, base: vscode.Uri | undefined, field: string): vscode.Uri {
  if (value instanceof vscode.Uri) return value;
  if (isUriLike(value)) {
    try {
      return vscode.Uri.from({
        scheme: value.scheme,
        authority: str(value.authority),
        path: value.path,
        query: str(value.query),
        fragment: str(value.fragment),
      });
    } catch (e) {
      throw new UserError(`is not a valid URI: ${(e as Error).message}`, { field });
    }
  }
  if (/^[a-z][a-z0-9+.-]+:\/\//i.test(value)) return vscode.Uri.parse(value, true);
  if (isAbsolutePath(value)) return vscode.Uri.file(value);
  if (!base) throw new UserError(`"${value}" is a relative path but no folder is open to resolve it against; give an absolute path`, { field });
  return vscode.Uri.joinPath(base, ...value.split(/[\\/]+/).filter(Boolean));
}

const str = (x: unknown) => (typeof x === 'string' ? x : undefined);

/** The path for the Node.js file APIs datasets are read with (src/node); a UserError when the URI is not a local file. */
export function localPath(uri: vscode.Uri, field: string): string {
  if (uri.scheme !== 'file')
    throw new UserError(`${uri.toString()} is not on the local file system (${uri.scheme}:); the extension reads datasets and models from local files`, {
      field,
    });
  return uri.fsPath;
}

/** The workspace folder a run's outputs belong to: the one holding `hint`, else the first one. */
export function workspaceFolderFor(hint: vscode.Uri | undefined): vscode.WorkspaceFolder | undefined {
  return (hint && vscode.workspace.getWorkspaceFolder(hint)) ?? vscode.workspace.workspaceFolders?.[0];
}

/** The artifacts folder of that workspace folder (created), or a UserError when no folder is open. */
export async function outputFolder(hint: vscode.Uri | undefined): Promise<vscode.Uri> {
  const folder = workspaceFolderFor(hint);
  if (!folder)
    throw new UserError(
      'no workspace folder is open: open a folder for the artifacts (setting iterativeVectors.artifactsFolder), or give an absolute "out" path',
      { field: 'out' },
    );
  const dir = artifactsFolder(folder);
  await vscode.workspace.fs.createDirectory(dir);
  return dir;
}

export async function exists(uri: vscode.Uri): Promise<boolean> {
  try {
    await vscode.workspace.fs.stat(uri);
    return true;
  } catch {
    return false;
  }
}

/** `dir/name`, or `dir/name-2...` when taken: defaults never overwrite an earlier run's files. */
export async function freeUri(dir: vscode.Uri, name: string): Promise<vscode.Uri> {
  let uri = vscode.Uri.joinPath(dir, name);
  for (let n = 2; await exists(uri); n++) uri = vscode.Uri.joinPath(dir, numberedName(name, n));
  return uri;
}

export function parentOf(uri: vscode.Uri): vscode.Uri {
  return vscode.Uri.joinPath(uri, '..');
}

export function fileName(uri: vscode.Uri): string {
  return uri.path.slice(uri.path.lastIndexOf('/') + 1);
}

/**
 * Writes through `workspace.fs` to a temporary name beside the target, then renames it over the
 * target: readers never see a half-written file. The temporary file is removed when anything fails.
 */
export async function writeFileAtomic(uri: vscode.Uri, content: Uint8Array | string): Promise<void> {
  const bytes = typeof content === 'string' ? new TextEncoder().encode(content) : content;
  const tmp = uri.with({ path: `${uri.path}.tmp-${process.pid}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}` });
  await vscode.workspace.fs.createDirectory(parentOf(uri));
  try {
    await vscode.workspace.fs.writeFile(tmp, bytes);
    await vscode.workspace.fs.rename(tmp, uri, { overwrite: true });
  } catch (e) {
    await vscode.workspace.fs.delete(tmp, { useTrash: false }).then(undefined, () => undefined);
    throw ioError(e, uri);
  }
}

function ioError(e: unknown, uri: vscode.Uri): unknown {
  if (e instanceof vscode.FileSystemError) return new UserError(`cannot write: ${e.message}`, { file: uri.scheme === 'file' ? uri.fsPath : uri.toString() });
  return e;
}

/**
 * Writes a vector artifact and its `.ivec.json` sidecar (the sidecar first, as src/node's
 * writeArtifact, so whoever sees the artifact sees its sidecar), each atomically. Encoding happens
 * before anything is written; if the artifact cannot be written, a sidecar this call created is removed.
 */
export async function writeArtifactUri(uri: vscode.Uri, artifact: VectorArtifact): Promise<{ artifact: vscode.Uri; sidecar: vscode.Uri }> {
  const files = encodeArtifactFiles(artifact);
  const sidecarName = sidecarPath(uri.path);
  if (!sidecarName) throw new UserError('must end with .ivec.safetensors', { field: 'out', file: uri.toString() });
  const sidecar = uri.with({ path: sidecarName });
  const sidecarExisted = await exists(sidecar);
  await writeFileAtomic(sidecar, files.sidecar);
  try {
    await writeFileAtomic(uri, files.safetensors);
  } catch (e) {
    if (!sidecarExisted) await vscode.workspace.fs.delete(sidecar, { useTrash: false }).then(undefined, () => undefined);
    throw e;
  }
  return { artifact: uri, sidecar };
}

/** Reads and checks a vector artifact through `workspace.fs`; problems are UserErrors naming the file. */
export async function readArtifactUri(uri: vscode.Uri): Promise<VectorArtifact> {
  let bytes: Uint8Array;
  try {
    bytes = await vscode.workspace.fs.readFile(uri);
  } catch (e) {
    throw new UserError(`cannot read the vector artifact: ${(e as Error).message}`, { file: displayPath(uri) });
  }
  return decodeArtifact(bytes, displayPath(uri));
}

/** A path for messages: the file system path for local files, else the URI. */
export function displayPath(uri: vscode.Uri): string {
  return uri.scheme === 'file' ? uri.fsPath : uri.toString();
}
