/**
 * The fuzz suite's one property: a parser or validator either succeeds or throws a UserError that says
 * where the problem is (the file, or the field or flag the generator broke), never another exception,
 * within a bounded time and memory.
 *
 * Modes (environment):
 *  - default (npm test): a fixed seed (IV_FUZZ_SEED overrides it), few runs per property;
 *  - IV_FUZZ=long (npm run fuzz): a random seed per property (printed), IV_FUZZ_FACTOR (default 10) times the runs;
 *  - IV_FUZZ_COLLECT=1: instead of stopping and shrinking at the first failure, run every case, then list each
 *    distinct failure (kind, error and the first project stack frame) with its smallest input; the test still fails.
 *  - IV_FUZZ_SUMMARY=<file>: append one JSON line per property (cases, outcomes, slowest case, wall time).
 *  - IV_FUZZ_DEBUG=1: print every UserError's message (to see what the generators mostly hit).
 *  - IV_FUZZ_TRACE=<file>: write each input there before running it: what a run that hangs (a synchronous
 *    loop no time limit can interrupt) was working on.
 */
import assert from 'node:assert/strict';
import { appendFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { test, type TestContext } from 'node:test';
import fc from 'fast-check';
import { UserError } from '../../src/core/errors';

export const LONG = process.env.IV_FUZZ === 'long';
export const COLLECT = process.env.IV_FUZZ_COLLECT === '1';
const FACTOR = Number(process.env.IV_FUZZ_FACTOR) > 0 ? Number(process.env.IV_FUZZ_FACTOR) : 10;
const FIXED_SEED = 20251203;

/** The runs of a property: `short` in the default mode, FACTOR times more in the long mode. */
export function runs(short: number, long?: number): number {
  return LONG ? (long ?? Math.round(short * FACTOR)) : short;
}

function seedOf(): number {
  if (process.env.IV_FUZZ_SEED !== undefined && process.env.IV_FUZZ_SEED !== '') return Number(process.env.IV_FUZZ_SEED) | 0;
  return LONG ? (Date.now() ^ Math.floor(Math.random() * 0x7fffffff)) | 0 : FIXED_SEED;
}

/** A case slower than this is a failure (a parser that loops or reads far more than its input). */
export const CASE_TIME_MS = 2000;
/** A case whose heap + array buffers grow by more than this is a failure (a size taken from a header and allocated). */
export const CASE_MEMORY_BYTES = 256 * 2 ** 20;
/** An asynchronous case that has not settled after this long is a hang. */
export const CASE_HANG_MS = 15_000;

export type FailureKind = 'crash' | 'slow' | 'memory' | 'hang' | 'unnamed' | 'invariant';

/** Why a case failed; `error` is what the code under test threw, when it threw. */
export class FuzzFailure extends Error {
  constructor(
    readonly kind: FailureKind,
    readonly detail: string,
    readonly error?: unknown,
  ) {
    super(`${kind}: ${detail}${error instanceof Error && error.stack ? `\n${stackHead(error.stack)}` : ''}`);
    this.name = 'FuzzFailure';
  }
}

function stackHead(stack: string, lines = 8): string {
  return stack.split('\n').slice(0, lines).join('\n');
}

/** Where a UserError must say the problem is: at least one of these (none given: any UserError will do). */
export interface Expect {
  /** Paths the message may name (`location.file` puts the file at its start). */
  files?: readonly string[];
  /** Fields `location.field` may be (or start with, as `labelWords.x` or `row.positive`). */
  fields?: readonly string[];
  /** CLI flags (without `--`) the message may name. */
  flags?: readonly string[];
  /** Other words that say where (a package, a setting): the message may contain one. */
  mentions?: readonly string[];
  /** The input, for the failure message (called only on failure). */
  input?: () => string;
}

/** The first line of a message, whether or not it names a place. */
export function names(e: UserError, expect: Expect): boolean {
  const { files = [], fields = [], flags = [], mentions = [] } = expect;
  if (files.length + fields.length + flags.length + mentions.length === 0) return true;
  if (mentions.some((m) => m !== '' && e.message.includes(m))) return true;
  if (files.some((f) => f !== '' && (e.location.file === f || e.message.includes(f)))) return true;
  const field = e.location.field;
  if (field !== undefined && fields.some((f) => field === f || field.startsWith(`${f}.`) || field.startsWith(`${f}[`))) return true;
  return flags.some((f) => {
    // `--flag` followed by anything but more of a flag name (so --seed does not stand for --seed-x).
    for (let at = e.message.indexOf(`--${f}`); at >= 0; at = e.message.indexOf(`--${f}`, at + 1)) {
      if (!/[\w-]/.test(e.message.charAt(at + f.length + 2))) return true;
    }
    return false;
  });
}

interface Stats {
  cases: number;
  calls: number;
  ok: number;
  userErrors: number;
  slowestMs: number;
  maxMemory: number;
}

let current: Stats | undefined;

function memory(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

function describeInput(expect: Expect): string {
  if (!expect.input) return '';
  try {
    return `\ninput: ${expect.input()}`;
  } catch (e) {
    return `\ninput: (could not describe it: ${String(e)})`;
  }
}

function verdict(e: unknown, expect: Expect): UserError {
  if (e instanceof FuzzFailure) throw e;
  if (!(e instanceof UserError)) {
    const what = e instanceof Error ? `${e.name}: ${e.message}` : `a thrown ${typeof e}: ${String(e)}`;
    throw new FuzzFailure('crash', `not a UserError: ${what.slice(0, 500)}${describeInput(expect)}`, e);
  }
  if (!names(e, expect)) {
    const want = [
      ...(expect.files ?? []),
      ...(expect.fields ?? []).map((f) => `field ${f}`),
      ...(expect.flags ?? []).map((f) => `--${f}`),
      ...(expect.mentions ?? []).map((m) => JSON.stringify(m)),
    ];
    throw new FuzzFailure(
      'unnamed',
      `the UserError names none of ${want.join(', ')}: ${JSON.stringify(e.message.slice(0, 300))} (location ${JSON.stringify(e.location)})${describeInput(expect)}`,
      e,
    );
  }
  return e;
}

function bounds(start: number, before: number, expect: Expect): void {
  const ms = performance.now() - start;
  const grown = memory() - before;
  if (current) {
    current.calls++;
    current.slowestMs = Math.max(current.slowestMs, ms);
    current.maxMemory = Math.max(current.maxMemory, grown);
  }
  if (ms > CASE_TIME_MS) throw new FuzzFailure('slow', `took ${ms.toFixed(0)} ms (limit ${CASE_TIME_MS})${describeInput(expect)}`);
  if (grown > CASE_MEMORY_BYTES) throw new FuzzFailure('memory', `grew the heap by ${(grown / 2 ** 20).toFixed(0)} MB${describeInput(expect)}`);
}

const DEBUG = process.env.IV_FUZZ_DEBUG === '1';

function count(result: unknown): void {
  if (DEBUG && result instanceof UserError) process.stderr.write(`[fuzz] UserError: ${result.message.slice(0, 200).replace(/\n/g, ' ')}\n`);
  if (!current) return;
  if (result instanceof UserError) current.userErrors++;
  else current.ok++;
}

/** `fn()`'s value or the UserError it threw; a FuzzFailure for anything else, a slow case, or an error that does not say where. */
export function userErrorOrSuccess<T>(fn: () => T, expect: Expect = {}): T | UserError {
  const before = memory();
  const start = performance.now();
  let result: T | UserError;
  try {
    result = fn();
  } catch (e) {
    result = verdict(e, expect);
  }
  bounds(start, before, expect);
  count(result);
  return result;
}

/** userErrorOrSuccess for asynchronous code, with a hang limit. */
export async function userErrorOrSuccessAsync<T>(fn: () => Promise<T>, expect: Expect = {}, hangMs = CASE_HANG_MS): Promise<T | UserError> {
  const before = memory();
  const start = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new FuzzFailure('hang', `did not settle within ${hangMs} ms${describeInput(expect)}`)), hangMs);
  });
  let result: T | UserError;
  try {
    result = await Promise.race([fn(), hang]);
  } catch (e) {
    result = verdict(e, expect);
  } finally {
    clearTimeout(timer);
  }
  bounds(start, before, expect);
  count(result);
  return result;
}

/** An invariant of a successful result; a FuzzFailure when it does not hold. */
export function invariant(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) throw new FuzzFailure('invariant', typeof message === 'string' ? message : message());
}

/** Same as `invariant`, for code that must not throw at all (a guard, a reducer): anything it throws is a crash. */
export function noThrow<T>(fn: () => T, what: string | (() => string)): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof FuzzFailure) throw e;
    const name = typeof what === 'string' ? what : what();
    throw new FuzzFailure('crash', `${name} threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`.slice(0, 800), e);
  }
}

// ---------------------------------------------------------------------------------------------
// Running properties as tests

export interface FuzzOptions {
  /** Runs in the default mode (see `runs`). */
  runs: number;
  /** Runs in the long mode, when not FACTOR times `runs` (slow cases: child processes, real disks). */
  longRuns?: number;
  /** node:test timeout for the whole property (default: none). */
  timeoutMs?: number;
}

interface Collected {
  count: number;
  example: string;
  failure: FuzzFailure;
}

/** A signature of a failure for collect mode: kind, error class and message without numbers, first project frame. */
function signature(f: FuzzFailure): string {
  const e = f.error;
  const frame = e instanceof Error ? (e.stack ?? '').split('\n').find((l) => /\/(src|webview|test\/unit)\//.test(l) && !l.includes('/test/fuzz/')) : undefined;
  const message = (e instanceof Error ? `${e.name}: ${e.message}` : f.detail.split('\ninput:')[0]).split('\n')[0];
  const normalized = message
    .replace(/(malformed params for [\w/]+).*/s, '$1')
    .replace(/\/tmp\/[^\s"',:)]+/g, '<tmp>')
    .replace(/"[^"]*"/g, '"…"')
    .replace(/-?\d+(\.\d+)?(e[+-]?\d+)?/gi, 'N')
    .slice(0, 100);
  return `${f.kind} | ${normalized} | ${
    frame
      ?.trim()
      .replace(/^at /, '')
      .replace(/\(.*\/(src|webview|test)\//, '($1/') ?? '-'
  }`;
}

function summaryLine(name: string, stats: Stats, seed: number, numRuns: number, ms: number): string {
  return (
    `[fuzz] ${name}: ${stats.cases} cases (${LONG ? 'long' : 'short'}, seed ${seed}, ${numRuns} runs), ` +
    `${stats.ok} ok, ${stats.userErrors} UserError, slowest ${stats.slowestMs.toFixed(0)} ms, ` +
    `max memory +${(stats.maxMemory / 2 ** 20).toFixed(1)} MB, ${(ms / 1000).toFixed(1)} s`
  );
}

function record(name: string, stats: Stats, seed: number, numRuns: number, ms: number, failures: number): void {
  const file = process.env.IV_FUZZ_SUMMARY;
  if (!file) return;
  appendFileSync(
    file,
    `${JSON.stringify({ file: basename(process.argv[1] ?? ''), name, mode: LONG ? 'long' : 'short', seed, runs: numRuns, ...stats, ms: Math.round(ms), failures })}\n`,
  );
}

const TRACE = process.env.IV_FUZZ_TRACE;

function trace(name: string, value: unknown): void {
  if (TRACE) writeFileSync(TRACE, `${name}\n${fc.stringify(value)}\n`);
}

function run<T>(name: string, arbitrary: fc.Arbitrary<T>, predicate: (value: T) => void | Promise<void>, options: FuzzOptions, isAsync: boolean): void {
  test(name, { timeout: options.timeoutMs }, async (t: TestContext) => {
    const seed = seedOf();
    const numRuns = runs(options.runs, options.longRuns);
    const stats: Stats = { cases: 0, calls: 0, ok: 0, userErrors: 0, slowestMs: 0, maxMemory: 0 };
    const collected = new Map<string, Collected>();
    const keep = (value: T, e: unknown): boolean => {
      if (!COLLECT || !(e instanceof FuzzFailure)) return false;
      const key = signature(e);
      const example = fc.stringify(value);
      const seen = collected.get(key);
      if (!seen) collected.set(key, { count: 1, example, failure: e });
      else {
        seen.count++;
        if (example.length < seen.example.length) Object.assign(seen, { example, failure: e });
      }
      return true;
    };
    const started = performance.now();
    current = stats;
    try {
      if (isAsync) {
        const property = fc.asyncProperty(arbitrary, async (value) => {
          stats.cases++;
          trace(name, value);
          try {
            await predicate(value);
          } catch (e) {
            if (!keep(value, e)) throw e;
          }
        });
        await fc.assert(property, { seed, numRuns, includeErrorInReport: true });
      } else {
        const property = fc.property(arbitrary, (value) => {
          stats.cases++;
          trace(name, value);
          try {
            const r = predicate(value);
            if (r instanceof Promise) throw new Error(`${name}: the predicate is asynchronous; use fuzzTestAsync`);
          } catch (e) {
            if (!keep(value, e)) throw e;
          }
        });
        fc.assert(property, { seed, numRuns, includeErrorInReport: true });
      }
    } finally {
      current = undefined;
      const ms = performance.now() - started;
      t.diagnostic(summaryLine(name, stats, seed, numRuns, ms));
      record(name, stats, seed, numRuns, ms, collected.size);
    }
    if (collected.size > 0) {
      const list = [...collected.entries()].map(
        ([key, c], i) =>
          `#${i + 1} (${c.count} cases) ${key}\n  smallest input: ${c.example.length > 800 ? `${c.example.slice(0, 800)}…` : c.example}\n  ${c.failure.message.split('\n').join('\n  ')}`,
      );
      assert.fail(`${collected.size} distinct failure(s) in ${name} (seed ${seed}):\n${list.join('\n')}`);
    }
  });
}

/** A property as a node:test test: `predicate` runs on every generated value (see the module comment for the modes). */
export function fuzzTest<T>(name: string, arbitrary: fc.Arbitrary<T>, predicate: (value: T) => void, options: FuzzOptions): void {
  run(name, arbitrary, predicate, options, false);
}

/** fuzzTest for an asynchronous predicate. */
export function fuzzTestAsync<T>(name: string, arbitrary: fc.Arbitrary<T>, predicate: (value: T) => Promise<void>, options: FuzzOptions): void {
  run(name, arbitrary, predicate, options, true);
}
