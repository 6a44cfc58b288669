import * as vscode from 'vscode';
import { DEVICE_SETTINGS, type DeviceSetting } from '../runtime/executionProvider';
import type { LoadedModel } from '../runtime/loadModel';
import { loadModelInWorker } from '../runtime/worker/workerModel';

/** A run's own model choice (the commands' `model` / `device` / `threads` options), overriding the settings. */
export interface ModelOverrides {
  model?: string;
  device?: DeviceSetting;
  threads?: number;
}

interface Entry {
  loading: Promise<LoadedModel>;
  /** Runs holding it through `use`: a reset waits for them before disposing it. */
  leases: number;
  retired: boolean;
}

/**
 * The one model the extension host holds: loaded on first use with the machine-scoped settings
 * (`iterativeVectors.model`, `iterativeVectors.device`), cached in global storage, reloaded when
 * those settings change. Every command and view goes through `engine.get()` or `engine.use()`.
 */
export class Engine implements vscode.Disposable {
  private current: Entry | undefined;
  private readonly subscription: vscode.Disposable;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.subscription = vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('iterativeVectors.model') || e.affectsConfiguration('iterativeVectors.device')) void this.reset();
    });
  }

  /** The settings the shared model is loaded with. */
  settings(): { model: string; device: DeviceSetting } {
    const config = vscode.workspace.getConfiguration('iterativeVectors');
    const model = config.get<string>('model', 'default') || 'default';
    const raw = config.get<string>('device', 'cpu');
    const device = DEVICE_SETTINGS.includes(raw as DeviceSetting) ? (raw as DeviceSetting) : 'cpu';
    if (device !== raw) this.log.warn(`setting iterativeVectors.device: "${raw}" is not one of ${DEVICE_SETTINGS.join(', ')}; using cpu`);
    return { model, device };
  }

  /** The loaded model and tokenizer (loading them the first time, with a progress notification). */
  get(): Promise<LoadedModel> {
    return this.entry().loading;
  }

  private entry(): Entry {
    if (!this.current) {
      const { model, device } = this.settings();
      const loading = Promise.resolve(
        vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Iterative Vectors: loading ${model === 'default' ? 'stories15M' : model}` }, () =>
          loadModelInWorker({ model, device, cacheDir: this.context.globalStorageUri.fsPath, log: (m) => this.log.info(m) }),
        ),
      );
      const entry: Entry = { loading, leases: 0, retired: false };
      this.current = entry;
      loading.catch(() => {
        if (this.current === entry) this.current = undefined;
      });
    }
    return this.current;
  }

  /**
   * Runs `fn` with a model: the shared one when the overrides ask for nothing else than the
   * settings (held until `fn` ends, even if the settings change meanwhile), else a model loaded for
   * this run alone and disposed after it.
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
    const loaded = await loadModelInWorker({ model, device, threads: overrides.threads, cacheDir: this.context.globalStorageUri.fsPath, log: (m) => this.log.info(m) });
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
