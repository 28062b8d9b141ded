/** Fold ensembling: the mean (or rank mean) of each fold's test probabilities, aligned by image name. */
import { invalidType, outOfRange, requireInteger } from '../errors';
import { toFloat64Array, type NumericArray } from '../metrics/arrays';

export const ensembleMethods = ['mean', 'rank'] as const;
export type EnsembleMethod = (typeof ensembleMethods)[number];

/** One fold's predictions on the test images. */
export interface FoldPredictions {
  /** Image names, unique. */
  ids: readonly string[];
  /** Probability of the positive class per image, same order as ids. */
  probabilities: NumericArray;
  /** For messages, e.g. "fold 3"; default `folds[i]`. */
  name?: string;
}

export interface EnsembleOptions {
  /**
   * 'mean' (default, the seed): mean of probabilities. 'rank': each fold's probabilities replaced by their
   * average rank / n (ties share a rank, as scipy's rankdata), then averaged; only the order of the result matters.
   */
  method?: EnsembleMethod;
}

export interface EnsemblePredictions {
  /** In the first fold's order. */
  ids: string[];
  probabilities: Float64Array;
  method: EnsembleMethod;
  folds: number;
}

function checkIds(name: string, ids: unknown): string[] {
  if (!Array.isArray(ids)) throw invalidType(`${name}.ids`, 'an array of image names', ids);
  if (ids.length === 0) throw outOfRange(`${name}.ids`, 'at least one image name', ids);
  const seen = new Set<string>();
  ids.forEach((id: unknown, i) => {
    if (typeof id !== 'string' || id === '') throw invalidType(`${name}.ids[${i}]`, 'a non-empty string', id);
    if (seen.has(id)) throw outOfRange(`${name}.ids`, 'unique image names', `${JSON.stringify(id)} twice`);
    seen.add(id);
  });
  return ids as string[];
}

/** Average ranks (1-based, ties averaged) divided by n, so every fold lands on the same (0, 1] scale. */
export function rankNormalize(values: NumericArray): Float64Array {
  const v = toFloat64Array('values', values);
  const order = Array.from(v.keys()).sort((a, b) => v[a] - v[b]);
  const ranks = new Float64Array(v.length);
  for (let start = 0; start < order.length; ) {
    let end = start;
    while (end + 1 < order.length && v[order[end + 1]] === v[order[start]]) end++;
    const rank = (start + end) / 2 + 1;
    for (let i = start; i <= end; i++) ranks[order[i]] = rank / v.length;
    start = end + 1;
  }
  return ranks;
}

/** Mean (or rank mean) over folds; every fold must cover exactly the same images (any order). */
export function ensembleFolds(folds: readonly FoldPredictions[], options: EnsembleOptions = {}): EnsemblePredictions {
  const method = options.method ?? 'mean';
  if (!ensembleMethods.includes(method)) throw outOfRange('method', `one of ${ensembleMethods.join(', ')}`, method);
  if (!Array.isArray(folds) || folds.length === 0) throw outOfRange('folds', 'at least one fold of predictions', folds);
  const aligned = folds.map((fold, f) => {
    const name = fold?.name ?? `folds[${f}]`;
    const ids = checkIds(name, fold?.ids);
    const probabilities = toFloat64Array(`${name}.probabilities`, fold.probabilities, {
      min: 0,
      max: 1,
      length: ids.length,
      lengthOf: `the number of ${name}.ids`,
    });
    return { name, ids, values: method === 'rank' ? rankNormalize(probabilities) : probabilities };
  });
  const reference = aligned[0];
  const sum = new Float64Array(reference.ids.length);
  for (const fold of aligned) {
    if (fold.ids.length !== reference.ids.length) {
      throw outOfRange(`${fold.name}.ids`, `${reference.ids.length} images like ${reference.name}`, fold.ids);
    }
    const position = new Map(fold.ids.map((id, i) => [id, i]));
    reference.ids.forEach((id, i) => {
      const at = position.get(id);
      if (at === undefined) throw outOfRange(`${fold.name}.ids`, `the images of ${reference.name}`, `no ${JSON.stringify(id)}`);
      sum[i] += fold.values[at];
    });
  }
  return { ids: [...reference.ids], probabilities: sum.map((s) => s / aligned.length), method, folds: aligned.length };
}

/**
 * Softmax probability of one class from row-major logits [n, numClasses], in float64 (the model's merged TTA
 * logits → the probability the submission holds).
 */
export function classProbabilities(logits: NumericArray, numClasses: number, positiveClass = 1): Float64Array {
  const k = requireInteger('numClasses', numClasses, 1);
  requireInteger('positiveClass', positiveClass, 0, k - 1);
  const x = toFloat64Array('logits', logits);
  if (x.length % k !== 0) throw outOfRange('logits', `a length divisible by numClasses (${k})`, logits);
  return softmaxOfClass(x, k, positiveClass);
}

/** classProbabilities without the checks, for logits the caller made (a training step's). */
export function softmaxOfClass(logits: ArrayLike<number>, numClasses: number, positiveClass: number): Float64Array {
  const k = numClasses;
  const out = new Float64Array(logits.length / k);
  for (let row = 0; row < out.length; row++) {
    const base = row * k;
    let max = -Infinity;
    for (let j = 0; j < k; j++) max = Math.max(max, logits[base + j]);
    let total = 0;
    for (let j = 0; j < k; j++) total += Math.exp(logits[base + j] - max);
    out[row] = Math.exp(logits[base + positiveClass] - max) / total;
  }
  return out;
}
