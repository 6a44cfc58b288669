import { existsSync } from 'node:fs';
import * as vscode from 'vscode';
import { throwIfCancelled, UserError } from '../../core/errors';
import { specFromArtifact, STRENGTH_SOURCES } from '../../core/experiment/artifacts';
import { extractArtifact } from '../../core/experiment/extraction';
import { evaluateMethod, fitCalibration, type MethodSpec } from '../../core/experiment/methods';
import { formatMetricsTable } from '../../core/metrics';
import type { VectorArtifact } from '../../core/vectors/artifact';
import { displayPath, fileName, freeUri, outputFolder, parentOf, readArtifactUri, toUri, writeFileAtomic } from '../artifacts';
import { notify, runCommand, withRunProgress, type Cancelled } from '../run';
import { runWizard } from '../quickPick';
import { readDefaults } from '../settings';
import { classifyArg, hintUri, loadTask, modelJson, modelOverrides, requireFolderOrAbsolute, type CommandDeps } from './common';
import {
  artifactBase,
  checkOptions,
  evalOptionsOf,
  evalStrengthOf,
  evaluateMethodOf,
  extractRequestOf,
  optionsFromArtifact,
  safeStem,
  type CheckedOptions,
  type EvalMethod,
} from './options';
import { evalResultJson, toJsonText, type EvalResultJson } from './results';

/** What `iterativeVectors.evaluate` returns: the CLI's `iv eval --json` object plus the files. */
export type EvaluateCommandResult = EvalResultJson & {
  command: 'evaluate';
  labels: string[];
  dataset: { id: string; source: string; sha256: string };
  model: ReturnType<typeof modelJson>;
  /** The vector file evaluated (URI string), when one was. */
  vector?: string;
  /** The results JSON written (URI string) and, for local files, its path. */
  results: string;
  resultsPath?: string;
};

/**
 * `iterativeVectors.evaluate`: Algorithm 2 for a method (icl, icl-calibrated, iv, tv, fv) on a
 * split, with item-resampled intervals; the results JSON goes next to the vector file (or into the
 * artifacts folder). Takes an options object, a vector URI (editor, explorer: its dataset and label
 * words are read from its provenance), or nothing (palette).
 */
export function evaluateCommand(deps: CommandDeps, arg?: unknown): Promise<EvaluateCommandResult | Cancelled | undefined> {
  const a = classifyArg(arg);
  return runCommand('evaluate', deps.log, a.kind !== 'options', async () => {
    let o: CheckedOptions;
    if (a.kind === 'options') {
      o = checkOptions('evaluate', a.options);
      if (o.vector !== undefined) o = await seedFromVector(o, (await readVector(o)).artifact);
    } else {
      let initial: CheckedOptions = {};
      if (a.kind === 'uri') initial = await seedFromVector({ vector: a.uri }, await readArtifactUri(a.uri));
      const chosen = await runWizard('evaluate', initial, {
        defaults: readDefaults(hintUri(initial.vector ?? initial.dataset), deps.log),
        onVector: async (uri, state) => seedFromVector({ ...state, vector: uri }, await readArtifactUri(uri)),
      });
      if (!chosen) return undefined;
      o = checkOptions('evaluate', chosen);
    }
    const result = await runEvaluate(deps, o);
    if (a.kind !== 'options') void offerNext(deps, result);
    return result;
  });
}

/** The options an artifact implies (its method, dataset, label words, BOS, seed), under the given ones. */
async function seedFromVector(o: CheckedOptions, artifact: VectorArtifact): Promise<CheckedOptions> {
  const method = evaluateMethodOf(o, artifact.metadata.method);
  const seeded = optionsFromArtifact(artifact.metadata, o, (p) => existsSync(p));
  return { ...seeded, method };
}

async function readVector(o: CheckedOptions): Promise<{ uri: vscode.Uri; artifact: VectorArtifact }> {
  const uri = toUri(o.vector!, vscode.workspace.workspaceFolders?.[0]?.uri, 'vector');
  return { uri, artifact: await readArtifactUri(uri) };
}

async function runEvaluate(deps: CommandDeps, o: CheckedOptions): Promise<EvaluateCommandResult> {
  const vector = o.vector !== undefined ? await readVector(o) : undefined;
  const method: EvalMethod | undefined = evaluateMethodOf(o, vector?.artifact.metadata.method);
  if (!method) throw new UserError('required: one of icl, icl-calibrated, iv, tv, fv (or give a vector file, which says its method)', { field: 'method' });
  const hint = vector?.uri ?? hintUri(o.dataset);
  const d = readDefaults(hint, deps.log);
  const opts = evalOptionsOf(o, d);
  const { strength, source: strengthSource } = evalStrengthOf(method, o, d, vector?.artifact);
  if (method === 'iv' || method === 'fv') deps.log.info(`Strength ${strength} (${STRENGTH_SOURCES[strengthSource]}).`);
  const injectAt = o.injectAt ?? 'all';
  if (!vector) requireFolderOrAbsolute('results', o.results);
  let resultsUri: vscode.Uri | undefined;
  if (o.results !== undefined) {
    resultsUri = toUri(o.results, vector ? parentOf(vector.uri) : vscode.workspace.workspaceFolders?.length ? await outputFolder(hint) : undefined, 'results');
  }
  return withRunProgress(`Iterative Vectors: evaluating ${method}${vector ? ` (${fileName(vector.uri)})` : ''}`, (ctx) =>
    deps.engine.use(modelOverrides(o), async (loaded) => {
      ctx.phase('loading the dataset');
      const { task, dataset } = await loadTask(deps, o, d, loaded);
      throwIfCancelled(ctx.cancellation);
      let spec: MethodSpec;
      const evalShare = vector || method === 'icl' ? 1 : 0.5;
      if (method === 'icl') spec = { method };
      else if (method === 'icl-calibrated') {
        ctx.phase('fitting the calibration on validation', 0.5);
        spec = { method, bias: await fitCalibration(loaded.model, task, { ...opts, cancellation: ctx.cancellation, onProgress: ctx.progress }) };
      } else if (vector) {
        spec = specFromArtifact(vector.artifact, displayPath(vector.uri), loaded.model.info, task, strength, injectAt);
      } else {
        deps.log.info(`No vector file given: extracting ${method} on train first.`);
        ctx.phase(`extracting ${method} on train`, 0.5);
        const req = extractRequestOf(o, d, method, 'ext');
        const { artifact } = await extractArtifact(loaded.model, task, { ...req, tokenizerSha256: loaded.tokenizer.sha256, cancellation: ctx.cancellation, onProgress: ctx.progress });
        spec = specFromArtifact(artifact, '(extracted now)', loaded.model.info, task, strength, injectAt);
      }
      throwIfCancelled(ctx.cancellation);
      ctx.phase(`evaluating ${method} on ${opts.split}`, evalShare === 1 ? undefined : 0.5);
      const r = await evaluateMethod(loaded.model, task, spec, { ...opts, cancellation: ctx.cancellation, onProgress: ctx.progress });
      throwIfCancelled(ctx.cancellation);
      deps.log.info(`\n${formatMetricsTable([{ name: `${method} (${opts.shots}-shot, ${opts.split})`, metrics: r.metrics }], task.labels)}`);
      const target =
        resultsUri ??
        (vector
          ? await freeUri(parentOf(vector.uri), `${artifactBase(fileName(vector.uri))}.eval-${opts.split}.json`)
          : await freeUri(await outputFolder(hint), `${safeStem(dataset.id)}.${method}.eval-${opts.split}.json`));
      const json = {
        command: 'evaluate' as const,
        ...evalResultJson(method, spec, opts, r, strengthSource),
        labels: [...task.labels],
        dataset: { id: dataset.id, source: dataset.source, sha256: dataset.sha256 },
        model: modelJson(loaded),
        vector: vector?.uri.toString(),
        results: target.toString(),
        resultsPath: target.scheme === 'file' ? target.fsPath : undefined,
      };
      ctx.phase('writing');
      await writeFileAtomic(target, toJsonText({ ...json, createdAt: new Date().toISOString() }));
      deps.log.info(`Wrote ${displayPath(target)}`);
      return JSON.parse(toJsonText(json)) as EvaluateCommandResult;
    }),
  );
}

async function offerNext(deps: CommandDeps, r: EvaluateCommandResult): Promise<void> {
  const fmt = (x: number | null) => (x === null ? 'n/a' : x.toFixed(3));
  const ci = r.ci ? ` [${fmt(r.ci.accuracy[0])}, ${fmt(r.ci.accuracy[1])}]` : '';
  const choice = await notify(
    deps.log,
    `Iterative Vectors: ${r.name} on ${String(r.settings.split)} (${r.n} episodes): accuracy ${fmt(r.accuracy)}${ci}, macro-F1 ${fmt(r.macroF1)}, AUC ${fmt(r.auc)}; majority baseline ${fmt(r.majorityAccuracy)}.`,
    'Open Results',
  );
  if (choice === 'Open Results') await vscode.window.showTextDocument(vscode.Uri.parse(r.results));
}
