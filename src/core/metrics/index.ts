/** Classification metrics for evaluating ICL and steering methods; see each module for the definitions. */
export type { ChanceLevel, ChanceLevels, ClassMetrics, Interval, Metrics, MetricsCI, MetricsOptions, ScoredPrediction } from './types';
export { chanceLevel } from './chance';
export { confusionMatrix, scoresFromConfusion, type ConfusionScores } from './counts';
export { MarginAuc, marginAuc, marginScores, RankedScores, rocAuc } from './auc';
export { itemBootstrapWeights, percentileInterval } from './bootstrap';
export { applyBias, calibrationBias, logSoftmax } from './calibration';
export { evaluateMetrics } from './evaluate';
export { formatMetricsTable } from './format';
