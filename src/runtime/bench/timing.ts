/** Median wall time in ms of `runs` calls after two warm-up calls. */
export async function median(runs: number, fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 2; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  return mid(times);
}

/**
 * Median wall times in ms of `a` and `b`, called alternately `runs` times each after two warm-ups:
 * on a machine whose speed drifts (shared VMs), both see the same conditions, so their ratio holds.
 */
export async function alternate(runs: number, a: () => Promise<unknown>, b: () => Promise<unknown>): Promise<[number, number]> {
  const times: [number[], number[]] = [[], []];
  for (let i = 0; i < runs + 2; i++) {
    for (const [k, fn] of [a, b].entries()) {
      const start = performance.now();
      await fn();
      if (i >= 2) times[k].push(performance.now() - start);
    }
  }
  return [mid(times[0]), mid(times[1])];
}

function mid(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
