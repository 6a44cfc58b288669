/**
 * The layer-effects panel (webview viewType `iterativeVectors.layers`): the command
 * `iterativeVectors.showLayers`, the panel serializer that restores panels after a reload, and the
 * test hook `iterativeVectors.internal.lastPanelReport` (what the webview last reported drawing).
 */
import * as vscode from 'vscode';
import { SPLIT_NAMES, type SplitName } from '../../core/datasets';
import { UserError } from '../../core/errors';
import { parseField } from '../../core/experiment/spec';
import type { InjectAt } from '../../core/iv/extract';
import { ARTIFACT_EXTENSION } from '../../core/vectors/artifact';
import { LAYERS_VIEW_TYPE, isRecord, isRunStatus, type DataReport, type RunStatus } from '../../protocol';
import { readArtifactUri, toUri } from '../artifacts';
import type { Engine } from '../engine';
import { runCommand } from '../run';
import { readDefaults } from '../settings';
import { localResourceRoots } from './html';
import { artifactDefaults } from '../../core/experiment/artifacts';
import { LayersSession, type SessionOptions } from './session';
import { envelopeProblem } from './wire';
import { COMMAND_IDS } from '../commandIds';

/** The programmatic arguments of `iterativeVectors.showLayers` (all optional). */
export interface ShowLayersArgs {
  /** The `.ivec.safetensors` file: a URI, its JSON form, or a path (absolute or relative to the first workspace folder). */
  vector?: vscode.Uri | string | { scheme: string; path: string };
  /** Dataset for the episodes: `stdlib:<name>`, a file or a folder (default: the artifact's metadata.dataset.source). */
  dataset?: string;
  /** Episodes per evaluation (default: setting `iterativeVectors.layerEffects.episodes`, else 50). */
  episodes?: number;
  seed?: number;
  split?: SplitName;
  /** Demonstrations per class at evaluation (default 1). */
  shots?: number;
  /** a2 (default: the artifact's options.evalStrength, else setting `iterativeVectors.evalStrength`, else 0.5). */
  strength?: number;
  injectAt?: InjectAt;
  /** Base envelope for the run (default: the artifact's metadata.layerStrengths, else all 1). */
  envelope?: number[];
  /** A sweep results JSONL (default: the rows file the vectors record, metadata.options.sweepResults, else sweepRowsCandidates next to them). */
  sweepResults?: string;
  /** Start the analysis at once (default true). */
  run?: boolean;
}

export interface ShowLayersResult {
  panelId: string;
  /** The artifact shown (fsPath for local files). */
  file: string;
  /** The run started by this call (null when `run` was false). */
  runId: number | null;
}

/** Arguments of `iterativeVectors.internal.lastPanelReport`. */
export interface ReportQuery {
  /** Default: the panel that reported last. */
  panelId?: string;
  /** Wait for a report with one of these statuses (e.g. "done"). */
  status?: RunStatus | RunStatus[];
  /** Wait for a report of this run (or a later one). */
  runId?: number;
  /** How long to wait for a matching report (default 60 s); on timeout the latest report is returned with timedOut: true. */
  timeoutMs?: number;
}

export type PanelReport = DataReport & { panelId: string; timedOut: boolean };

/** The webviews' data reports, by panel, with waiters for the tests. */
export class ReportStore {
  private readonly reports = new Map<string, DataReport>();
  private lastPanel: string | undefined;
  private readonly waiters = new Set<{ matches: (id: string, r: DataReport) => boolean; resolve: (r: PanelReport) => void }>();

  put(panelId: string, report: DataReport): void {
    this.reports.set(panelId, report);
    this.lastPanel = panelId;
    for (const w of [...this.waiters]) {
      if (w.matches(panelId, report)) {
        this.waiters.delete(w);
        w.resolve({ ...report, panelId, timedOut: false });
      }
    }
  }

  latest(panelId?: string): PanelReport | undefined {
    const id = panelId ?? this.lastPanel;
    const r = id === undefined ? undefined : this.reports.get(id);
    return r && id ? { ...r, panelId: id, timedOut: false } : undefined;
  }

  wait(query: ReportQuery = {}): Promise<PanelReport | undefined> {
    const statuses = query.status === undefined ? undefined : Array.isArray(query.status) ? query.status : [query.status];
    const matches = (id: string, r: DataReport) =>
      (query.panelId === undefined || id === query.panelId) &&
      (statuses === undefined || statuses.includes(r.status)) &&
      (query.runId === undefined || (r.runId !== null && r.runId >= query.runId));
    const now = this.latest(query.panelId);
    if (now && matches(now.panelId, now)) return Promise.resolve(now);
    if (statuses === undefined && query.runId === undefined) return Promise.resolve(now);
    return new Promise((resolve) => {
      const waiter = { matches, resolve };
      this.waiters.add(waiter);
      setTimeout(() => {
        if (!this.waiters.delete(waiter)) return;
        const latest = this.latest(query.panelId);
        resolve(latest ? { ...latest, timedOut: true } : undefined);
      }, query.timeoutMs ?? 60_000);
    });
  }

  forget(panelId: string): void {
    this.reports.delete(panelId);
  }
}

function checkArgs(x: unknown): ShowLayersArgs {
  if (!isRecord(x)) throw new UserError(`${COMMAND_IDS.showLayers} takes a vector file URI or an options object, got ${JSON.stringify(x)}`);
  // The experiment settings are checked by the spec, as every face checks them; envelope and run are the panel's own.
  for (const k of ['episodes', 'seed', 'shots', 'strength', 'split', 'injectAt'] as const) if (x[k] !== undefined) parseField('layerEffects', k, x[k]);
  for (const k of ['dataset', 'sweepResults']) if (x[k] !== undefined && typeof x[k] !== 'string') throw new UserError('must be a string', { field: k });
  if (x.envelope !== undefined && !(Array.isArray(x.envelope) && x.envelope.every((v) => typeof v === 'number' && Number.isFinite(v))))
    throw new UserError('must be an array of numbers', { field: 'envelope' });
  if (x.run !== undefined && typeof x.run !== 'boolean') throw new UserError('must be true or false', { field: 'run' });
  const v = x.vector;
  if (v !== undefined && !(v instanceof vscode.Uri) && typeof v !== 'string' && !(isRecord(v) && typeof v.scheme === 'string' && typeof v.path === 'string')) {
    throw new UserError('must be a URI or a path', { field: 'vector' });
  }
  return x as ShowLayersArgs;
}

/** All open layer panels. */
class LayersPanels implements vscode.Disposable {
  readonly reports = new ReportStore();
  private readonly sessions = new Map<string, LayersSession>();
  private counter = 0;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly engine: Engine,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  async show(arg: unknown): Promise<ShowLayersResult | undefined> {
    const interactive = arg === undefined || arg === null || arg instanceof vscode.Uri;
    const result = await runCommand('show layer effects', this.log, interactive, async () => {
      const args: ShowLayersArgs =
        arg instanceof vscode.Uri ? { vector: arg } : arg === undefined || arg === null ? {} : typeof arg === 'string' ? { vector: arg } : checkArgs(arg);
      const v = args.vector;
      const uri =
        v instanceof vscode.Uri ? v : v !== undefined ? toUri(v, vscode.workspace.workspaceFolders?.[0]?.uri, 'vector') : await this.pickArtifact(interactive);
      if (!uri) return undefined;
      return this.open(uri, args, interactive);
    });
    return result && 'panelId' in result ? result : undefined;
  }

  private async pickArtifact(interactive: boolean): Promise<vscode.Uri | undefined> {
    const active = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
    const activeUri = active instanceof vscode.TabInputCustom || active instanceof vscode.TabInputText ? active.uri : undefined;
    if (activeUri?.path.endsWith(ARTIFACT_EXTENSION)) return activeUri;
    if (!interactive) throw new UserError('no vector file given: pass "vector"', { field: 'vector' });
    const files = await vscode.workspace.findFiles(`**/*${ARTIFACT_EXTENSION}`, '**/node_modules/**', 500);
    if (files.length === 0) throw new UserError(`no *${ARTIFACT_EXTENSION} file in the workspace: extract vectors first`);
    files.sort((a, b) => a.path.localeCompare(b.path));
    const pick = await vscode.window.showQuickPick(
      files.map((uri) => ({
        label: uri.path.slice(uri.path.lastIndexOf('/') + 1),
        description: vscode.workspace.asRelativePath(vscode.Uri.joinPath(uri, '..')),
        uri,
      })),
      { title: 'Iterative Vectors: show layer effects', placeHolder: 'Vectors to analyse', matchOnDescription: true },
    );
    return pick?.uri;
  }

  private options(args: ShowLayersArgs, artifact: Awaited<ReturnType<typeof readArtifactUri>>): SessionOptions {
    // The vector file's choices, then the settings (checked by the experiment spec), then the built-ins.
    const d = artifactDefaults(artifact);
    const s = readDefaults(undefined, this.log);
    const base = vscode.workspace.workspaceFolders?.[0]?.uri;
    return {
      dataset: args.dataset ?? null,
      episodes: args.episodes ?? s.layerEpisodes!,
      seed: args.seed ?? d.seed ?? s.seed!,
      split: args.split ?? 'validation',
      shots: args.shots ?? s.shots!,
      strength: args.strength ?? d.strength ?? s.strength!,
      injectAt: args.injectAt ?? d.injectAt ?? 'all',
      sweepResults: args.sweepResults ? toUri(args.sweepResults, base, 'sweepResults') : null,
    };
  }

  private async open(uri: vscode.Uri, args: ShowLayersArgs, interactive: boolean): Promise<ShowLayersResult> {
    const artifact = await readArtifactUri(uri);
    if (artifact.metadata.method !== 'iterative-vectors') {
      throw new UserError(`the layer-effects panel shows Iterative Vectors; this file holds a ${artifact.metadata.method}`, { file: uri.toString() });
    }
    if (args.envelope) {
      const problem = envelopeProblem(args.envelope, artifact.metadata.model.nLayers);
      if (problem) throw new UserError(problem, { field: 'envelope' });
    }
    let session = [...this.sessions.values()].find((s) => s.uri.toString() === uri.toString());
    if (session) {
      session.panel.reveal();
      // Only what this call gives explicitly replaces the panel's options.
      const o = this.options(args, artifact);
      session.update({
        dataset: args.dataset,
        episodes: args.episodes,
        seed: args.seed,
        split: args.split,
        shots: args.shots,
        strength: args.strength,
        injectAt: args.injectAt,
        sweepResults: args.sweepResults ? o.sweepResults : undefined,
      });
    } else {
      const panel = vscode.window.createWebviewPanel(
        LAYERS_VIEW_TYPE,
        this.title(uri),
        { viewColumn: vscode.ViewColumn.Active, preserveFocus: false },
        {
          enableScripts: true,
          retainContextWhenHidden: false,
          localResourceRoots: localResourceRoots(this.context.extensionUri),
        },
      );
      session = this.track(panel, uri, artifact, this.options(args, artifact));
    }
    if (args.envelope) session.setEnvelope(args.envelope);
    const runId = args.run !== false ? session.run(interactive) : null;
    return { panelId: session.id, file: uri.scheme === 'file' ? uri.fsPath : uri.toString(), runId };
  }

  private title(uri: vscode.Uri): string {
    return `Layers: ${uri.path.slice(uri.path.lastIndexOf('/') + 1).replace(ARTIFACT_EXTENSION, '')}`;
  }

  private track(
    panel: vscode.WebviewPanel,
    uri: vscode.Uri,
    artifact: Awaited<ReturnType<typeof readArtifactUri>>,
    options: SessionOptions,
    restored?: { envelope?: number[]; runId?: number },
  ): LayersSession {
    const id = `layers-${++this.counter}`;
    const session = new LayersSession(
      id,
      panel,
      uri,
      artifact,
      options,
      {
        context: this.context,
        getModel: () => this.engine.get(),
        log: this.log,
        onReport: (r) => this.reports.put(id, r),
        onDispose: () => {
          this.sessions.delete(id);
          this.reports.forget(id);
        },
      },
      restored,
    );
    this.sessions.set(id, session);
    return session;
  }

  /** A panel VS Code kept across a reload: reopened on the same file with the webview's saved options; no run starts by itself. */
  async restore(panel: vscode.WebviewPanel, state: unknown): Promise<void> {
    const info = isRecord(state) && isRecord(state.info) ? state.info : undefined;
    const uriText = typeof info?.uri === 'string' ? info.uri : undefined;
    if (!uriText) {
      panel.dispose();
      return;
    }
    const uri = vscode.Uri.parse(uriText, true);
    let artifact;
    try {
      artifact = await readArtifactUri(uri);
    } catch (e) {
      this.log.warn(`layer-effects panel not restored: ${(e as Error).message}`);
      panel.dispose();
      return;
    }
    const saved: ShowLayersArgs = {};
    if (typeof info?.dataset === 'string' && info.dataset !== artifact.metadata.dataset.source) saved.dataset = info.dataset;
    if (Number.isInteger(info?.episodes) && (info!.episodes as number) > 0) saved.episodes = info!.episodes as number;
    if (Number.isInteger(info?.seed)) saved.seed = info!.seed as number;
    if ((SPLIT_NAMES as readonly unknown[]).includes(info?.split)) saved.split = info!.split as SplitName;
    if (Number.isInteger(info?.shots)) saved.shots = info!.shots as number;
    if (typeof info?.strength === 'number') saved.strength = info.strength;
    if (['all', 'query', 'demos'].includes(info?.injectAt as string)) saved.injectAt = info!.injectAt as InjectAt;
    const envelope =
      isRecord(state) && Array.isArray(state.envelope) && state.envelope.every((x) => typeof x === 'number') ? (state.envelope as number[]) : undefined;
    const results = isRecord(state) && isRecord(state.results) ? state.results : undefined;
    const progress = isRecord(state) && isRecord(state.progress) ? state.progress : undefined;
    const runId = Math.max(Number(results?.runId) || 0, Number(progress?.runId) || 0);
    panel.title = this.title(uri);
    this.track(panel, uri, artifact, this.options(saved, artifact), { envelope, runId });
    this.log.info(`Restored the layer-effects panel of ${uri.toString()}${isRunStatus(progress?.status) ? ` (last run: ${progress?.status})` : ''}`);
  }

  dispose(): void {
    for (const s of [...this.sessions.values()]) s.panel.dispose();
  }
}

/**
 * Registers the layer-effects panel: command `iterativeVectors.showLayers` (argument: a vector file
 * URI, or ShowLayersArgs; returns ShowLayersResult), the serializer of viewType
 * `iterativeVectors.layers`, and `iterativeVectors.internal.lastPanelReport` (argument: ReportQuery;
 * returns the webview's last DataReport with its panelId, for tests).
 */
export function registerPanel(context: vscode.ExtensionContext, engine: Engine, log: vscode.LogOutputChannel): void {
  const panels = new LayersPanels(context, engine, log);
  context.subscriptions.push(
    panels,
    vscode.commands.registerCommand(COMMAND_IDS.showLayers, (arg?: unknown) => panels.show(arg)),
    vscode.commands.registerCommand(COMMAND_IDS.lastPanelReport, (query?: ReportQuery) => panels.reports.wait(query ?? {})),
    vscode.window.registerWebviewPanelSerializer(LAYERS_VIEW_TYPE, { deserializeWebviewPanel: (panel, state) => panels.restore(panel, state) }),
  );
}
