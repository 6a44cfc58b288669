/**
 * Small composable type guards for messages crossing the host <-> webview boundary. Everything that
 * arrives through postMessage is `unknown` until a guard says otherwise. No dependencies: the
 * webview bundle and the extension host both import this.
 */
export type Guard<T> = (x: unknown) => x is T;
export type GuardType<G> = G extends Guard<infer T> ? T : never;

export const isString: Guard<string> = (x): x is string => typeof x === 'string';
export const isBoolean: Guard<boolean> = (x): x is boolean => typeof x === 'boolean';
/** A finite number (JSON has no NaN or Infinity: they arrive as null). */
export const isNumber: Guard<number> = (x): x is number => typeof x === 'number' && Number.isFinite(x);
export const isInteger: Guard<number> = (x): x is number => Number.isSafeInteger(x);
export const isNonNegativeInteger: Guard<number> = (x): x is number => Number.isSafeInteger(x) && (x as number) >= 0;

export function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

export function literal<const T extends string | number | boolean>(...values: readonly T[]): Guard<T> {
  return (x): x is T => (values as readonly unknown[]).includes(x);
}

export function arrayOf<T>(item: Guard<T>): Guard<T[]> {
  return (x): x is T[] => Array.isArray(x) && x.every((v) => item(v));
}

export function nullable<T>(g: Guard<T>): Guard<T | null> {
  return (x): x is T | null => x === null || g(x);
}

export function optional<T>(g: Guard<T>): Guard<T | undefined> {
  return (x): x is T | undefined => x === undefined || g(x);
}

type Shape = Record<string, Guard<unknown>>;
type Optionals<S extends Shape> = { [K in keyof S]: undefined extends GuardType<S[K]> ? K : never }[keyof S];
type ObjectOf<S extends Shape> = { [K in Exclude<keyof S, Optionals<S>>]: GuardType<S[K]> } & { [K in Optionals<S>]?: GuardType<S[K]> };

/** An object with (at least) these fields; extra fields are allowed (newer senders). */
export function object<S extends Shape>(shape: S): Guard<{ [K in keyof ObjectOf<S>]: ObjectOf<S>[K] }> {
  const entries = Object.entries(shape);
  return (x): x is { [K in keyof ObjectOf<S>]: ObjectOf<S>[K] } => isRecord(x) && entries.every(([k, g]) => g(x[k]));
}

/** An array of arrays of the same length (a matrix); `cell` checks every entry. */
export function matrixOf<T>(cell: Guard<T>): Guard<T[][]> {
  return (x): x is T[][] => Array.isArray(x) && x.every((row) => Array.isArray(row) && row.length === (x[0] as unknown[]).length && row.every((v) => cell(v)));
}

/** A square matrix (n x n). */
export function squareOf<T>(cell: Guard<T>): Guard<T[][]> {
  const m = matrixOf(cell);
  return (x): x is T[][] => m(x) && x.every((row) => row.length === x.length);
}

export function and<T>(g: Guard<T>, check: (x: T) => boolean): Guard<T> {
  return (x): x is T => g(x) && check(x);
}
