/** One evaluation episode's outcome: what the method predicted for one query, and the label logits it predicted from. */
export interface ScoredPrediction {
  /** Gold class index, 0..n-1. */
  gold: number;
  /** Predicted class index (argmax over the label logits, or whatever the method decided). */
  predicted: number;
  /** Logit of the first token of each class's label word (length n). */
  labelLogits: Float32Array | number[];
  /** Id of the query item (row index in the split). Episodes reuse queries, so CIs resample by item. */
  item: number;
}

export interface ClassMetrics {
  precision: number;
  recall: number;
  f1: number;
  /** Number of episodes whose gold label is this class. */
  support: number;
}

/** [low, high] bounds of a confidence interval. */
export type Interval = [low: number, high: number];

export interface MetricsCI {
  accuracy: Interval;
  macroF1: Interval;
  weightedF1: Interval;
  /** null when no resample had both positives and negatives for every class. */
  auc: Interval | null;
  majorityAccuracy: Interval;
  confidence: number;
  resamples: number;
}

/** Expected scores of a random guesser (see chance.ts). */
export interface ChanceLevel {
  accuracy: number;
  macroF1: number;
}

/**
 * What guessing at random, independently of the input, would score on episodes with these gold
 * shares: the level a method must beat to have used the input at all.
 */
export interface ChanceLevels {
  /** A guesser with the method's own prediction shares: the method's label bias, without the input. */
  predictedShares: ChanceLevel;
  /** A guesser with the gold shares (macro-F1 = 1 / the number of gold classes). */
  goldShares: ChanceLevel;
}

/** All values are fractions in [0, 1]. */
export interface Metrics {
  /** Number of episodes. */
  n: number;
  /** Number of distinct query items (the bootstrap's resampling unit). */
  nItems: number;
  accuracy: number;
  /** Unweighted mean of the per-class F1 over the classes with gold support or predictions (scikit-learn's macro average); see counts.ts. */
  macroF1: number;
  /** Mean of the per-class F1 weighted by gold support. */
  weightedF1: number;
  perClass: ClassMetrics[];
  /** n x n counts; rows are gold classes, columns predicted classes. */
  confusion: number[][];
  /** Fraction of predictions per class. */
  predictionShares: number[];
  /** Fraction of gold labels per class. */
  goldShares: number[];
  /** Accuracy of always predicting the most frequent gold class of these episodes: the trivial baseline. */
  majorityAccuracy: number;
  /** Expected accuracy and macro-F1 of random guessing with the prediction shares and with the gold shares. */
  chance: ChanceLevels;
  /** Logit-margin AUC (see auc.ts); null when some class has no positive or no negative episode. */
  auc: number | null;
  /** Item-bootstrap percentile intervals; null when resamples = 0. */
  ci: MetricsCI | null;
}

export interface MetricsOptions {
  /** Seed of the bootstrap; the same seed gives the same intervals. */
  seed?: number;
  /** Number of bootstrap resamples; 0 skips the intervals. */
  resamples?: number;
  /** Coverage of the intervals, in (0, 1). */
  confidence?: number;
}
