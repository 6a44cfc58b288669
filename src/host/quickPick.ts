import * as vscode from 'vscode';
import { splitOfFileName } from '../core/datasets/files';
import { METHOD_DESCRIPTIONS, parseFieldText, type CheckedOptions, type Defaults, type EvalMethod, type FieldName } from '../core/experiment/spec';
import {
  builtinDatasetItems,
  fieldChoices,
  fieldTitle,
  formatValue,
  reviewFields,
  stepApplies,
  wizardSteps,
  type WizardCommand,
  type WizardStep,
} from './commands/wizardPlan';
import { fileName, parentOf } from './artifacts';

const BACK = Symbol('back');
type Back = typeof BACK;

type Item<T> = vscode.QuickPickItem & { value?: T };

interface PickOptions<T> {
  title: string;
  step?: number;
  totalSteps?: number;
  placeholder: string;
  items: Item<T>[];
  back: boolean;
  active?: T;
}

/** One QuickPick: the chosen item's value, BACK, or undefined when dismissed. */
function pick<T>(o: PickOptions<T>): Promise<T | Back | undefined> {
  return new Promise((resolve) => {
    const qp = vscode.window.createQuickPick<Item<T>>();
    qp.title = o.title;
    qp.step = o.step;
    qp.totalSteps = o.totalSteps;
    qp.placeholder = o.placeholder;
    qp.items = o.items;
    qp.matchOnDescription = true;
    qp.ignoreFocusOut = true;
    if (o.back) qp.buttons = [vscode.QuickInputButtons.Back];
    const active = o.items.find((i) => i.value !== undefined && i.value === o.active);
    if (active) qp.activeItems = [active];
    let done = false;
    const finish = (v: T | Back | undefined) => {
      if (done) return;
      done = true;
      resolve(v);
      qp.dispose();
    };
    qp.onDidTriggerButton((b) => b === vscode.QuickInputButtons.Back && finish(BACK));
    qp.onDidAccept(() => {
      const item = qp.selectedItems[0];
      if (item && item.value !== undefined) finish(item.value);
    });
    qp.onDidHide(() => finish(undefined));
    qp.show();
  });
}

/** One InputBox, validated as the user types: the text, BACK, or undefined when dismissed. */
function input(o: {
  title: string;
  prompt: string;
  value: string;
  placeholder?: string;
  validate: (text: string) => string | undefined;
}): Promise<string | Back | undefined> {
  return new Promise((resolve) => {
    const box = vscode.window.createInputBox();
    box.title = o.title;
    box.prompt = o.prompt;
    box.value = o.value;
    box.placeholder = o.placeholder;
    box.ignoreFocusOut = true;
    box.buttons = [vscode.QuickInputButtons.Back];
    let done = false;
    const finish = (v: string | Back | undefined) => {
      if (done) return;
      done = true;
      resolve(v);
      box.dispose();
    };
    box.onDidChangeValue((text) => (box.validationMessage = o.validate(text)));
    box.onDidTriggerButton(() => finish(BACK));
    box.onDidAccept(() => {
      const problem = o.validate(box.value);
      box.validationMessage = problem;
      if (!problem) finish(box.value);
    });
    box.onDidHide(() => finish(undefined));
    box.show();
  });
}

export interface WizardContext {
  defaults: Defaults;
  /** Evaluate: reads a chosen vector file and returns the state seeded from it (its method, dataset, label words). */
  onVector?: (uri: vscode.Uri, state: CheckedOptions) => Promise<CheckedOptions>;
}

const TITLES: Record<WizardCommand, string> = {
  extract: 'Extract vectors',
  evaluate: 'Evaluate',
  sweep: 'Sweep Iterative Vectors',
  compare: 'Compare methods',
};
const RUN_LABELS: Record<WizardCommand, string> = { extract: 'Extract', evaluate: 'Evaluate', sweep: 'Run the sweep', compare: 'Compare every method' };

/**
 * The palette's multi-step QuickPick: the steps of `wizardSteps` (dataset, method, vector), then a
 * review list of every applicable option with its value (settings-seeded defaults marked) where any
 * can be edited, and "Run". Back goes one step back; Escape cancels (undefined).
 */
export async function runWizard(command: WizardCommand, initial: CheckedOptions, ctx: WizardContext): Promise<CheckedOptions | undefined> {
  const title = `Iterative Vectors: ${TITLES[command]}`;
  // Fields preset by the caller (a URI from the explorer or the vector editor) are not asked again.
  const preset = new Set(Object.keys(initial));
  const steps = wizardSteps(command);
  // The steps taken, with the state before each: Back pops one.
  const taken: { index: number; before: CheckedOptions }[] = [];
  let state: CheckedOptions = { ...initial };
  let index = 0;
  for (;;) {
    while (index < steps.length && !stepApplies(command, steps[index], state, preset)) index++;
    const asked = taken.length + steps.slice(index).filter((s) => stepApplies(command, s, state, preset)).length;
    const total = asked + 1;
    const canGoBack = taken.length > 0;
    const r =
      index < steps.length
        ? await askStep(command, steps[index], state, ctx, title, taken.length + 1, total, canGoBack)
        : await review(command, state, ctx.defaults, title, total, canGoBack);
    if (r === undefined) return undefined;
    if (r === BACK) {
      const prev = taken.pop();
      if (prev) ({ index, before: state } = prev);
      continue;
    }
    if (index >= steps.length) return r as CheckedOptions;
    taken.push({ index, before: state });
    state = (r as { state: CheckedOptions }).state;
    index++;
  }
}

async function askStep(
  command: WizardCommand,
  step: WizardStep,
  state: CheckedOptions,
  ctx: WizardContext,
  title: string,
  n: number,
  total: number,
  back: boolean,
): Promise<{ state: CheckedOptions } | Back | undefined> {
  switch (step.field) {
    case 'dataset': {
      const v = await pickDataset(title, n, total, back, state.dataset);
      if (v === undefined || v === BACK) return v;
      const next = { ...state, dataset: v };
      return { state: next };
    }
    case 'method': {
      const items: Item<string>[] = step.values.map((m) => ({ label: m, description: METHOD_DESCRIPTIONS[m as EvalMethod], value: m }));
      const v = await pick({
        title,
        step: n,
        totalSteps: total,
        placeholder: command === 'extract' ? 'Which vectors to extract' : 'Which method to evaluate',
        items,
        back,
        active: state.method ?? (command === 'extract' ? 'iv' : undefined),
      });
      if (v === undefined || v === BACK) return v;
      return { state: { ...state, method: v as EvalMethod } };
    }
    case 'vector': {
      const found = await vscode.workspace.findFiles('**/*.ivec.safetensors', '**/node_modules/**', 200);
      const items: Item<vscode.Uri | 'browse' | 'none'>[] = [
        ...found.map((uri) => ({ label: `$(symbol-array) ${fileName(uri)}`, description: vscode.workspace.asRelativePath(parentOf(uri)), value: uri })),
        { label: '$(folder-opened) Browse for a vector file…', value: 'browse' as const },
        { label: '$(circle-slash) No vector file', description: 'ICL baselines, or extract vectors on train first', value: 'none' as const },
      ];
      const v = await pick({ title, step: n, totalSteps: total, placeholder: 'Vectors to evaluate', items, back });
      if (v === undefined || v === BACK) return v;
      if (v === 'none') return { state: { ...state } };
      let uri: vscode.Uri | undefined = v === 'browse' ? undefined : v;
      if (v === 'browse') {
        const chosen = await vscode.window.showOpenDialog({
          canSelectMany: false,
          filters: { 'Vector artifacts': ['safetensors'] },
          title: 'Vector artifact (.ivec.safetensors)',
        });
        if (!chosen?.[0]) return BACK;
        uri = chosen[0];
      }
      if (!ctx.onVector) return { state: { ...state, vector: uri! } };
      return { state: await ctx.onVector(uri!, { ...state, vector: uri! }) };
    }
  }
}

/** Dataset sources: files and split folders in the workspace, the built-ins, and browsing. */
async function pickDataset(title: string, n: number, total: number, back: boolean, current: unknown): Promise<string | vscode.Uri | Back | undefined> {
  const files = await vscode.workspace.findFiles('**/*.{jsonl,csv,tsv,parquet}', '{**/node_modules/**,**/.iv/**,**/.git/**}', 500);
  const folders = new Map<string, vscode.Uri>();
  for (const f of files) if (splitOfFileName(fileName(f))) folders.set(parentOf(f).toString(), parentOf(f));
  type V = string | vscode.Uri | 'browse-file' | 'browse-folder';
  const items: Item<V>[] = [];
  if (folders.size) items.push({ label: 'Folders with train / validation / test files', kind: vscode.QuickPickItemKind.Separator });
  for (const uri of [...folders.values()].sort((a, b) => a.path.localeCompare(b.path))) {
    items.push({ label: `$(folder) ${vscode.workspace.asRelativePath(uri)}`, value: uri });
  }
  if (files.length) items.push({ label: 'Files (split with the seed)', kind: vscode.QuickPickItemKind.Separator });
  for (const uri of files.sort((a, b) => a.path.localeCompare(b.path)))
    items.push({ label: `$(file) ${fileName(uri)}`, description: vscode.workspace.asRelativePath(parentOf(uri)), value: uri });
  items.push({ label: 'Built-in', kind: vscode.QuickPickItemKind.Separator });
  for (const b of builtinDatasetItems()) items.push({ label: `$(library) ${b.label}`, description: b.description, value: b.value });
  items.push({ label: '', kind: vscode.QuickPickItemKind.Separator });
  items.push({ label: '$(folder-opened) Browse for a file…', value: 'browse-file' });
  items.push({ label: '$(folder-opened) Browse for a folder…', value: 'browse-folder' });
  if (current !== undefined) {
    const text = formatValue(current);
    items.unshift({ label: `$(history) ${text}`, description: "from the vector file's provenance", value: current as V });
  }
  for (;;) {
    const v = await pick<V>({ title, step: n, totalSteps: total, placeholder: 'Dataset', items, back, active: current as V | undefined });
    if (v === undefined || v === BACK) return v;
    if (v === 'browse-file' || v === 'browse-folder') {
      const folder = v === 'browse-folder';
      const chosen = await vscode.window.showOpenDialog({
        canSelectFiles: !folder,
        canSelectFolders: folder,
        canSelectMany: false,
        title: folder ? 'Folder with train / validation / test files' : 'Dataset file',
        filters: folder ? undefined : { Datasets: ['jsonl', 'json', 'csv', 'tsv', 'parquet'] },
      });
      if (!chosen?.[0]) continue;
      return chosen[0];
    }
    return v;
  }
}

type ReviewValue = { run: true } | { field: FieldName };

async function review(
  command: WizardCommand,
  initial: CheckedOptions,
  defaults: Defaults,
  title: string,
  total: number,
  back: boolean,
): Promise<CheckedOptions | Back | undefined> {
  let state = initial;
  let lastField: FieldName | undefined;
  for (;;) {
    const fields = reviewFields(command, state, defaults);
    const runItem: Item<ReviewValue> = { label: `$(play) ${RUN_LABELS[command]}`, description: summary(command, state), value: { run: true } };
    const items: Item<ReviewValue>[] = [
      runItem,
      { label: 'Options (select one to change it)', kind: vscode.QuickPickItemKind.Separator },
      ...fields.map((f) => ({ label: `${f.field} = ${f.value}`, description: f.isDefault ? '(default)' : '', detail: f.title, value: { field: f.field } })),
    ];
    const active = lastField ? items.find((i) => i.value && 'field' in i.value && i.value.field === lastField)?.value : runItem.value;
    const v = await pick<ReviewValue>({ title, step: total, totalSteps: total, placeholder: 'Review the options, then run', items, back, active });
    if (v === undefined || v === BACK) return v;
    if ('run' in v) return state;
    lastField = v.field;
    const edited = await editField(command, v.field, state, defaults, title);
    if (edited !== undefined) state = edited;
  }
}

function summary(command: string, state: CheckedOptions): string {
  const parts = [
    state.method,
    state.vector !== undefined ? formatValue(state.vector).split(/[\\/]/).pop() : undefined,
    state.dataset !== undefined ? formatValue(state.dataset).split(/[\\/]/).pop() : undefined,
  ];
  return parts.filter(Boolean).join(' · ') || command;
}

/** Edits one field: a pick for enums and booleans, an input box (checked as typed) for the rest; undefined: unchanged. */
async function editField(
  command: WizardCommand,
  field: FieldName,
  state: CheckedOptions,
  defaults: Defaults,
  title: string,
): Promise<CheckedOptions | undefined> {
  const current = reviewFields(command, state, defaults).find((f) => f.field === field);
  const choices = fieldChoices(command, field);
  const set = (value: unknown): CheckedOptions => {
    const next: Record<string, unknown> = { ...state };
    if (value === undefined) delete next[field];
    else next[field] = value;
    return next as CheckedOptions;
  };
  if (choices) {
    const items: Item<string>[] = [
      { label: '$(discard) Default', description: 'from the settings', value: '\u0000default' },
      ...choices.map((c) => ({ label: c, value: c })),
    ];
    const v = await pick({
      title: `${title}: ${field}`,
      placeholder: fieldTitle(command, field),
      items,
      back: true,
      active: current && !current.isDefault ? current.value : undefined,
    });
    if (v === undefined || v === BACK) return undefined;
    return set(v === '\u0000default' ? undefined : parseFieldText(command, field, v));
  }
  const text = await input({
    title: `${title}: ${field}`,
    prompt: `${fieldTitle(command, field)}. Empty: the default.`,
    value: current && !current.isDefault ? current.value : '',
    placeholder: current?.value,
    validate: (t) => {
      try {
        parseFieldText(command, field, t);
        return undefined;
      } catch (e) {
        return (e as Error).message.replace(/^field "[^"]*": /, '');
      }
    },
  });
  if (text === undefined || text === BACK) return undefined;
  return set(parseFieldText(command, field, text));
}
