import * as vscode from 'vscode';
import { CancelledError, throwIfCancelled, UserError } from '../../core/errors';
import {
  blockAt,
  chooseRows,
  steeredGeneration,
  summarizeEffects,
  tokenEffects,
  tokenSpans,
  type EffectsSummary,
  type SteeredGeneration,
  type TokenEffects,
} from '../../core/steering';
import type { SteerableModel } from '../../core/model';
import { checkModelMatch } from '../../core/vectors/artifact';
import { promptBos, type TextTokenizer } from '../../runtime/tokenizer/loadTokenizer';
import type { Engine } from '../engine';
import { cancellationOf, reportFailure } from '../run';
import { isCancellation, RunSlot, type Cancelled, type Run } from '../runLifecycle';
import { isInteractive, parseRange, parseRow, parseStrength, parseUri, unknownKeys, type SteerArgs } from './args';
import type { SteerDocuments } from './documents';
import { effectValue, type Heatmap, type TokenMark } from './heatmap';
import { blockRange, documentBlocks, plainRange, type SteerLenses } from './lenses';
import { DEFAULT_STRENGTH, explicitStrength, readSettings, SECTION } from './settings';
import { resolveStrength, STRENGTH_SOURCES, type StrengthSource } from '../../core/experiment/artifacts';
import { vectorName, type VectorChoice } from './vectors';
import { COMMAND_IDS } from '../commandIds';

const STRENGTH_KEY = 'iterativeVectors.inline.strengthOverride';
const RERUN_DELAY_MS = 300;

/** What `iterativeVectors.steerPrompt` returns (plain JSON). */
export interface SteerResult {
  prompt: string;
  /** Absolute path of the vector artifact. */
  vector: string;
  vectorName: string;
  /** "query" or the class label of the row used. */
  row: string;
  strength: number;
  /** Where the strength came from: given (argument, Set Strength, a setting), the vector file's chosen one, or the default. */
  strengthSource: StrengthSource;
  maxNewTokens: number;
  temperature: number;
  seed: number;
  /** The completions (without the prompt). */
  steered: string;
  unsteered: string;
  differ: boolean;
  /** Index of the first generated token that differs (-1: none). */
  firstDifference: number;
  /** Prompt length in tokens (with BOS when the model's tokenizer starts texts with one, see promptBos). */
  promptTokens: number;
  stopReason: { steered: string; unsteered: string };
  /** Per-token effects (steering at every prompt token): a digest, and KL per token. */
  effects: EffectsSummary & { perToken: { text: string; kl: number; edited: boolean }[] };
  ms: number;
}

/** What `iterativeVectors.compare` returns: the result and the two virtual documents of the diff. */
export interface CompareResult extends SteerResult {
  diff: { left: string; right: string; title: string };
}

type Mode = 'steer' | 'compare';

/** A prompt to steer: its text, and where it is (for the heatmap). */
interface PromptSource {
  text: string;
  key: string;
  document?: vscode.TextDocument;
  range?: vscode.Range;
}

/** A run fully resolved (what a strength change re-runs). */
interface RunSpec {
  mode: Mode;
  source: { uri?: string; range?: vscode.Range; text?: string };
  vector: string;
  row: string | number;
  maxNewTokens: number;
  temperature: number;
  seed: number;
}

/**
 * Inline steering: resolves prompt, vector and options, runs steered and unsteered completions and
 * per-token effects on the engine's model (one run at a time; a new run cancels the one it
 * supersedes), and shows the results (heatmap, after-text, diff documents, status bar).
 */
export class InlineController implements vscode.Disposable {
  private readonly runs = new RunSlot();
  private last: RunSpec | undefined;
  private rerunTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly statusItem: vscode.StatusBarItem;
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly engine: Engine,
    private readonly log: vscode.LogOutputChannel,
    private readonly vectors: VectorChoice,
    private readonly documents: SteerDocuments,
    private readonly heatmap: Heatmap,
    private readonly lenses: SteerLenses,
  ) {
    this.statusItem = vscode.window.createStatusBarItem('iterativeVectors.inline.strength', vscode.StatusBarAlignment.Right, 90);
    this.statusItem.name = 'Iterative Vectors: steering strength';
    this.statusItem.command = COMMAND_IDS.setStrength;
    this.subscriptions.push(
      this.statusItem,
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (!e.affectsConfiguration(SECTION)) return;
        // A strength set in the settings replaces one set with the command.
        if (e.affectsConfiguration(`${SECTION}.strength`)) void this.context.workspaceState.update(STRENGTH_KEY, undefined);
        if (e.affectsConfiguration(`${SECTION}.heatmap`)) this.heatmap.refresh();
        this.updateStatus();
        this.lenses.refresh();
      }),
    );
    this.updateStatus();
  }

  /** The strength in effect: set with setStrength (per workspace), else the setting. */
  get strength(): number {
    return this.chosenStrength ?? readSettings().strength;
  }

  /** A strength the user chose: with setStrength, or in the settings; undefined leaves it to the vector file's chosen one. */
  private get chosenStrength(): number | undefined {
    return parseStrength(this.context.workspaceState.get(STRENGTH_KEY)) ?? explicitStrength();
  }

  // -------------------------------------------------------------------------------------------
  // Commands

  steerPrompt(args?: SteerArgs): Promise<SteerResult | Cancelled | undefined> {
    return this.command('steer', args) as Promise<SteerResult | Cancelled | undefined>;
  }

  compare(args?: SteerArgs): Promise<CompareResult | Cancelled | undefined> {
    return this.command('compare', args) as Promise<CompareResult | Cancelled | undefined>;
  }

  /**
   * Sets the strength: a number (or { strength }), a step ({ delta }), or without arguments an
   * InputBox that re-runs the last prompt as you type (debounced). Returns { strength }.
   */
  async setStrength(arg?: unknown): Promise<{ strength: number } | undefined> {
    const given = parseStrength(arg) ?? parseStrength((arg as { strength?: unknown } | undefined)?.strength);
    const delta = parseStrength((arg as { delta?: unknown } | undefined)?.delta);
    if (given !== undefined || delta !== undefined) {
      const value = given ?? round(this.strength + delta!);
      await this.applyStrength(value, true);
      return { strength: value };
    }
    if (arg !== undefined && typeof arg !== 'object') {
      void vscode.window.showErrorMessage(`Iterative Vectors: strength ${JSON.stringify(arg)} is not a number`);
      return undefined;
    }
    return this.strengthInput();
  }

  /** QuickPick of the workspace's vectors (remembered per workspace). */
  async chooseVector(): Promise<string | undefined> {
    try {
      const path = await this.vectors.pick({ interactive: true, autoSingle: false });
      if (!path) return undefined;
      const setting = readSettings().vector;
      if (setting)
        void vscode.window.showWarningMessage(`The setting iterativeVectors.inline.vector ("${setting}") takes precedence over the vector you picked.`);
      this.log.info(`inline steering: vector ${path}`);
      this.updateStatus();
      this.lenses.refresh();
      if (this.last && !setting) {
        this.last = { ...this.last, vector: path };
        this.scheduleRerun(0);
      }
      return path;
    } catch (e) {
      this.report(e, true);
      return undefined;
    }
  }

  /** Runs `iterativeVectors.showLayers` on the current vector (picking one first if needed). */
  async showLayers(): Promise<void> {
    try {
      const path = await this.vectors.current({ setting: readSettings().vector, relativeTo: vscode.window.activeTextEditor?.document.uri, interactive: true });
      if (!path) return;
      const commands = await vscode.commands.getCommands(true);
      if (!commands.includes(COMMAND_IDS.showLayers)) throw new UserError('the layer view (iterativeVectors.showLayers) is not available in this build');
      await vscode.commands.executeCommand(COMMAND_IDS.showLayers, vscode.Uri.file(path));
    } catch (e) {
      this.report(e, true);
    }
  }

  /** Removes the heatmap and after-text (from one document, or all). */
  clear(uri?: vscode.Uri): void {
    this.heatmap.clear(uri instanceof vscode.Uri ? uri : undefined);
  }

  // -------------------------------------------------------------------------------------------
  // Runs

  private async command(mode: Mode, args: SteerArgs | undefined): Promise<SteerResult | CompareResult | Cancelled | undefined> {
    const interactive = isInteractive(args);
    try {
      if (args !== undefined && (typeof args !== 'object' || args === null))
        throw new UserError('the arguments must be an object { uri, range | text, vector, strength, row, maxNewTokens }');
      const unknown = args ? unknownKeys(args) : [];
      if (unknown.length)
        throw new UserError(
          `unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')} (known: uri, range, text, vector, strength, row, maxNewTokens, temperature, seed)`,
        );
      const spec = await this.resolve(mode, args ?? {}, interactive);
      if (!spec) return undefined;
      const strength = parseStrength(args?.strength) ?? this.chosenStrength;
      if (args?.strength !== undefined && parseStrength(args.strength) === undefined)
        throw new UserError(`strength ${JSON.stringify(args.strength)} is not a number`);
      return await this.run(spec, strength, interactive ? 'notification' : 'window');
    } catch (e) {
      if (isCancellation(e)) {
        this.log.info('inline steering: run cancelled (superseded or stopped)');
        return interactive ? undefined : { cancelled: true };
      }
      this.report(e, interactive);
      if (!interactive) throw e instanceof Error ? e : new Error(String(e));
      return undefined;
    }
  }

  private report(e: unknown, show: boolean): void {
    reportFailure(this.log, 'inline steering', e, show);
  }

  /** Prompt, vector and options from the arguments, the settings and the active editor. */
  private async resolve(mode: Mode, args: SteerArgs, interactive: boolean): Promise<RunSpec | undefined> {
    const settings = readSettings();
    const source = await this.promptSource(args, interactive);
    if (!source) return undefined;
    const vector = await this.vectors.current({ arg: args.vector, setting: settings.vector, relativeTo: source.document?.uri, interactive });
    if (!vector) return undefined;
    // A vector handed over by the UI (the vector editor's "Steer a prompt") becomes the current one.
    if (args.vector !== undefined && interactive) await this.vectors.remember(vector);
    const int = (x: unknown, name: string, fallback: number, min: number) => {
      if (x === undefined) return fallback;
      if (typeof x !== 'number' || !Number.isInteger(x) || x < min) throw new UserError(`${name} must be an integer >= ${min}, got ${JSON.stringify(x)}`);
      return x;
    };
    const temperature = args.temperature ?? settings.temperature;
    if (typeof temperature !== 'number' || !(temperature >= 0)) throw new UserError(`temperature must be a number >= 0, got ${JSON.stringify(temperature)}`);
    return {
      mode,
      source: source.document ? { uri: source.document.uri.toString(), range: source.range } : { text: source.text },
      vector,
      row: parseRow(args.row ?? settings.row),
      maxNewTokens: int(args.maxNewTokens, 'maxNewTokens', settings.maxNewTokens, 1),
      temperature,
      seed: int(args.seed, 'seed', settings.seed, 0),
    };
  }

  /**
   * The prompt: `text`; or `uri` with `range` (else the whole document); or in the active editor
   * the selection, else the block under the cursor; else (interactive) an InputBox. Leading and
   * trailing white space is left out (a trailing newline would make the last position a newline token).
   */
  private async promptSource(args: SteerArgs, interactive: boolean): Promise<PromptSource | undefined> {
    if (typeof args.text === 'string') {
      const text = args.text.trim();
      if (!text) throw new UserError('the prompt is empty');
      return { text, key: `text:${hash(text)}` };
    }
    if (args.text !== undefined) throw new UserError('"text" must be a string');
    if (args.range !== undefined && args.uri === undefined) throw new UserError('"range" needs "uri"');
    let document: vscode.TextDocument;
    let range: vscode.Range | undefined;
    if (args.uri !== undefined) {
      const uri = parseUri(args.uri);
      document = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString()) ?? (await vscode.workspace.openTextDocument(uri));
      if (args.range !== undefined) {
        range = parseRange(args.range);
        if (!range)
          throw new UserError('"range" must be a Range, { start: { line, character }, end: { line, character } } or [line, character, line, character]');
        range = document.validateRange(range);
      } else {
        range = new vscode.Range(new vscode.Position(0, 0), document.lineAt(document.lineCount - 1).range.end);
      }
    } else {
      const editor = vscode.window.activeTextEditor;
      const block = editor && (editor.selection.isEmpty ? blockAt(documentBlocks(editor.document), editor.selection.active.line) : undefined);
      if (!editor || (editor.selection.isEmpty && !block)) {
        if (!interactive) throw new UserError('give "text", or "uri" (and "range")');
        const text = await vscode.window.showInputBox({
          title: 'Iterative Vectors: prompt to steer',
          prompt: 'Tip: in any document, the lenses above each paragraph steer it in place.',
          value: this.lastPrompt,
          ignoreFocusOut: true,
        });
        if (text === undefined) return undefined;
        return this.promptSource({ text }, interactive);
      }
      document = editor.document;
      range = block ? blockRange(document, block) : editor.selection;
    }
    range = trimRange(document, range);
    const text = document.getText(range);
    if (!text) throw new UserError('the prompt is empty');
    return { text, key: `${document.uri.toString()}#${range.start.line}`, document, range };
  }

  /** The current text of a spec's prompt (a re-run reads the document again). */
  private async reread(spec: RunSpec): Promise<PromptSource> {
    if (spec.source.text !== undefined) return { text: spec.source.text, key: `text:${hash(spec.source.text)}` };
    const source = await this.promptSource({ uri: spec.source.uri, range: spec.source.range }, false);
    return source!;
  }

  /** The last prompt run (offered again by the prompt InputBox). */
  private get lastPrompt(): string | undefined {
    return this.last?.source.text;
  }

  /** Queues the run behind the current one, which it supersedes; one that does not finish throws CancelledError. */
  private async run(spec: RunSpec, strength: number | undefined, progress: 'notification' | 'window'): Promise<SteerResult | CompareResult> {
    const outcome = await this.runs.start((run) => this.execute(spec, strength, progress, run)).outcome;
    if (outcome.status === 'failed') throw outcome.error;
    if (outcome.status !== 'done') throw new CancelledError();
    // Only a run that worked is what a strength change re-runs.
    this.last = spec;
    return outcome.value;
  }

  private async execute(spec: RunSpec, strength: number | undefined, where: 'notification' | 'window', run: Run): Promise<SteerResult | CompareResult> {
    throwIfCancelled(run);
    const source = await this.reread(spec);
    // Held through the run: a settings change does not dispose the model under it.
    return this.engine.use({}, ({ model, tokenizer }) => this.steer(spec, source, strength, where, run, model, tokenizer));
  }

  private async steer(
    spec: RunSpec,
    source: PromptSource,
    given: number | undefined,
    where: 'notification' | 'window',
    run: Run,
    model: SteerableModel,
    tokenizer: TextTokenizer,
  ): Promise<SteerResult | CompareResult> {
    const artifact = this.vectors.load(spec.vector);
    // The vector file's model and tokenizer, as evaluate checks them (chooseRows checks the model only).
    checkModelMatch(artifact, model.info, spec.vector, { tokenizerSha256: tokenizer.sha256 });
    const { strength, source: strengthSource } = resolveStrength(artifact, given, DEFAULT_STRENGTH);
    const chosen = chooseRows(artifact, model.info, spec.vector, spec.row);
    const name = vectorName(spec.vector);
    const title = `Iterative Vectors: steering with ${name} (${chosen.rowName}, a=${strength})`;
    const bos = promptBos(tokenizer);
    const started = performance.now();
    const { gen, effects } = await vscode.window.withProgress(
      { location: where === 'notification' ? vscode.ProgressLocation.Notification : vscode.ProgressLocation.Window, title, cancellable: true },
      async (progress, token) => {
        run.follow(cancellationOf(token));
        progress.report({ message: 'unsteered and steered completions…' });
        const gen = await steeredGeneration(model, tokenizer, source.text, {
          bos,
          rows: chosen.rows,
          strength,
          maxNewTokens: spec.maxNewTokens,
          temperature: spec.temperature,
          seed: spec.seed,
          cancellation: run,
        });
        progress.report({ message: 'per-token effects…' });
        const effects = await tokenEffects(model, tokenizer, source.text, { rows: chosen.rows, strength, bos, cancellation: run });
        return { gen, effects };
      },
    );
    // A run stopped after its last check shows nothing: only the latest run's results are shown.
    throwIfCancelled(run);
    const ms = performance.now() - started;
    const summary = summarizeEffects(effects);
    const result: SteerResult = {
      prompt: source.text,
      vector: spec.vector,
      vectorName: name,
      row: chosen.rowName,
      strength,
      strengthSource,
      maxNewTokens: spec.maxNewTokens,
      temperature: spec.temperature,
      seed: spec.seed,
      steered: gen.steered.text,
      unsteered: gen.unsteered.text,
      differ: gen.firstDifference >= 0,
      firstDifference: gen.firstDifference,
      promptTokens: gen.promptTokens.length,
      stopReason: { steered: gen.steered.stopReason, unsteered: gen.unsteered.stopReason },
      effects: { ...summary, perToken: effects.effects.map((t) => ({ text: t.text, kl: t.kl, edited: t.edited })) },
      ms: Math.round(ms),
    };
    this.log.info(
      `inline steering: ${name} row ${chosen.rowName}, a=${strength} (${STRENGTH_SOURCES[strengthSource]}), ${gen.promptTokens.length} prompt tokens: ` +
        `${result.differ ? `completions differ from token ${gen.firstDifference}` : 'completions equal'}, mean KL ${summary.meanKl.toFixed(3)} nats, ${result.ms} ms` +
        `\n  unsteered: ${JSON.stringify(gen.unsteered.text)}\n  steered:   ${JSON.stringify(gen.steered.text)}`,
    );
    const uris = this.documents.uris(source.key);
    this.documents.set(uris.unsteered, source.text + gen.unsteered.text);
    this.documents.set(uris.steered, source.text + gen.steered.text);
    this.showMarks(source, gen, effects, tokenizer, `${name} · ${chosen.rowName} · a=${strength}`);
    this.updateStatus(`${name} (${chosen.rowName})`);
    const diffTitle = `unsteered ↔ steered (a=${strength}) · ${name} ${chosen.rowName}`;
    const diff = { left: uris.unsteered.toString(), right: uris.steered.toString(), title: diffTitle };
    // A prompt typed in the InputBox (the palette, the vector editor's "Steer a prompt") has no
    // document to draw the heatmap on: the completions show in the diff, as Compare shows them.
    const typed = !source.document && where === 'notification';
    if (spec.mode === 'compare' || typed) await this.openDiff(uris.unsteered, uris.steered, diffTitle, where === 'window');
    else if (isDiffOpen(uris.steered)) await this.openDiff(uris.unsteered, uris.steered, diffTitle, true);
    return spec.mode === 'compare' || typed ? { ...result, diff } : result;
  }

  /** Opens the diff; an open one is replaced so that its title shows the new strength. */
  private async openDiff(left: vscode.Uri, right: vscode.Uri, title: string, preserveFocus: boolean): Promise<void> {
    let viewColumn: vscode.ViewColumn | undefined;
    for (const group of vscode.window.tabGroups.all) {
      for (const tab of group.tabs) {
        if (tab.input instanceof vscode.TabInputTextDiff && tab.input.modified.toString() === right.toString()) {
          if (tab.label === title) return;
          viewColumn = group.viewColumn;
          await vscode.window.tabGroups.close(tab, true);
        }
      }
    }
    await vscode.commands.executeCommand('vscode.diff', left, right, title, { preview: true, preserveFocus, viewColumn });
  }

  /** Heatmap over the prompt's tokens and the steered completion's first line after it (when the prompt is in a document). */
  private showMarks(source: PromptSource, gen: SteeredGeneration, effects: TokenEffects, tokenizer: { tokenText(id: number): string }, caption: string): void {
    const { document, range } = source;
    if (!document || !range || document.isClosed || document.getText(range) !== source.text) return;
    const base = document.offsetAt(range.start);
    // The text's tokens start at editFrom: 1 after a BOS, else 0.
    const first = effects.editFrom;
    const spans = tokenSpans(tokenizer, source.text, effects.tokens.slice(first));
    const metric = readSettings().heatmap;
    const byRange = new Map<string, TokenMark>();
    effects.effects.forEach((effect, pos) => {
      const span = pos >= first ? spans[pos - first] : undefined;
      if (!span || span.end <= span.start) return;
      const r = new vscode.Range(document.positionAt(base + span.start), document.positionAt(base + span.end));
      const key = `${span.start}:${span.end}`;
      const prev = byRange.get(key);
      // Byte tokens of one character share its range: keep the strongest.
      if (!prev || effectValue(effect, metric) > effectValue(prev.effect, metric)) byRange.set(key, { range: r, effect });
    });
    const steered = firstLine(gen.steered.text);
    const ghost = gen.firstDifference < 0 ? `a=${effects.strength}: same as unsteered — ${steered}` : `a=${effects.strength} ⟶ ${steered}`;
    this.heatmap.set({
      uri: document.uri.toString(),
      version: document.version,
      block: range,
      tokens: [...byRange.values()],
      ghost,
      caption,
      compareArgs: { uri: document.uri.toString(), range: plainRange(range), source: 'hover' },
    });
  }

  // -------------------------------------------------------------------------------------------
  // Strength

  private async applyStrength(value: number, persist: boolean): Promise<void> {
    if (persist) await this.context.workspaceState.update(STRENGTH_KEY, value);
    else this.preview = value;
    this.updateStatus();
    this.lenses.refresh(100);
    this.scheduleRerun();
  }

  /** While the InputBox is open, the value typed so far (not yet stored). */
  private preview: number | undefined;

  private strengthInput(): Promise<{ strength: number } | undefined> {
    const before = this.strength;
    const box = vscode.window.createInputBox();
    box.title = 'Iterative Vectors: steering strength';
    box.prompt = this.last
      ? 'The last prompt re-runs as you type. Enter keeps it, Escape goes back.'
      : 'Multiplies the vector added at every layer (0: no steering; negative: steer away).';
    box.value = String(before);
    box.valueSelection = [0, box.value.length];
    let accepted = false;
    return new Promise((resolve) => {
      box.onDidChangeValue((v) => {
        const x = parseStrength(v);
        box.validationMessage = x === undefined ? 'A number, e.g. 0.3 (negative steers away)' : undefined;
        if (x !== undefined && x !== this.current()) void this.applyStrength(x, false);
      });
      box.onDidAccept(async () => {
        const x = parseStrength(box.value);
        if (x === undefined) return;
        accepted = true;
        this.preview = undefined;
        await this.context.workspaceState.update(STRENGTH_KEY, x);
        if (x !== before) this.log.info(`inline steering: strength ${x}`);
        this.updateStatus();
        this.lenses.refresh();
        box.hide();
        resolve({ strength: x });
      });
      box.onDidHide(() => {
        box.dispose();
        if (accepted) return;
        const previewed = this.preview;
        this.preview = undefined;
        this.updateStatus();
        this.lenses.refresh();
        if (previewed !== undefined && previewed !== before) this.scheduleRerun();
        resolve(undefined);
      });
      box.show();
    });
  }

  /** The strength shown and used by re-runs: the InputBox's value while it is open. */
  private current(): number {
    return this.preview ?? this.strength;
  }

  /** Re-runs the last prompt with the current strength after `delayMs` of quiet, cancelling a run in flight. */
  private scheduleRerun(delayMs = RERUN_DELAY_MS): void {
    const spec = this.last;
    if (!spec) return;
    clearTimeout(this.rerunTimer);
    // Stop the run in flight now rather than after the debounce: the re-run replaces it.
    this.runs.cancel();
    this.rerunTimer = setTimeout(() => {
      this.run(spec, this.current(), 'window').catch((e) => this.report(e, true));
    }, delayMs);
  }

  private updateStatus(vector?: string): void {
    const settings = readSettings();
    const path = settings.vector || this.vectors.remembered;
    const label = vector ?? (path ? vectorName(path) : undefined);
    if (!label && !this.last) {
      this.statusItem.hide();
      return;
    }
    const a = this.current();
    this.statusItem.text = `$(pulse) IV a=${a}`;
    this.statusItem.tooltip = `Inline steering${label ? ` with ${label}` : ''}, strength ${a}: click to change`;
    this.statusItem.show();
  }

  /** Strength the lenses show. */
  lensStatus(): { enabled: boolean; strength: number } {
    return { enabled: readSettings().codeLens, strength: this.current() };
  }

  dispose(): void {
    clearTimeout(this.rerunTimer);
    this.runs.dispose();
    this.subscriptions.forEach((d) => d.dispose());
  }
}

function isDiffOpen(right: vscode.Uri): boolean {
  return vscode.window.tabGroups.all.some((g) =>
    g.tabs.some((t) => t.input instanceof vscode.TabInputTextDiff && t.input.modified.toString() === right.toString()),
  );
}

/** `range` without leading and trailing white space (the range itself when it is all white space). */
function trimRange(document: vscode.TextDocument, range: vscode.Range): vscode.Range {
  const text = document.getText(range);
  const lead = text.length - text.trimStart().length;
  const trail = text.length - text.trimEnd().length;
  if (lead + trail >= text.length) return range;
  const start = document.offsetAt(range.start);
  return new vscode.Range(document.positionAt(start + lead), document.positionAt(start + text.length - trail));
}

function firstLine(text: string, max = 100): string {
  const rest = text.replace(/^\s*\n/, '');
  const line = rest.split('\n')[0].trimEnd();
  if (line.length > max) return `${line.slice(0, max)}…`;
  return rest.trim().length > line.trim().length ? `${line} …` : line;
}

function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

function hash(s: string): string {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return (h >>> 0).toString(16);
}
