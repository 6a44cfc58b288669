import { findDecoderSites, type MergedSites } from './mergedDecoder';
import { checkConfigAgainstSites, checkExternalFiles, checkLayerCount, readModelFolder, summarize, type ModelSummary } from './modelFolder';
import type { LayerSites } from './sites';

export interface InspectReport extends Omit<ModelSummary, 'layers'> {
  /** The number of decoder layers. */
  layers: number;
  sites: LayerSites[];
  /** A merged decoder's sites in both branches (`sites` are those of the branch without past). */
  merged?: MergedSites;
}

export interface InspectOptions {
  /** Which .onnx file of the folder (default: the layout's decoder). */
  file?: string;
  /** A regex with `{l}` naming each layer's attention-output node or tensor. */
  site?: string;
}

/**
 * Reads a model folder's graph (never its external data: the files that are present are checked by
 * their size, absent ones are no error), checks its configs against it and finds each layer's steering sites.
 */
export function inspectModel(path: string, options: InspectOptions = {}): InspectReport {
  const folder = readModelFolder(path, options.file);
  checkExternalFiles(folder.externalData, folder.onnxFile, { allowMissing: true });
  const summary = summarize(folder);
  checkLayerCount(folder, summary);
  const found = findDecoderSites(folder.graph, summary.architecture, { layers: summary.layers, override: options.site });
  checkConfigAgainstSites(folder, summary, found.sites, options.site);
  return { ...summary, layers: summary.layers ?? found.sites.length, ...found };
}
