import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  applyBias,
  calibrationBias,
  chanceLevel,
  evaluateMetrics,
  formatMetricsTable,
  itemBootstrapWeights,
  marginAuc,
  rocAuc,
  type ScoredPrediction,
} from '../../src/core/metrics';
import { Rng } from '../../src/core/random';

const close = (actual: number | null | undefined, expected: number, eps = 1e-12) =>
  assert.ok(actual !== null && actual !== undefined && Math.abs(actual - expected) <= eps, `expected ${expected}, got ${actual}`);

/** Episodes from (gold, predicted) pairs with logits that make `predicted` the argmax; item = episode index. */
function fromPairs(pairs: [gold: number, predicted: number][], n: number): ScoredPrediction[] {
  return pairs.map(([gold, predicted], item) => ({ gold, predicted, labelLogits: Array.from({ length: n }, (_, c) => (c === predicted ? 1 : 0)), item }));
}

/** Binary episodes scored by s = l[1] - l[0] (l[0] = 0). */
function binary(positives: number[], negatives: number[]): ScoredPrediction[] {
  const ep = (gold: number, s: number, item: number): ScoredPrediction => ({ gold, predicted: s > 0 ? 1 : 0, labelLogits: [0, s], item });
  return [...positives.map((s, i) => ep(1, s, i)), ...negatives.map((s, i) => ep(0, s, positives.length + i))];
}

function repeat<T>(x: T, k: number): T[] {
  return Array.from({ length: k }, () => x);
}

describe('count-based metrics', () => {
  // Confusion (rows gold, cols predicted):
  //   gold 0: [3, 1, 0]  support 4
  //   gold 1: [1, 2, 1]  support 4
  //   gold 2: [0, 0, 2]  support 2
  // predicted totals: [4, 3, 3]; correct 3 + 2 + 2 = 7 of 10.
  const pairs: [number, number][] = [
    ...repeat<[number, number]>([0, 0], 3),
    [0, 1],
    [1, 0],
    ...repeat<[number, number]>([1, 1], 2),
    [1, 2],
    ...repeat<[number, number]>([2, 2], 2),
  ];
  const m = evaluateMetrics(fromPairs(pairs, 3), 3, { resamples: 0 });

  test('confusion, shares and accuracy', () => {
    assert.deepEqual(m.confusion, [
      [3, 1, 0],
      [1, 2, 1],
      [0, 0, 2],
    ]);
    assert.equal(m.n, 10);
    close(m.accuracy, 7 / 10);
    assert.deepEqual(m.predictionShares, [0.4, 0.3, 0.3]);
    assert.deepEqual(m.goldShares, [0.4, 0.4, 0.2]);
    assert.equal(m.ci, null);
  });

  test('per-class precision, recall and F1', () => {
    // class 0: P = 3/4, R = 3/4, F1 = 3/4
    // class 1: P = 2/3, R = 2/4, F1 = 2(2/3)(1/2) / (2/3 + 1/2) = (2/3) / (7/6) = 4/7
    // class 2: P = 2/3, R = 2/2, F1 = 2(2/3)(1) / (5/3) = 4/5
    const expected = [
      [3 / 4, 3 / 4, 3 / 4, 4],
      [2 / 3, 1 / 2, 4 / 7, 4],
      [2 / 3, 1, 4 / 5, 2],
    ];
    m.perClass.forEach((k, c) => {
      close(k.precision, expected[c][0]);
      close(k.recall, expected[c][1]);
      close(k.f1, expected[c][2]);
      assert.equal(k.support, expected[c][3]);
    });
  });

  test('macro and weighted F1, majority accuracy', () => {
    // macro = (3/4 + 4/7 + 4/5) / 3 = (105 + 80 + 112) / 140 / 3 = 297 / 420 = 99 / 140
    close(m.macroF1, 99 / 140);
    // weighted = (4 * 3/4 + 4 * 4/7 + 2 * 4/5) / 10 = (3 + 16/7 + 8/5) / 10 = (241/35) / 10 = 241 / 350
    close(m.weightedF1, 241 / 350);
    // most frequent gold class has 4 of 10 episodes
    close(m.majorityAccuracy, 0.4);
  });

  test('macro-F1 averages over the classes in gold or predictions, as scikit-learn (labels=None)', () => {
    // 3 classes, class 2 never gold and never predicted:
    //   gold 0: [2, 1, 0]  support 3
    //   gold 1: [1, 1, 0]  support 2
    //   gold 2: [0, 0, 0]  support 0
    // predicted totals [3, 2, 0]
    // class 0: P = 2/3, R = 2/3, F1 = 2/3;  class 1: P = 1/2, R = 1/2, F1 = 1/2;  class 2: absent
    // macro = (2/3 + 1/2) / 2 = 7/12 (averaging over all 3 classes would give 7/18)
    // sklearn: f1_score([0,0,0,1,1], [0,0,1,1,0], average='macro') = 0.58333 = 7/12
    const e = evaluateMetrics(
      fromPairs(
        [
          [0, 0],
          [0, 0],
          [0, 1],
          [1, 1],
          [1, 0],
        ],
        3,
      ),
      3,
      { resamples: 0 },
    );
    assert.deepEqual(e.perClass[2], { precision: 0, recall: 0, f1: 0, support: 0 });
    close(e.macroF1, 7 / 12);
    // weighted = (3 * 2/3 + 2 * 1/2) / 5 = 3/5; accuracy 3/5
    close(e.weightedF1, 3 / 5);
    close(e.accuracy, 3 / 5);
    // perfect on the present classes: macro 1 (not 2/3)
    close(
      evaluateMetrics(
        fromPairs(
          [
            [0, 0],
            [1, 1],
            [1, 1],
          ],
          3,
        ),
        3,
        { resamples: 0 },
      ).macroF1,
      1,
    );
  });

  test('a class predicted but never gold counts in macro-F1 with F1 = 0', () => {
    // 4 classes; class 2 predicted once, never gold; class 3 absent:
    //   gold 0: [1, 0, 1, 0]  support 2
    //   gold 1: [0, 2, 0, 0]  support 2
    // predicted totals [1, 2, 1, 0]
    // class 0: P = 1, R = 1/2, F1 = 2(1/2) / (3/2) = 2/3;  class 1: F1 = 1;  class 2: P = 0/1, R = 0 (no gold), F1 = 0
    // macro over classes 0, 1, 2 = (2/3 + 1 + 0) / 3 = 5/9 (over all 4 classes it would be 5/12)
    // sklearn: f1_score([0,0,1,1], [0,2,1,1], average='macro') = 0.55556 = 5/9
    const e = evaluateMetrics(
      fromPairs(
        [
          [0, 0],
          [0, 2],
          [1, 1],
          [1, 1],
        ],
        4,
      ),
      4,
      { resamples: 0 },
    );
    assert.deepEqual(e.perClass[2], { precision: 0, recall: 0, f1: 0, support: 0 });
    close(e.perClass[0].f1, 2 / 3);
    close(e.macroF1, 5 / 9);
    // weighted = (2 * 2/3 + 2 * 1) / 4 = 5/6
    close(e.weightedF1, 5 / 6);
  });

  test('rejects malformed episodes', () => {
    assert.throws(() => evaluateMetrics([], 2), RangeError);
    assert.throws(() => evaluateMetrics(fromPairs([[2, 0]], 2), 2), RangeError);
    assert.throws(() => evaluateMetrics(fromPairs([[0, 0]], 3), 2), RangeError);
    assert.throws(() => evaluateMetrics([{ gold: 0, predicted: 0, labelLogits: [NaN, 0], item: 0 }], 2), RangeError);
  });
});

describe('chance levels', () => {
  test('a guesser with the own prediction shares and one with the gold shares', () => {
    // The count-based fixture: gold shares p = [0.4, 0.4, 0.2], prediction shares q = [0.4, 0.3, 0.3].
    const pairs: [number, number][] = [
      ...repeat<[number, number]>([0, 0], 3),
      [0, 1],
      [1, 0],
      ...repeat<[number, number]>([1, 1], 2),
      [1, 2],
      ...repeat<[number, number]>([2, 2], 2),
    ];
    const m = evaluateMetrics(fromPairs(pairs, 3), 3, { resamples: 0 });
    // own shares: accuracy = 0.4*0.4 + 0.4*0.3 + 0.2*0.3 = 0.16 + 0.12 + 0.06 = 0.34
    //   F1_0 = 2(0.4)(0.4) / 0.8 = 2/5;  F1_1 = 2(0.4)(0.3) / 0.7 = 12/35;  F1_2 = 2(0.2)(0.3) / 0.5 = 6/25
    //   macro = (70 + 60 + 42) / 175 / 3 = 172/525
    close(m.chance.predictedShares.accuracy, 0.34);
    close(m.chance.predictedShares.macroF1, 172 / 525);
    // gold shares: accuracy = 0.16 + 0.16 + 0.04 = 0.36; F1_c = p_c, macro = (0.4 + 0.4 + 0.2) / 3 = 1/3
    close(m.chance.goldShares.accuracy, 0.36);
    close(m.chance.goldShares.macroF1, 1 / 3);
  });

  test('use the same class set as macro-F1', () => {
    // Class 2 of 3 absent: p = q = [3/5, 2/5, 0]. accuracy = 9/25 + 4/25 = 13/25;
    // F1_0 = 3/5, F1_1 = 2/5, macro over the 2 present classes = 1/2 (1/3 if class 2 counted).
    const a = evaluateMetrics(
      fromPairs(
        [
          [0, 0],
          [0, 0],
          [0, 1],
          [1, 1],
          [1, 0],
        ],
        3,
      ),
      3,
      { resamples: 0 },
    );
    for (const c of [a.chance.predictedShares, a.chance.goldShares]) {
      close(c.accuracy, 13 / 25);
      close(c.macroF1, 1 / 2);
    }
    // Class 2 of 4 predicted, never gold; class 3 absent: p = [1/2, 1/2, 0, 0], q = [1/4, 1/2, 1/4, 0].
    // own: accuracy = 1/8 + 1/4 = 3/8; F1_0 = 2(1/2)(1/4) / (3/4) = 1/3, F1_1 = 2(1/2)(1/2) / 1 = 1/2,
    //   F1_2 = 0 (counts: q_2 > 0), class 3 left out: macro = (1/3 + 1/2 + 0) / 3 = 5/18
    // gold: accuracy = 1/4 + 1/4 = 1/2; classes 0 and 1 only: macro = (1/2 + 1/2) / 2 = 1/2
    const b = evaluateMetrics(
      fromPairs(
        [
          [0, 0],
          [0, 2],
          [1, 1],
          [1, 1],
        ],
        4,
      ),
      4,
      { resamples: 0 },
    );
    close(b.chance.predictedShares.accuracy, 3 / 8);
    close(b.chance.predictedShares.macroF1, 5 / 18);
    close(b.chance.goldShares.accuracy, 1 / 2);
    close(b.chance.goldShares.macroF1, 1 / 2);
    // disjoint shares score 0
    assert.deepEqual(chanceLevel([1, 0], [0, 1]), { accuracy: 0, macroF1: 0 });
  });

  test('are what an actual random guesser scores over many episodes', () => {
    const p = [0.5, 0.3, 0.2];
    const q = [0.1, 0.6, 0.3];
    const rng = new Rng(3);
    const draw = (shares: number[]) => {
      let u = rng.next();
      for (let c = 0; c < shares.length - 1; c++) if ((u -= shares[c]) < 0) return c;
      return shares.length - 1;
    };
    const pairs = Array.from({ length: 200_000 }, (): [number, number] => [draw(p), draw(q)]);
    const m = evaluateMetrics(fromPairs(pairs, 3), 3, { resamples: 0 });
    const expected = chanceLevel(p, q);
    close(m.accuracy, expected.accuracy, 0.005);
    close(m.macroF1, expected.macroF1, 0.005);
    close(m.chance.predictedShares.accuracy, expected.accuracy, 0.005);
  });
});

describe('logit-margin AUC', () => {
  test('binary AUC counts ties as 1/2', () => {
    // positives 3, 2, 1 vs negatives 2, 0:
    //   3: beats 2 and 0 -> 2;  2: ties 2 (1/2), beats 0 -> 1.5;  1: loses to 2, beats 0 -> 1
    //   AUC = (2 + 1.5 + 1) / (3 * 2) = 4.5 / 6 = 0.75
    const preds = binary([3, 2, 1], [2, 0]);
    close(evaluateMetrics(preds, 2, { resamples: 0 }).auc, 0.75);
    close(rocAuc([3, 2, 1, 2, 0], [true, true, true, false, false]), 0.75);
  });

  test('binary AUC is invariant to a constant added to one class, unlike accuracy', () => {
    const preds = binary([3, 2, 1], [2, 0]);
    const shifted = preds.map((p) => ({ ...p, labelLogits: [Number(p.labelLogits[0]) + 5, p.labelLogits[1]], predicted: 0 }));
    const a = evaluateMetrics(preds, 2, { resamples: 0 });
    const b = evaluateMetrics(shifted, 2, { resamples: 0 });
    close(b.auc, 0.75);
    close(a.auc, b.auc ?? NaN);
    assert.notEqual(a.accuracy, b.accuracy);
  });

  test('weighted AUC equals the AUC of the duplicated episodes and matches brute force', () => {
    const rng = new Rng(7);
    const scores = Array.from({ length: 40 }, () => rng.int(6)); // many ties
    const pos = scores.map(() => rng.next() < 0.4);
    const w = scores.map(() => rng.int(3));
    let wins = 0;
    let pairs = 0;
    for (let i = 0; i < scores.length; i++)
      for (let j = 0; j < scores.length; j++)
        if (pos[i] && !pos[j]) {
          const k = w[i] * w[j];
          pairs += k;
          wins += k * (scores[i] > scores[j] ? 1 : scores[i] === scores[j] ? 0.5 : 0);
        }
    close(rocAuc(scores, pos, w), wins / pairs);
    const dupScores = scores.flatMap((s, i) => repeat(s, w[i]));
    const dupPos = pos.flatMap((p, i) => repeat(p, w[i]));
    close(rocAuc(dupScores, dupPos), wins / pairs);
  });

  test('multiclass AUC is the macro mean of one-vs-rest margin AUCs', () => {
    // m_c = l[c] - max_{c' != c} l[c']
    //   e0 gold 0 [2, 1, 0]: m = [ 1, -1, -2]
    //   e1 gold 1 [0, 1, 3]: m = [-3, -2,  2]
    //   e2 gold 2 [1, 0, 2]: m = [-1, -2,  1]
    //   e3 gold 0 [0, 2, 1]: m = [-2,  1, -1]
    // class 0: pos {1, -2} vs neg {-3, -1}: 1>-3, 1>-1, -2>-3, -2<-1 -> 3/4
    // class 1: pos {-2} vs neg {-1, -2, 1}: 0 + 1/2 + 0 -> 1/6
    // class 2: pos {1} vs neg {-2, 2, -1}: 1 + 0 + 1 -> 2/3
    // AUC = (3/4 + 1/6 + 2/3) / 3 = (9 + 2 + 8) / 36 = 19/36
    const logits = [
      [2, 1, 0],
      [0, 1, 3],
      [1, 0, 2],
      [0, 2, 1],
    ];
    const gold = [0, 1, 2, 0];
    close(marginAuc(logits, gold, 3), 19 / 36);
    const preds = logits.map((labelLogits, item) => ({ gold: gold[item], predicted: 0, labelLogits, item }));
    close(evaluateMetrics(preds, 3, { resamples: 0 }).auc, 19 / 36);
  });

  test('AUC is null when a class has no positive or no negative episode', () => {
    assert.equal(evaluateMetrics(binary([1, 2], []), 2, { resamples: 0 }).auc, null);
    assert.equal(evaluateMetrics(binary([], [1, 2]), 2, { resamples: 0 }).auc, null);
    const m = evaluateMetrics(
      fromPairs(
        [
          [0, 0],
          [1, 1],
          [1, 0],
        ],
        3,
      ),
      3,
      { resamples: 50 },
    );
    assert.equal(m.auc, null);
    assert.equal(m.ci?.auc, null);
  });
});

/** Noisy binary episodes: `items` queries, each asked `perItem` times; correctness is per item. */
function noisyEpisodes(items: number, perItem: number, seed: number): ScoredPrediction[] {
  const rng = new Rng(seed);
  const out: ScoredPrediction[] = [];
  for (let item = 0; item < items; item++) {
    const gold = rng.int(2);
    const s = (gold === 1 ? 0.5 : -0.5) + rng.next() * 2 - 1;
    for (let k = 0; k < perItem; k++) out.push({ gold, predicted: s > 0 ? 1 : 0, labelLogits: [0, s + (rng.next() - 0.5) * 0.1], item });
  }
  return out;
}

const width = ([lo, hi]: [number, number]) => hi - lo;

describe('item bootstrap intervals', () => {
  test('contain the point estimates', () => {
    const m = evaluateMetrics(noisyEpisodes(200, 2, 1), 2);
    assert.ok(m.ci);
    for (const key of ['accuracy', 'macroF1', 'weightedF1', 'majorityAccuracy', 'auc'] as const) {
      const ci = m.ci[key];
      const x = m[key];
      assert.ok(ci && x !== null && ci[0] <= x && x <= ci[1], `${key}: ${x} not in ${ci}`);
      assert.ok(ci[0] >= 0 && ci[1] <= 1);
    }
    assert.equal(m.ci.resamples, 1000);
  });

  test('narrow with more items', () => {
    const small = evaluateMetrics(noisyEpisodes(50, 1, 2), 2).ci;
    const large = evaluateMetrics(noisyEpisodes(2000, 1, 2), 2).ci;
    assert.ok(small && large);
    // ~ 1/sqrt(n): 40x the items should give about a sixth of the width
    assert.ok(width(large.accuracy) < width(small.accuracy) / 3, `${large.accuracy} vs ${small.accuracy}`);
    assert.ok(large.auc && small.auc && width(large.auc) < width(small.auc) / 3);
  });

  test('are deterministic for a seed', () => {
    const preds = noisyEpisodes(100, 3, 3);
    assert.deepEqual(evaluateMetrics(preds, 2, { seed: 5 }).ci, evaluateMetrics(preds, 2, { seed: 5 }).ci);
    assert.notDeepEqual(evaluateMetrics(preds, 2, { seed: 5 }).ci, evaluateMetrics(preds, 2, { seed: 6 }).ci);
  });

  test('resample items, not episodes: repeated queries do not count as independent evidence', () => {
    // 20 items, each in 50 episodes, all episodes of an item right or all wrong: accuracy 0.5.
    // Item resampling sees 20 units: width ~ 2 * 1.96 * sqrt(0.25 / 20) ~ 0.44.
    // Treating each episode as its own item sees 1000 units: width ~ 2 * 1.96 * sqrt(0.25 / 1000) ~ 0.06.
    const byItem: ScoredPrediction[] = [];
    for (let item = 0; item < 20; item++)
      for (let k = 0; k < 50; k++) byItem.push({ gold: item % 2, predicted: item < 10 ? item % 2 : 1 - (item % 2), labelLogits: [0, 0], item });
    const byEpisode = byItem.map((p, e) => ({ ...p, item: e }));
    const a = evaluateMetrics(byItem, 2);
    const b = evaluateMetrics(byEpisode, 2);
    assert.equal(a.accuracy, 0.5);
    assert.equal(a.nItems, 20);
    assert.equal(b.nItems, 1000);
    assert.ok(a.ci && b.ci);
    assert.ok(width(a.ci.accuracy) > 0.3, `item CI ${a.ci.accuracy}`);
    assert.ok(width(b.ci.accuracy) < 0.1, `episode CI ${b.ci.accuracy}`);
  });

  test('episodes of a drawn item move together', () => {
    const items = [7, 7, 7, 3, 9, 9];
    for (const w of itemBootstrapWeights(items, 20, 1)) {
      assert.ok(w[0] === w[1] && w[1] === w[2] && w[4] === w[5]);
      // three draws per resample (one per distinct item)
      assert.equal(w[0] + w[3] + w[4], 3); // each episode counts once per draw of its item
    }
  });
});

describe('calibration', () => {
  test('bias is minus the mean label log-probability', () => {
    // log_softmax([0, 0]) = [-ln 2, -ln 2]; log_softmax([ln 3, 0]) = [ln(3/4), ln(1/4)]
    // b = -[(-ln 2 + ln 3/4) / 2, (-ln 2 + ln 1/4) / 2]
    const b = calibrationBias([
      { gold: 0, predicted: 0, labelLogits: [0, 0], item: 0 },
      { gold: 0, predicted: 0, labelLogits: [Math.log(3), 0], item: 1 },
    ]);
    close(b[0], -(-Math.log(2) + Math.log(3 / 4)) / 2, 1e-12);
    close(b[1], -(-Math.log(2) + Math.log(1 / 4)) / 2, 1e-12);
  });

  test('moves a collapsed predictor towards balanced shares', () => {
    // Every query predicts class 0; the margin l1 - l0 is -0.5 for gold 1 and -1.5 for gold 0.
    // b1 - b0 = -mean(l1 - l0) = 1, so the calibrated margins are +0.5 / -0.5.
    const preds: ScoredPrediction[] = [];
    for (let item = 0; item < 10; item++) preds.push({ gold: item % 2, predicted: 0, labelLogits: Float32Array.of(2, item % 2 ? 1.5 : 0.5), item });
    const before = evaluateMetrics(preds, 2, { resamples: 0 });
    assert.deepEqual(before.predictionShares, [1, 0]);
    const after = evaluateMetrics(applyBias(preds, calibrationBias(preds)), 2, { resamples: 0 });
    assert.deepEqual(after.predictionShares, [0.5, 0.5]);
    assert.equal(after.accuracy, 1);
    assert.equal(after.auc, before.auc); // a per-class shift keeps the binary ranking
  });

  test('balances a 3-class predictor biased towards one class', () => {
    const rng = new Rng(11);
    const preds: ScoredPrediction[] = [];
    for (let item = 0; item < 300; item++) {
      const gold = item % 3;
      const l = [0, 1, 2].map((c) => (c === gold ? 1 : 0) + rng.next() + (c === 2 ? 3 : 0));
      preds.push({ gold, predicted: l.indexOf(Math.max(...l)), labelLogits: l, item });
    }
    const before = evaluateMetrics(preds, 3, { resamples: 0 });
    const after = evaluateMetrics(applyBias(preds, calibrationBias(preds)), 3, { resamples: 0 });
    assert.ok(before.predictionShares[2] > 0.9);
    assert.ok(Math.max(...after.predictionShares) < 0.45, `shares ${after.predictionShares}`);
    assert.ok(after.accuracy > before.accuracy);
  });
});

test('formatMetricsTable renders one aligned row per method, with the chance levels', () => {
  const preds = [...repeat<[number, number]>([0, 0], 13), ...repeat<[number, number]>([1, 0], 1), ...repeat<[number, number]>([0, 1], 1)];
  const m = evaluateMetrics(fromPairs(preds, 2), 2, { resamples: 100 });
  const text = formatMetricsTable(
    [
      { name: 'iterative vectors', metrics: m },
      { name: 'ICL', metrics: { ...m, ci: null, auc: null } },
    ],
    ['pos', 'neg'],
  );
  const lines = text.split('\n');
  assert.equal(lines.length, 5);
  assert.match(lines[0], /^method\s+n\s+accuracy\s+macro-F1\s+weighted-F1\s+AUC\s+majority acc\s+chance acc\s+chance F1\s+prediction shares$/);
  assert.match(lines[2], /^iterative vectors\s+15\s+0\.867 \[\d\.\d{3}, \d\.\d{3}\]/);
  assert.match(lines[2], /pos 0\.93 \/ neg 0\.07$/);
  assert.match(lines[3], /^ICL\s+15\s+0\.867\s+\S+\s+\S+\s+n\/a\s/);
  assert.equal(lines[0].indexOf('accuracy'), lines[2].indexOf('0.867'));
  // p = [14/15, 1/15], q = [14/15, 1/15]: accuracy = (196 + 1) / 225 = 0.876 for both guessers;
  // F1_c = p_c, macro = 1/2
  assert.equal(lines[0].indexOf('chance acc'), lines[2].indexOf('0.876 / 0.876'));
  assert.equal(lines[0].indexOf('chance F1'), lines[2].indexOf('0.500 / 0.500'));
  assert.match(lines[4], /^chance: .*own \/ gold/);
});
