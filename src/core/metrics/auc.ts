/**
 * Logit-margin AUC: does the method *rank* queries correctly, regardless of where its decision
 * threshold sits? Accuracy punishes a method whose label logits are all shifted towards one class
 * even if the ordering of queries is perfect; AUC separates ranking quality from that bias.
 *
 * Definition (n = number of classes, l = an episode's label logits):
 * - n = 2: the ROC AUC of the score l[1] - l[0] for separating gold = 1 (positives) from gold = 0
 *   (negatives), i.e. P(score of a random positive > score of a random negative), ties counting 1/2.
 *   Adding a constant to one class's logits in every episode shifts every score equally, so the AUC
 *   is exactly invariant to such a bias.
 * - n > 2: the unweighted mean over classes c of the one-vs-rest ROC AUC (gold = c vs gold != c,
 *   ties 1/2) of the margin m_c = l[c] - max_{c' != c} l[c']. m_c is exactly invariant to a constant
 *   added to l[c]; a constant added to another class only moves m_c where that class is the runner-up,
 *   so the invariance to a per-class bias is approximate for n > 2. (For n = 2 this definition gives
 *   the binary AUC above for both classes, so the two cases agree.)
 * - null when some class has no positive or no negative episode (the AUC is undefined).
 */

/** m_c = l[c] - max_{c' != c} l[c'] for every episode: result[c][e]. */
export function marginScores(labelLogits: readonly ArrayLike<number>[], nClasses: number): Float64Array[] {
  const margins = Array.from({ length: nClasses }, () => new Float64Array(labelLogits.length));
  labelLogits.forEach((l, e) => {
    // The runner-up for the top class is the second best; for every other class it is the best.
    let best = 0;
    for (let c = 1; c < nClasses; c++) if (l[c] > l[best]) best = c;
    let second = best === 0 ? 1 : 0;
    for (let c = 0; c < nClasses; c++) if (c !== best && l[c] > l[second]) second = c;
    for (let c = 0; c < nClasses; c++) margins[c][e] = l[c] - l[c === best ? second : best];
  });
  return margins;
}

/**
 * Scores sorted once, so the AUC under many episode weightings (bootstrap resamples) costs O(n)
 * each instead of a sort each.
 */
export class RankedScores {
  private readonly order: Uint32Array;
  /** groupStart[i]: position i (in sorted order) starts a new group of tied scores. */
  private readonly groupStart: Uint8Array;

  constructor(
    scores: ArrayLike<number>,
    private readonly positive: ArrayLike<boolean>,
  ) {
    for (let e = 0; e < scores.length; e++) if (Number.isNaN(scores[e])) throw new RangeError(`AUC: score ${e} is NaN`);
    this.order = Uint32Array.from({ length: scores.length }, (_, e) => e).sort((a, b) => scores[a] - scores[b]);
    this.groupStart = new Uint8Array(scores.length);
    for (let i = 0; i < scores.length; i++) this.groupStart[i] = i === 0 || scores[this.order[i]] !== scores[this.order[i - 1]] ? 1 : 0;
  }

  /** Weighted Mann-Whitney AUC; `weights[e]` is episode e's multiplicity (default 1). */
  auc(weights?: ArrayLike<number>): number | null {
    const { order, groupStart, positive } = this;
    let negBelow = 0;
    let pos = 0;
    let sum = 0;
    for (let i = 0; i < order.length;) {
      let groupPos = 0;
      let groupNeg = 0;
      do {
        const e = order[i];
        const w = weights ? weights[e] : 1;
        if (positive[e]) groupPos += w;
        else groupNeg += w;
        i++;
      } while (i < order.length && !groupStart[i]);
      // Each positive beats every negative below its tie group and half-beats the tied ones.
      sum += groupPos * (negBelow + 0.5 * groupNeg);
      negBelow += groupNeg;
      pos += groupPos;
    }
    return pos > 0 && negBelow > 0 ? sum / (pos * negBelow) : null;
  }
}

/** ROC AUC of `scores` separating positives from negatives (ties 1/2); null without both. */
export function rocAuc(scores: ArrayLike<number>, positive: ArrayLike<boolean>, weights?: ArrayLike<number>): number | null {
  return new RankedScores(scores, positive).auc(weights);
}

/** The logit-margin AUC defined above, prepared once for repeated weightings. */
export class MarginAuc {
  private readonly perClass: RankedScores[];

  constructor(labelLogits: readonly ArrayLike<number>[], gold: ArrayLike<number>, nClasses: number) {
    if (nClasses < 2) throw new RangeError(`AUC needs at least 2 classes, got ${nClasses}`);
    const margins = marginScores(labelLogits, nClasses);
    const isClass = (c: number) => Array.from({ length: gold.length }, (_, e) => gold[e] === c);
    // Binary: m_1 = l[1] - l[0] is the whole story (class 0's AUC is the same number).
    this.perClass = nClasses === 2 ? [new RankedScores(margins[1], isClass(1))] : margins.map((m, c) => new RankedScores(m, isClass(c)));
  }

  value(weights?: ArrayLike<number>): number | null {
    let sum = 0;
    for (const r of this.perClass) {
      const a = r.auc(weights);
      if (a === null) return null;
      sum += a;
    }
    return sum / this.perClass.length;
  }
}

/** The logit-margin AUC of a list of episodes (see the definition at the top of this file). */
export function marginAuc(labelLogits: readonly ArrayLike<number>[], gold: ArrayLike<number>, nClasses: number): number | null {
  return new MarginAuc(labelLogits, gold, nClasses).value();
}
