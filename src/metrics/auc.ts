/** ROC curve and ROC AUC with scikit-learn 1.2.1's exact semantics (ties count ½, float64, same float rounding). */
import { outOfRange } from '../errors';
import { listLabels, pairwiseSum, toFloat64Array, uniqueSorted, type NumericArray } from './arrays';

/** sklearn's own wording, kept verbatim so logs read the same as the seed's. */
export const kOneClassMessage = 'Only one class present in y_true. ROC AUC score is not defined in that case.';

export interface RocCurve {
  /** False positive rate at each threshold, ascending, starting at 0. */
  fpr: Float64Array;
  /** True positive rate at each threshold, starting at 0. */
  tpr: Float64Array;
  /**
   * Decreasing score thresholds; thresholds[0] = max score + 1 as in sklearn 1.2 (sklearn >= 1.3 writes Infinity
   * there). A sample is predicted positive when its score >= threshold.
   */
  thresholds: Float64Array;
}

export interface RocCurveOptions {
  sampleWeight?: NumericArray;
  /** The positive class; needed unless yTrue takes values in {0, 1} or {-1, 1}. */
  posLabel?: number;
  /** Drop points on straight segments of the curve (sklearn's default, true). */
  dropIntermediate?: boolean;
}

export interface RocAucOptions {
  sampleWeight?: NumericArray;
  /** Standardised partial AUC up to this false positive rate (McClish), as sklearn's `max_fpr`. */
  maxFpr?: number;
}

interface ClfCurve {
  fps: Float64Array;
  tps: Float64Array;
  thresholds: Float64Array;
}

/** A RangeError with sklearn's text; the code marks it as a data problem, not an argument typo. */
function oneClassError(): RangeError & { code: 'ERR_INVALID_DATA' } {
  return Object.assign(new RangeError(kOneClassMessage), { code: 'ERR_INVALID_DATA' as const });
}

function checkInputs(yTrue: unknown, yScore: unknown, sampleWeight: unknown) {
  const labels = toFloat64Array('yTrue', yTrue, { integer: true });
  const scores = toFloat64Array('yScore', yScore, { length: labels.length, lengthOf: 'the length of yTrue' });
  const weights =
    sampleWeight === undefined
      ? null
      : toFloat64Array('sampleWeight', sampleWeight, { min: 0, length: labels.length, lengthOf: 'the length of yTrue' });
  if (weights?.every((w) => w === 0)) throw outOfRange('sampleWeight', 'at least one non-zero weight', sampleWeight);
  return { labels, scores, weights };
}

/**
 * sklearn's `_binary_clf_curve`: zero-weight samples dropped, scores sorted descending (stable mergesort reversed,
 * so the summation order inside ties matches), cumulative true/false positives at each distinct score.
 */
function binaryClfCurve(positive: Uint8Array, scores: Float64Array, weights: Float64Array | null): ClfCurve {
  let keep = Array.from(positive.keys());
  if (weights) keep = keep.filter((i) => weights[i] !== 0);
  const order = keep.sort((a, b) => scores[a] - scores[b]).reverse();
  const n = order.length;
  const ends: number[] = [];
  for (let i = 0; i + 1 < n; i++) if (scores[order[i]] !== scores[order[i + 1]]) ends.push(i);
  ends.push(n - 1);
  const tpsAll = new Float64Array(n);
  const fpsAll = new Float64Array(n);
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < n; i++) {
    const w = weights ? weights[order[i]] : 1;
    tp += positive[order[i]] * w;
    fp += (1 - positive[order[i]]) * w;
    tpsAll[i] = tp;
    fpsAll[i] = fp;
  }
  const tps = Float64Array.from(ends, (i) => tpsAll[i]);
  // Unweighted, sklearn derives fps from the index, which is exact; weighted it is a cumulative sum.
  const fps = Float64Array.from(ends, (i, j) => (weights ? fpsAll[i] : 1 + i - tps[j]));
  return { fps, tps, thresholds: Float64Array.from(ends, (i) => scores[order[i]]) };
}

function secondDiffNonZero(x: Float64Array, i: number): boolean {
  return x[i + 2] - x[i + 1] - (x[i + 1] - x[i]) !== 0;
}

/** Keeps the corners of the curve only: points where the slope changes, plus both ends. */
function dropIntermediatePoints(curve: ClfCurve): ClfCurve {
  const n = curve.fps.length;
  if (n <= 2) return curve;
  const keep: number[] = [0];
  for (let i = 1; i < n - 1; i++) {
    if (secondDiffNonZero(curve.fps, i - 1) || secondDiffNonZero(curve.tps, i - 1)) keep.push(i);
  }
  keep.push(n - 1);
  const pick = (a: Float64Array) => Float64Array.from(keep, (i) => a[i]);
  return { fps: pick(curve.fps), tps: pick(curve.tps), thresholds: pick(curve.thresholds) };
}

function prepend(value: number, a: Float64Array): Float64Array {
  const out = new Float64Array(a.length + 1);
  out[0] = value;
  out.set(a, 1);
  return out;
}

/** Rates from counts; with no samples of a class sklearn warns and returns NaN rates. */
function rates(counts: Float64Array): Float64Array {
  const total = counts[counts.length - 1];
  return counts.map((c) => (total <= 0 ? NaN : c / total));
}

function curveFromBinary(positive: Uint8Array, scores: Float64Array, weights: Float64Array | null, drop: boolean): RocCurve {
  let curve = binaryClfCurve(positive, scores, weights);
  if (drop) curve = dropIntermediatePoints(curve);
  return {
    fpr: rates(prepend(0, curve.fps)),
    tpr: rates(prepend(0, curve.tps)),
    thresholds: prepend(curve.thresholds[0] + 1, curve.thresholds),
  };
}

function resolvePosLabel(classes: number[], posLabel: number | undefined): number {
  if (posLabel !== undefined) {
    if (typeof posLabel !== 'number' || !Number.isFinite(posLabel)) {
      throw outOfRange('posLabel', 'a finite number', posLabel);
    }
    return posLabel;
  }
  const within = (allowed: number[]) => classes.every((c) => allowed.includes(c));
  if (within([0, 1]) || within([-1, 1])) return 1;
  throw outOfRange('posLabel', `a label of yTrue, since yTrue takes values {${listLabels(classes)}} not in {0, 1} or {-1, 1}`, posLabel);
}

/** ROC curve as sklearn's `roc_curve` (default drop_intermediate=true), for plots and threshold choice. */
export function rocCurve(yTrue: NumericArray, yScore: NumericArray, options: RocCurveOptions = {}): RocCurve {
  const { labels, scores, weights } = checkInputs(yTrue, yScore, options.sampleWeight);
  const pos = resolvePosLabel(uniqueSorted(labels), options.posLabel);
  const positive = Uint8Array.from(labels, (v) => (v === pos ? 1 : 0));
  return curveFromBinary(positive, scores, weights, options.dropIntermediate ?? true);
}

/** numpy's `trapz(y, x)`: elementwise `dx * (y[i+1] + y[i]) / 2`, then pairwise summation. */
export function trapezoid(x: Float64Array, y: Float64Array): number {
  const terms = new Float64Array(Math.max(0, x.length - 1));
  for (let i = 0; i < terms.length; i++) terms[i] = ((x[i + 1] - x[i]) * (y[i + 1] + y[i])) / 2.0;
  return pairwiseSum(terms);
}

/** sklearn's `auc`: the area under a monotonic (increasing or decreasing) curve. */
export function areaUnderCurve(x: Float64Array, y: Float64Array): number {
  if (x.length < 2) throw outOfRange('x', 'at least 2 points to compute the area under a curve', x.length);
  let decreasing = false;
  for (let i = 0; i + 1 < x.length; i++) {
    if (x[i + 1] - x[i] < 0) decreasing = true;
  }
  if (decreasing) {
    for (let i = 0; i + 1 < x.length; i++) {
      if (x[i + 1] - x[i] > 0) throw outOfRange('x', 'an increasing or decreasing sequence', Array.from(x));
    }
  }
  return (decreasing ? -1 : 1) * trapezoid(x, y);
}

/** McClish-standardised partial AUC, as `_binary_roc_auc_score` with `max_fpr`. */
function partialAuc(curve: RocCurve, maxFpr: number): number {
  const { fpr, tpr } = curve;
  let stop = 0;
  while (stop < fpr.length && fpr[stop] <= maxFpr) stop++;
  const [x0, x1, y0, y1] = [fpr[stop - 1], fpr[stop], tpr[stop - 1], tpr[stop]];
  // np.interp on two points: exact at the ends, the slope form in between.
  const yAt = maxFpr === x1 ? y1 : maxFpr === x0 ? y0 : ((y1 - y0) / (x1 - x0)) * (maxFpr - x0) + y0;
  const x = new Float64Array(stop + 1);
  const y = new Float64Array(stop + 1);
  x.set(fpr.subarray(0, stop));
  y.set(tpr.subarray(0, stop));
  x[stop] = maxFpr;
  y[stop] = yAt;
  const area = areaUnderCurve(x, y);
  const minArea = 0.5 * maxFpr ** 2;
  return 0.5 * (1 + (area - minArea) / (maxFpr - minArea));
}

/**
 * Binary ROC AUC as sklearn's `roc_auc_score`: any two integer labels (the larger is positive), ties between a
 * positive and a negative count ½, computed on the same trapezoids as sklearn so the float result is identical.
 * One class only → sklearn's error; all weight on one class → NaN, as sklearn (which also warns).
 */
export function rocAucScore(yTrue: NumericArray, yScore: NumericArray, options: RocAucOptions = {}): number {
  const { labels, scores, weights } = checkInputs(yTrue, yScore, options.sampleWeight);
  const classes = uniqueSorted(labels);
  if (classes.length > 2) {
    throw outOfRange('yTrue', 'two distinct labels (binary ROC AUC)', `${classes.length} labels: ${listLabels(classes)}`);
  }
  if (classes.length < 2) throw oneClassError();
  const { maxFpr } = options;
  if (maxFpr !== undefined && (typeof maxFpr !== 'number' || !(maxFpr > 0 && maxFpr <= 1))) {
    throw outOfRange('maxFpr', 'a number in (0, 1]', maxFpr);
  }
  const positive = Uint8Array.from(labels, (v) => (v === classes[1] ? 1 : 0));
  const curve = curveFromBinary(positive, scores, weights, true);
  if (maxFpr === undefined || maxFpr === 1) return areaUnderCurve(curve.fpr, curve.tpr);
  return partialAuc(curve, maxFpr);
}

/** Binary ROC AUC, or null when the labels hold one class only (a one-class validation fold has no AUC). */
export function aucOrNull(labels: readonly number[], scores: ArrayLike<number>): number | null {
  return new Set(labels).size < 2 ? null : rocAucScore(labels, Array.from(scores));
}
