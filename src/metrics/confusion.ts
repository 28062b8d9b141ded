/** Confusion matrix and binary scores (accuracy, precision, recall, F1) as scikit-learn 1.2.1 computes them. */
import { outOfRange } from '../errors';
import { listLabels, pairwiseSum, toFloat64Array, uniqueSorted, type NumericArray } from './arrays';

export const confusionNormalizations = ['true', 'pred', 'all'] as const;
export type ConfusionNormalization = (typeof confusionNormalizations)[number];

export interface ConfusionMatrixOptions {
  /** Row/column order; samples whose true or predicted label is not listed are left out (as sklearn). */
  labels?: readonly number[];
  /** Divide by row sums ('true'), column sums ('pred') or the total ('all'); 0/0 becomes 0. */
  normalize?: ConfusionNormalization;
  sampleWeight?: NumericArray;
}

export interface ConfusionMatrix {
  /** Label of each row (true) and column (predicted). */
  labels: number[];
  /** matrix[i][j] = (weighted) count of samples with true label labels[i] predicted as labels[j]. */
  matrix: number[][];
}

export interface BinaryScores {
  accuracy: number;
  /** tp / (tp + fp), 0 when nothing is predicted positive (zero_division=0). */
  precision: number;
  /** tp / (tp + fn), 0 when there is no positive sample. */
  recall: number;
  /** 2·p·r / (p + r) in sklearn's evaluation order, 0 when p + r = 0. */
  f1: number;
  tp: number;
  fp: number;
  fn: number;
  tn: number;
}

export interface BinaryScoresOptions {
  posLabel?: number;
  sampleWeight?: NumericArray;
}

export interface ThresholdScores extends BinaryScores {
  threshold: number;
  /** Always 2×2 with labels [0, 1], so absent classes show as zero rows or columns. */
  confusion: ConfusionMatrix;
}

function checkPair(yTrue: unknown, yPred: unknown, sampleWeight: unknown) {
  const truth = toFloat64Array('yTrue', yTrue, { integer: true });
  const pred = toFloat64Array('yPred', yPred, { integer: true, length: truth.length, lengthOf: 'the length of yTrue' });
  const weights =
    sampleWeight === undefined
      ? null
      : toFloat64Array('sampleWeight', sampleWeight, { min: 0, length: truth.length, lengthOf: 'the length of yTrue' });
  return { truth, pred, weights };
}

function checkLabels(labels: unknown, truth: Float64Array): number[] {
  const list = Array.from(toFloat64Array('labels', labels, { integer: true }));
  if (new Set(list).size !== list.length) throw outOfRange('labels', 'distinct labels', `duplicates in ${listLabels(list)}`);
  if (!list.some((label) => truth.includes(label))) throw outOfRange('labels', 'at least one label that occurs in yTrue', list);
  return list;
}

function normalized(matrix: number[][], how: ConfusionNormalization): number[][] {
  const rows = matrix.map((row) => pairwiseSum(row));
  const cols = matrix[0].map((_, j) => matrix.reduce((sum, row) => sum + row[j], 0));
  const all = pairwiseSum(matrix.flat());
  return matrix.map((row, i) =>
    row.map((value, j) => {
      const q = value / (how === 'true' ? rows[i] : how === 'pred' ? cols[j] : all);
      return Number.isNaN(q) ? 0 : q;
    }),
  );
}

/** sklearn's `confusion_matrix`: rows = true label, columns = predicted, labels sorted unless given. */
export function confusionMatrix(yTrue: NumericArray, yPred: NumericArray, options: ConfusionMatrixOptions = {}): ConfusionMatrix {
  const { truth, pred, weights } = checkPair(yTrue, yPred, options.sampleWeight);
  const { normalize } = options;
  if (normalize !== undefined && !confusionNormalizations.includes(normalize)) {
    throw outOfRange('normalize', `one of ${confusionNormalizations.join(', ')}`, normalize);
  }
  const labels = options.labels === undefined ? uniqueSorted([...truth, ...pred]) : checkLabels(options.labels, truth);
  const index = new Map(labels.map((label, i) => [label, i]));
  const matrix = labels.map(() => labels.map(() => 0));
  for (let k = 0; k < truth.length; k++) {
    const i = index.get(truth[k]);
    const j = index.get(pred[k]);
    if (i !== undefined && j !== undefined) matrix[i][j] += weights ? weights[k] : 1;
  }
  return { labels, matrix: normalize ? normalized(matrix, normalize) : matrix };
}

/**
 * Counts as sklearn's `multilabel_confusion_matrix` forms them: per-label sums in sample order, then
 * fp = predicted − tp and fn = true − tp, so weighted scores round exactly as sklearn's do.
 */
function binaryCounts(truth: Float64Array, pred: Float64Array, weights: Float64Array | null, posLabel: number) {
  let tp = 0;
  let predicted = 0;
  let actual = 0;
  for (let k = 0; k < truth.length; k++) {
    const w = weights ? weights[k] : 1;
    if (truth[k] === posLabel && pred[k] === posLabel) tp += w;
    if (pred[k] === posLabel) predicted += w;
    if (truth[k] === posLabel) actual += w;
  }
  const fp = predicted - tp;
  const fn = actual - tp;
  const total = weights ? pairwiseSum(weights) : truth.length;
  return { tp, fp, fn, tn: total - tp - fp - fn };
}

function checkBinaryLabels(truth: Float64Array, pred: Float64Array, posLabel: number): void {
  const present = uniqueSorted([...truth, ...pred]);
  if (present.length > 2) {
    throw outOfRange('yTrue and yPred', 'binary labels (at most two distinct values)', `${present.length} labels: ${listLabels(present)}`);
  }
  if (present.length === 2 && !present.includes(posLabel)) {
    throw outOfRange('posLabel', `one of the labels present (${listLabels(present)})`, posLabel);
  }
}

function accuracyOf(truth: Float64Array, pred: Float64Array, weights: Float64Array | null): number {
  const hits = Float64Array.from(truth, (t, k) => (t === pred[k] ? 1 : 0) * (weights ? weights[k] : 1));
  return pairwiseSum(hits) / (weights ? pairwiseSum(weights) : truth.length);
}

/** Accuracy and precision/recall/F1 of the positive label (default 1), zero_division=0, as sklearn. */
export function binaryScores(yTrue: NumericArray, yPred: NumericArray, options: BinaryScoresOptions = {}): BinaryScores {
  const { truth, pred, weights } = checkPair(yTrue, yPred, options.sampleWeight);
  const posLabel = options.posLabel ?? 1;
  if (typeof posLabel !== 'number' || !Number.isInteger(posLabel)) throw outOfRange('posLabel', 'an integer label', posLabel);
  checkBinaryLabels(truth, pred, posLabel);
  const { tp, fp, fn, tn } = binaryCounts(truth, pred, weights, posLabel);
  const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
  const denominator = precision + recall === 0 ? 1 : precision + recall;
  // (1 + β²)·p·r / (β²·p + r) evaluated left to right with β = 1, exactly as sklearn 1.2 does.
  const f1 = (2 * precision * recall) / denominator;
  return { accuracy: accuracyOf(truth, pred, weights), precision, recall, f1, tp, fp, fn, tn };
}

/** Hard 0/1 predictions: 1 where probability >= threshold. */
export function predictAtThreshold(probabilities: NumericArray, threshold = 0.5): Uint8Array {
  if (typeof threshold !== 'number' || !(threshold >= 0 && threshold <= 1)) {
    throw outOfRange('threshold', 'a number from 0 to 1', threshold);
  }
  const probs = toFloat64Array('probabilities', probabilities, { min: 0, max: 1, allowEmpty: true });
  return Uint8Array.from(probs, (p) => (p >= threshold ? 1 : 0));
}

/** Confusion matrix and binary scores of 0/1 labels against probabilities cut at a threshold. */
export function scoresAtThreshold(yTrue: NumericArray, probabilities: NumericArray, threshold = 0.5): ThresholdScores {
  const truth = toFloat64Array('yTrue', yTrue, { integer: true, min: 0, max: 1 });
  const probs = toFloat64Array('probabilities', probabilities, { length: truth.length, lengthOf: 'the length of yTrue' });
  const pred = predictAtThreshold(probs, threshold);
  return { threshold, confusion: confusionMatrix(truth, pred, { labels: [0, 1] }), ...binaryScores(truth, pred) };
}
