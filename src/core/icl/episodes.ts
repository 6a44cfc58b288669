import { UserError } from '../errors';
import type { Example } from '../datasets';
import { Rng } from '../random';

/** One n-way k-shot episode: indices into a split. */
export interface Episode {
  /** k per class, shuffled (or in class order, see DemoOrder). */
  support: number[];
  query: number;
}

/** `shuffled` as the paper's ICL baseline; `class-order` as the official IV evaluation (deviation 3). */
export const DEMO_ORDERS = ['shuffled', 'class-order'] as const;
export type DemoOrder = (typeof DEMO_ORDERS)[number];

/**
 * Seeded episodes over a split: a query drawn uniformly from the split (so query labels follow the
 * split's class distribution), then for each class k other rows without replacement, shuffled.
 * Queries and supports come from separate streams of the seed, so the same seed gives the same
 * queries for every number of shots (0-shot and k-shot runs score the same items) and for both
 * demonstration orders.
 */
export function sampleEpisodes(
  split: readonly Example[],
  nClasses: number,
  shots: number,
  count: number,
  seed: number,
  order: DemoOrder = 'shuffled',
): Episode[] {
  const byClass: number[][] = Array.from({ length: nClasses }, () => []);
  split.forEach((ex, i) => byClass[ex.label].push(i));
  byClass.forEach((rows, c) => {
    // One more than k: a query of this class must leave k others for the support.
    if (rows.length < shots + 1) throw new UserError(`class ${c} has ${rows.length} rows; ${shots} shots need at least ${shots + 1}`, { field: 'shots' });
  });
  const queries = new Rng(seed);
  const supports = new Rng(seed ^ 0x5bd1e995);
  const episodes: Episode[] = [];
  for (let e = 0; e < count; e++) {
    const query = queries.int(split.length);
    const perClass = byClass.map((rows, c) => {
      if (c !== split[query].label) return supports.sample(rows, shots);
      // k + 1 draws hold k uniform rows other than the query, whether or not the query was drawn.
      const drawn = supports.sample(rows, shots + 1);
      const at = drawn.indexOf(query);
      drawn.splice(at < 0 ? shots : at, 1);
      return drawn;
    });
    const shuffled = supports.shuffle(perClass.flat());
    episodes.push({ support: order === 'class-order' ? perClass.flat() : shuffled, query });
  }
  return episodes;
}
