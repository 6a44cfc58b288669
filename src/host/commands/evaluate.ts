import { existsSync } from 'node:fs';
import * as vscode from 'vscode';
import { throwIfCancelled, UserError } from '../../core/errors';
import { evaluationEpisodesJson } from '../../core/experiment/episodesJson';
import { artifactBase, safeStem } from '../../core/experiment/fileNames';
import { EVAL_METHODS, evaluateMethodOf, optionsFromArtifact, resolveOptions, type CheckedOptions, type EvalMethod } from '../../core/experiment/spec';
import { toJsonText } from '../../core/experiment/sweepReport';
import { evaluateUseCase } from '../../core/experiment/useCases';
import type { EvalResultJson } from '../../core/experiment/resultJson';
import { formatMetricsTable } from '../../core/metrics';
import type { VectorArtifact } from '../../core/vectors/artifact';
import { displayPath, fileName, freeUri, outputFolder, parentOf, readArtifactUri, toUri, writeFileAtomic } from '../artifacts';
import { notify, runCommand, withRunProgress, type Cancelled } from '../run';
import { runWizard } from '../quickPick';
import { readDefaults } from '../settings';
import { checkCommandOptions, classifyArg, handleOf, hintUri, hostPorts, runOnTask, modelJson, requireFolderOrAbsolute, type CommandDeps } from './common';
import { checkWritableOutputs } from '../../node/files';

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
      o = checkCommandOptions('evaluate', a.options);
      if (o.vector !== undefined) o = await seedFromVector(o, (await readVector(o)).artifact);
    } else {
      let initial: CheckedOptions = {};
      if (a.kind === 'uri') initial = await seedFromVector({ vector: a.uri }, await readArtifactUri(a.uri));
      const chosen = await runWizard('evaluate', initial, {
        defaults: readDefaults(hintUri(initial.vector ?? initial.dataset), deps.log),
        onVector: async (uri, state) => seedFromVector({ ...state, vector: uri }, await readArtifactUri(uri)),
      });
      if (!chosen) return undefined;
      o = checkCommandOptions('evaluate', chosen);
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
  if (!method) throw new UserError(`required: one of ${EVAL_METHODS.join(', ')} (or give a vector file, which says its method)`, { field: 'method' });
  const hint = vector?.uri ?? hintUri(o.dataset);
  const d = readDefaults(hint, deps.log);
  const r = resolveOptions('evaluate', o, d);
  if (!vector) requireFolderOrAbsolute('results', o.results);
  const base = vector ? parentOf(vector.uri) : vscode.workspace.workspaceFolders?.length ? await outputFolder(hint) : undefined;
  const resultsUri = o.results !== undefined ? toUri(o.results, base, 'results') : undefined;
  const episodesOut = o.episodesOut !== undefined ? toUri(o.episodesOut, base, 'episodesOut') : undefined;
  checkWritableOutputs({ results: resultsUri, episodesOut }, { makeFolders: true });
  return withRunProgress(`Iterative Vectors: evaluating ${method}${vector ? ` (${fileName(vector.uri)})` : ''}`, (ctx) => {
    const ports = hostPorts(deps, ctx);
    ctx.phase('loading the dataset');
    return runOnTask(deps, o, r, ports, vector?.artifact, async (loaded, task) => {
      throwIfCancelled(ctx.cancellation);
      const e = await evaluateUseCase(handleOf(loaded), task, method, o, d, ports, vector && { artifact: vector.artifact, name: displayPath(vector.uri) });
      throwIfCancelled(ctx.cancellation);
      const split = e.options.split;
      deps.log.info(`\n${formatMetricsTable([{ name: `${method} (${e.options.shots}-shot, ${split})`, metrics: e.result.metrics }], task.labels)}`);
      const target =
        resultsUri ??
        (vector
          ? await freeUri(parentOf(vector.uri), `${artifactBase(fileName(vector.uri))}.eval-${split}.json`)
          : await freeUri(await outputFolder(hint), `${safeStem(task.dataset.id)}.${method}.eval-${split}.json`));
      const json = {
        command: 'evaluate' as const,
        ...e.json,
        labels: [...task.labels],
        dataset: { id: task.dataset.id, source: task.dataset.source, sha256: task.dataset.sha256 },
        model: modelJson(loaded),
        vector: vector?.uri.toString(),
        results: target.toString(),
        resultsPath: target.scheme === 'file' ? target.fsPath : undefined,
      };
      ctx.phase('writing');
      await writeFileAtomic(target, toJsonText({ ...json, createdAt: new Date().toISOString() }));
      if (episodesOut) {
        const s = e.spec;
        const strength = s.method === 'iv' || s.method === 'fv' ? s.strength : undefined;
        const header = {
          method,
          shots: e.options.shots,
          seed: e.options.seed,
          demoOrder: e.options.demoOrder,
          strength,
          injectAt: s.method === 'iv' ? s.injectAt : undefined,
          vector: vector && displayPath(vector.uri),
        };
        await writeFileAtomic(episodesOut, `${JSON.stringify(evaluationEpisodesJson(task, split, e.result, header))}\n`);
      }
      deps.log.info(`Wrote ${displayPath(target)}`);
      return JSON.parse(toJsonText(json)) as EvaluateCommandResult;
    });
  });
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
