import * as vscode from 'vscode';
import type { DeviceSetting } from '../runtime/executionProvider';
import { loadModel, type LoadedModel } from '../runtime/loadModel';

/**
 * The one model the extension host holds: loaded on first use with the machine-scoped settings
 * (`iterativeVectors.model`, `iterativeVectors.device`), cached in global storage, reloaded when
 * those settings change. Every command and view goes through `engine.get()`.
 */
export class Engine implements vscode.Disposable {
  private loading: Promise<LoadedModel> | undefined;
  private readonly subscription: vscode.Disposable;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.subscription = vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('iterativeVectors.model') || e.affectsConfiguration('iterativeVectors.device')) void this.reset();
    });
  }

  /** The loaded model and tokenizer (loading them the first time, with a progress notification). */
  get(): Promise<LoadedModel> {
    if (!this.loading) {
      const config = vscode.workspace.getConfiguration('iterativeVectors');
      const model = config.get<string>('model', 'default') || 'default';
      const device = config.get<DeviceSetting>('device', 'cpu');
      this.loading = Promise.resolve(
        vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Iterative Vectors: loading ${model === 'default' ? 'stories15M' : model}` }, () =>
          loadModel({ model, device, cacheDir: this.context.globalStorageUri.fsPath, log: (m) => this.log.info(m) }),
        ),
      );
      this.loading.catch(() => (this.loading = undefined));
    }
    return this.loading;
  }

  async reset(): Promise<void> {
    const previous = this.loading;
    this.loading = undefined;
    await (await previous?.catch(() => undefined))?.model.dispose();
  }

  dispose(): void {
    this.subscription.dispose();
    void this.reset();
  }
}
