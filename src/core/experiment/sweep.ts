import { throwIfCancelled, type Cancellation } from '../errors';
import type { SteerableModel } from '../model';
import type { ResultsStore } from '../ports';
import { extractIterativeVectors, type ExtractOptions, type InjectAt } from '../iv/extract';
import type { RunStats } from '../icl/scoring';
import { evaluateMethod, type EvalOptions } from './methods';
import { checkSweepSettings, parseSweepResults, sweepHeaderLine, type SweepSettings } from './sweepResults';
import { splitRows, type Task } from './task';

export { parseSweepResults, SWEEP_FORMAT, type SweepResults, type SweepSettings } from './sweepResults';

/** The search grid: the paper's k x a1 x a2, plus non-iterative vectors (b = 0) with their own a2 range. */
export interface SweepGrid {
  shots: number[];
  extStrengths: number[];
  evalStrengths: number[];
  /** Also extract with b = 0 (no iteration; a1 is then unused) and evaluate these a2 values. */
  noIterationStrengths: number[];
}

export const PAPER_GRID: SweepGrid = {
  shots: [1, 2, 3, 4],
  extStrengths: [0.1, 0.3, 0.5, 0.7, 0.9],
  evalStrengths: [0.1, 0.3, 0.5, 0.7, 0.9],
  // A non-iterative vector is shorter, so it needs larger strengths than the paper's grid stops at.
  noIterationStrengths: [0.5, 1, 1.5, 2, 3, 4],
};

export interface SweepConfig {
  shots: number;
  refreshEvery: number;
  extStrength: number;
  evalStrength: number;
}

export interface SweepRow extends SweepConfig {
  accuracy: number;
  macroF1: number;
  auc: number | null;
  predictionShares: number[];
  extractMs: number;
  evalMs: number;
}

export interface SweepOptions {
  extract: Omit<ExtractOptions, 'shots' | 'strength' | 'refreshEvery' | 'cancellation' | 'onProgress'> & { refreshEvery: number };
  /** Validation evaluation (split is forced to validation). */
  eval: Omit<EvalOptions, 'split' | 'cancellation' | 'onProgress'>;
  injectAt: InjectAt;
  /**
   * Where the rows are appended as they finish (JSON Lines), after a header line with the settings
   * (see sweepResults.ts). Rows already there are not run again when the header's settings are this
   * run's; other settings, a store without a header or a bad line are a UserError naming the store.
   * An unfinished last line (a sweep stopped while appending it) is dropped with a warning.
   */
  results?: ResultsStore;
  warn?: (message: string) => void;
  cancellation?: Cancellation;
  onRow?: (row: SweepRow, done: number, total: number) => void;
}

export const configKey = (c: SweepConfig) => `k=${c.shots} b=${c.refreshEvery} a1=${c.extStrength} a2=${c.evalStrength}`;

/** Every configuration of the grid, grouped by extraction (one extraction serves all its a2 values). */
export function sweepPlan(grid: SweepGrid, refreshEvery: number): { extraction: Omit<SweepConfig, 'evalStrength'>; evalStrengths: number[] }[] {
  const plan = grid.shots.flatMap((shots) =>
    grid.extStrengths.map((extStrength) => ({ extraction: { shots, refreshEvery, extStrength }, evalStrengths: grid.evalStrengths })),
  );
  if (grid.noIterationStrengths.length) {
    for (const shots of grid.shots) plan.push({ extraction: { shots, refreshEvery: 0, extStrength: 0 }, evalStrengths: grid.noIterationStrengths });
  }
  return plan;
}

/**
 * Everything a row's numbers depend on besides its configuration: the model, the dataset, how prompts
 * are built (the verbalizer's options, whole), the extraction and validation options the grid does not
 * set, and the injection site. As JSON, the way the results file's header records it.
 */
export function sweepSettings(model: SteerableModel, task: Task, options: Pick<SweepOptions, 'extract' | 'eval' | 'injectAt'>): SweepSettings {
  // Callers pass wider objects (an extraction request's shots and strength, a test evaluation's split):
  // leave out what the grid or runSweep sets for every row, keep everything else.
  const { shots: _s, strength: _a, cancellation: _c1, onProgress: _p1, ...extract } = options.extract as Record<string, unknown>;
  const { split: _split, resamples: _r, cancellation: _c2, onProgress: _p2, ...evaluation } = options.eval as Record<string, unknown>;
  const d = task.dataset;
  const settings = {
    model: { name: model.info.name, sha256: model.info.sha256 },
    dataset: { id: d.id, sha256: d.sha256, labels: d.labels, textField: d.textField, labelField: d.labelField, counts: d.counts },
    verbalizer: task.verbalizer.options,
    extract,
    eval: evaluation,
    injectAt: options.injectAt,
  };
  return JSON.parse(JSON.stringify(settings)) as SweepSettings;
}

/**
 * Extract on train and evaluate on validation for every configuration; rows are appended to the
 * results store as they finish, so an interrupted sweep resumes where it stopped, with the same
 * settings only (the store's header records them; see SweepOptions.results). `stats` counts the
 * forward passes this call ran (not those of rows read back).
 */
export async function runSweep(
  model: SteerableModel,
  task: Task,
  grid: SweepGrid,
  options: SweepOptions,
): Promise<{ rows: SweepRow[]; stats: RunStats; settings: SweepSettings }> {
  const stats: RunStats = { forwardPasses: 0, tokens: 0, ms: 0 };
  const add = (s: RunStats) => ((stats.forwardPasses += s.forwardPasses), (stats.tokens += s.tokens), (stats.ms += s.ms));
  const done = new Map<string, SweepRow>();
  const settings = sweepSettings(model, task, options);
  const store = options.results;
  if (store) {
    let text = (await store.read()) ?? '';
    const recorded = parseSweepResults(text, store.name, { partialLastLine: 'skip' });
    // Refused settings leave the store as it was.
    if (recorded.settings !== null) checkSweepSettings(recorded.settings, settings, store.name);
    if (recorded.partialLine !== undefined) {
      // What a sweep killed while appending a row leaves: that row, cut. Its configuration runs again.
      text = text.slice(0, text.lastIndexOf('\n') + 1);
      await store.replace(text);
      options.warn?.(
        `${store.name}, line ${recorded.partialLine}: dropped the unfinished last line (a sweep stopped while writing it); its configuration runs again`,
      );
    }
    if (recorded.settings === null) await store.append(`${text && !text.endsWith('\n') ? '\n' : ''}${sweepHeaderLine(settings)}`);
    else {
      for (const row of recorded.rows) done.set(configKey(row), row);
      // A last row without its newline (an edited file): the next row must start a line of its own.
      if (!text.endsWith('\n')) await store.append('\n');
    }
  }
  const plan = sweepPlan(grid, options.extract.refreshEvery);
  const total = plan.reduce((acc, p) => acc + p.evalStrengths.length, 0);
  const train = splitRows(task, 'train');
  for (const { extraction, evalStrengths } of plan) {
    const todo = evalStrengths.filter((a2) => !done.has(configKey({ ...extraction, evalStrength: a2 })));
    if (todo.length === 0) continue;
    throwIfCancelled(options.cancellation);
    const start = performance.now();
    const { vectors, stats: extractStats } = await extractIterativeVectors(model, task.verbalizer, train, {
      ...options.extract,
      shots: extraction.shots,
      refreshEvery: extraction.refreshEvery,
      strength: extraction.extStrength,
      cancellation: options.cancellation,
    });
    const extractMs = performance.now() - start;
    add(extractStats);
    for (const evalStrength of todo) {
      const t = performance.now();
      const r = await evaluateMethod(
        model,
        task,
        { method: 'iv', vectors, strength: evalStrength, injectAt: options.injectAt },
        { ...options.eval, split: 'validation', resamples: 0, cancellation: options.cancellation },
      );
      add(r.stats);
      const row: SweepRow = {
        ...extraction,
        evalStrength,
        accuracy: r.metrics.accuracy,
        macroF1: r.metrics.macroF1,
        auc: r.metrics.auc,
        predictionShares: r.metrics.predictionShares,
        extractMs,
        evalMs: performance.now() - t,
      };
      done.set(configKey(row), row);
      await store?.append(`${JSON.stringify(row)}\n`);
      options.onRow?.(row, done.size, total);
    }
  }
  const rows = plan.flatMap(({ extraction, evalStrengths }) => evalStrengths.map((a2) => done.get(configKey({ ...extraction, evalStrength: a2 }))!));
  return { rows, stats, settings };
}

/** The best row by validation macro-F1 (ties: higher accuracy, then the earlier row). */
export function bestRow(rows: readonly SweepRow[]): SweepRow {
  return rows.reduce((best, r) => (r.macroF1 > best.macroF1 || (r.macroF1 === best.macroF1 && r.accuracy > best.accuracy) ? r : best));
}
