import * as vscode from 'vscode';
import type { DeviceSetting } from '../core/modelSettings';
import type { LoadedModel } from '../runtime/loadModel';
import { loadModelInWorker } from '../runtime/worker/workerModel';
import { loadOptionsOf, MODEL_SETTING_KEYS, modelLabel, providerSummary, type ModelLoadOptions, type ModelSettings } from './commands/modelSpec';
import { readModelSettings, SECTION } from './settings';

/** A run's own model choice (the commands' `model` / `device` / `threads` options), overriding the settings. */
export interface ModelOverrides {
  model?: string;
  device?: DeviceSetting;
  threads?: number;
}

interface Entry {
  /** The load options it was loaded with (JSON): a different key means the settings changed. */
  key: string;
  loading: Promise<LoadedModel>;
  /** Runs holding it through `use`: a reset waits for them before disposing it. */
  leases: number;
  retired: boolean;
}

const reported = new Set<string>();

/**
 * The one model the extension host holds: loaded on first use with the machine-scoped settings
 * (`iterativeVectors.model`, `device`, `hub.dtype`, `hub.offline`, `sitePattern`, `tokenizer`),
 * cached in global storage, reloaded when any of those settings changes. Every command and view goes
 * through `engine.get()` or `engine.use()`. Each load logs the execution provider the model runs on
 * and the providers that fell back (with the reason).
 */
export class Engine implements vscode.Disposable {
  private current: Entry | undefined;
  private readonly subscription: vscode.Disposable;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.subscription = vscode.workspace.onDidChangeConfiguration((e) => {
      if (Object.values(MODEL_SETTING_KEYS).some((k) => e.affectsConfiguration(`${SECTION}.${k}`))) void this.reset();
    });
  }

  /** The settings the shared model is loaded with (a bad value falls back to its default, with a warning in the log). */
  settings(): ModelSettings {
    const { settings, problems } = readModelSettings();
    for (const p of problems) {
      if (!reported.has(p)) {
        reported.add(p);
        this.log.warn(p);
      }
    }
    return settings;
  }

  private loadOptions(s: ModelSettings): ModelLoadOptions {
    return loadOptionsOf(s, process.env);
  }

  /** The loaded model and tokenizer (loading them the first time, with a progress notification). */
  get(): Promise<LoadedModel> {
    return this.entry().loading;
  }

  private entry(): Entry {
    const options = this.loadOptions(this.settings());
    const key = JSON.stringify(options);
    // The settings may have changed before their change event reached us: never hand out a model loaded with others.
    if (this.current && this.current.key !== key) void this.reset();
    if (!this.current) {
      // A dead worker takes the shared model with it: the next command loads a new one. The run that was using it reports the error.
      const onExit = (e: Error) => {
        if (this.current !== entry) return;
        this.current = undefined;
        this.log.error(e.message);
        if (entry.leases === 0) void vscode.window.showWarningMessage(`Iterative Vectors: ${e.message}`);
      };
      const loading = Promise.resolve(
        vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Iterative Vectors: loading ${modelLabel(options.model)}` }, () =>
          this.load(options, onExit),
        ),
      );
      const entry: Entry = { key, loading, leases: 0, retired: false };
      this.current = entry;
      loading.catch(() => {
        if (this.current === entry) this.current = undefined;
      });
    }
    return this.current;
  }

  /** Loads a model in a worker and reports where it runs (and what fell back) in the log. */
  private async load(options: ModelLoadOptions & { threads?: number }, onExit?: (e: Error) => void): Promise<LoadedModel> {
    const details = [
      `device ${options.device}`,
      options.dtype ? `dtype ${options.dtype}` : '',
      options.offline ? 'offline' : '',
      options.site ? `site pattern ${options.site}` : '',
      options.tokenizer !== 'auto' ? `tokenizer ${options.tokenizer}` : '',
      options.threads ? `${options.threads} threads` : '',
    ].filter(Boolean);
    this.log.info(`Loading ${options.model} (${details.join(', ')})…`);
    const loaded = await loadModelInWorker({ ...options, cacheDir: this.context.globalStorageUri.fsPath, log: (m) => this.log.info(m) }, { onExit });
    const { info, executionProvider } = loaded.model;
    this.log.info(
      `Loaded ${info.name}: ${info.nLayers} layers, d_model ${info.dModel}, execution provider ${executionProvider}${loaded.fallbacks.length ? ` (after ${loaded.fallbacks.length} fallback${loaded.fallbacks.length > 1 ? 's' : ''})` : ''}.`,
    );
    for (const f of loaded.fallbacks) this.log.warn(`Execution provider fallback: ${f}`);
    if (loaded.fallbacks.length) {
      void vscode.window.showWarningMessage(`Iterative Vectors: ${info.name} runs on ${providerSummary(executionProvider, loaded.fallbacks)}.`);
    }
    return loaded;
  }

  /**
   * Runs `fn` with a model: the shared one when the overrides ask for nothing else than the
   * settings (held until `fn` ends, even if the settings change meanwhile), else a model loaded for
   * this run alone (with the settings' dtype, offline, site pattern and tokenizer) and disposed after it.
   */
  async use<T>(overrides: ModelOverrides, fn: (loaded: LoadedModel) => Promise<T>): Promise<T> {
    const s = this.settings();
    const model = overrides.model ?? s.model;
    const device = overrides.device ?? s.device;
    if (model === s.model && device === s.device && overrides.threads === undefined) {
      const entry = this.entry();
      entry.leases++;
      try {
        return await fn(await entry.loading);
      } finally {
        entry.leases--;
        if (entry.retired && entry.leases === 0) await this.disposeEntry(entry);
      }
    }
    this.log.info(`Loading ${model} on ${device} for this run (the settings say ${s.model} on ${s.device}).`);
    const loaded = await this.load({ ...this.loadOptions(s), model, device, threads: overrides.threads });
    try {
      return await fn(loaded);
    } finally {
      await loaded.model.dispose();
    }
  }

  /** Drops the shared model (disposed now, or when the last run holding it ends); the next use loads it again. */
  async reset(): Promise<void> {
    const previous = this.current;
    this.current = undefined;
    if (!previous) return;
    previous.retired = true;
    if (previous.leases === 0) await this.disposeEntry(previous);
  }

  private async disposeEntry(entry: Entry): Promise<void> {
    await (await entry.loading.catch(() => undefined))?.model.dispose();
  }

  dispose(): void {
    this.subscription.dispose();
    void this.reset();
  }
}
