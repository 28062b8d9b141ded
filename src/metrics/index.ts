/** Public metrics API: ROC AUC and curve, confusion matrix and binary scores, the per-fold table. */
export { kOneClassMessage, rocAucScore, rocCurve, areaUnderCurve } from './auc';
export type { RocCurve, RocCurveOptions, RocAucOptions } from './auc';
export {
  confusionMatrix, binaryScores, predictAtThreshold, scoresAtThreshold, confusionNormalizations,
} from './confusion';
export type {
  ConfusionMatrix, ConfusionMatrixOptions, ConfusionNormalization, BinaryScores, BinaryScoresOptions, ThresholdScores,
} from './confusion';
export { foldTable, formatFoldTable, foldTableCsv, epochMetricKeys } from './foldTable';
export type { EpochRecord, EpochMetricKey, FoldBest, FoldTable, FoldTableFormat } from './foldTable';
export type { NumericArray } from './arrays';
