/** Argument checks shared by the metrics and prediction code: numeric arrays in, Float64Array out. */
import { invalidType, outOfRange } from '../errors';

/** What the metrics accept: a plain array or any numeric typed array. */
export type NumericArray = ArrayLike<number>;

export interface NumberArrayRules {
  /** Every element must be an integer (class labels). */
  integer?: boolean;
  /** Smallest allowed value (weights, probabilities). */
  min?: number;
  /** Largest allowed value (probabilities). */
  max?: number;
  /** Exact length required (the length of a companion array). */
  length?: number;
  /** What `length` is, for the message, e.g. "the length of yTrue". */
  lengthOf?: string;
  /** Allow zero elements. */
  allowEmpty?: boolean;
}

function isNumericArray(value: unknown): value is NumericArray {
  if (Array.isArray(value)) return true;
  return (
    ArrayBuffer.isView(value) && !(value instanceof DataView) && !(value instanceof BigInt64Array) && !(value instanceof BigUint64Array)
  );
}

function describeRange(rules: NumberArrayRules): string {
  const kind = rules.integer ? 'an integer' : 'a finite number';
  if (rules.min !== undefined && rules.max !== undefined) return `${kind} from ${rules.min} to ${rules.max}`;
  if (rules.min !== undefined) return `${kind} >= ${rules.min}`;
  if (rules.max !== undefined) return `${kind} <= ${rules.max}`;
  return kind;
}

/** Checks an array element by element and returns a float64 copy, so callers never see NaN or strings. */
export function toFloat64Array(name: string, value: unknown, rules: NumberArrayRules = {}): Float64Array {
  if (!isNumericArray(value)) throw invalidType(name, 'an array of numbers', value);
  if (rules.length !== undefined && value.length !== rules.length) {
    const of = rules.lengthOf ? ` (${rules.lengthOf})` : '';
    throw outOfRange(name, `an array of length ${rules.length}${of}`, value);
  }
  if (value.length === 0 && !rules.allowEmpty) throw outOfRange(name, 'a non-empty array', value);
  const out = new Float64Array(value.length);
  for (let i = 0; i < value.length; i++) {
    const v = value[i];
    if (typeof v !== 'number') throw invalidType(`${name}[${i}]`, 'a number', v);
    const bad =
      !Number.isFinite(v) ||
      (rules.integer && !Number.isInteger(v)) ||
      (rules.min !== undefined && v < rules.min) ||
      (rules.max !== undefined && v > rules.max);
    if (bad) throw outOfRange(`${name}[${i}]`, describeRange(rules), v);
    out[i] = v;
  }
  return out;
}

/** Sorted distinct values (numeric order), as numpy's `unique`. */
export function uniqueSorted(values: ArrayLike<number>): number[] {
  return [...new Set(Array.from(values))].sort((a, b) => a - b);
}

/** Labels listed for a message, shortened when there are many. */
export function listLabels(labels: readonly number[], limit = 8): string {
  const shown = labels.slice(0, limit).join(', ');
  return labels.length > limit ? `${shown}, ... (${labels.length} in all)` : shown;
}

/**
 * numpy's pairwise summation (`np.add.reduce` on a contiguous float64 array): blocks of up to 128 summed with
 * 8 accumulators, larger ranges split in halves. Reproducing it keeps AUC values bit-identical to sklearn's.
 */
export function pairwiseSum(values: ArrayLike<number>, start = 0, count = values.length - start): number {
  if (count < 8) {
    let sum = 0;
    for (let i = 0; i < count; i++) sum += values[start + i];
    return sum;
  }
  if (count <= 128) {
    const r = [0, 0, 0, 0, 0, 0, 0, 0];
    for (let j = 0; j < 8; j++) r[j] = values[start + j];
    let i = 8;
    for (; i < count - (count % 8); i += 8) {
      for (let j = 0; j < 8; j++) r[j] += values[start + i + j];
    }
    let sum = r[0] + r[1] + (r[2] + r[3]) + (r[4] + r[5] + (r[6] + r[7]));
    for (; i < count; i++) sum += values[start + i];
    return sum;
  }
  let half = Math.floor(count / 2);
  half -= half % 8;
  return pairwiseSum(values, start, half) + pairwiseSum(values, start + half, count - half);
}
