/** Per-epoch sample order: torchsampler's ImbalancedDatasetSampler weighting, plain shuffling, or dataset order. */
import { invalidType, outOfRange, requireChoice, requireInteger } from '../errors';
import { pairwiseSum, RandomState } from './random';

export const kSamplerKinds = ['imbalanced', 'shuffle', 'sequential'] as const;
export type SamplerKind = (typeof kSamplerKinds)[number];

export interface SamplerOptions {
  kind: SamplerKind;
  /** Seed of the run; each epoch draws from `RandomState([seed, epoch])`. */
  seed: number;
  /** Dataset positions to sample from (e.g. a fold's training indices); default all. */
  indices?: readonly number[];
  /** Draws per epoch for `imbalanced` (default `indices.length`, as torchsampler). */
  numSamples?: number;
}

/**
 * torchsampler's weights, exactly: the labels of `indices` are ordered by index value (pandas `sort_index`)
 * and each gets `1 / count(label)` in float64, so every class carries total weight 1. Like upstream, the
 * weights stay in sorted-index order even when `indices` is not sorted (upstream then misaligns them; the
 * sampler below sorts its indices first so that cannot happen).
 */
export function imbalancedWeights(labels: ArrayLike<number>, indices?: readonly number[]): Float64Array {
  const positions = checkIndices(labels.length, indices);
  const sorted = [...positions].sort((a, b) => a - b);
  const counts = new Map<number, number>();
  for (const i of sorted) counts.set(labels[i], (counts.get(labels[i]) ?? 0) + 1);
  return Float64Array.from(sorted, (i) => 1 / (counts.get(labels[i]) ?? 1));
}

function checkIndices(length: number, indices: readonly number[] | undefined): number[] {
  if (indices === undefined) return Array.from({ length }, (_, i) => i);
  if (!Array.isArray(indices)) throw invalidType('indices', 'an array of dataset positions', indices);
  indices.forEach((index, k) => requireInteger(`indices[${k}]`, index, 0, length - 1));
  return [...indices];
}

/**
 * The epoch → dataset-position list of a run. `imbalanced` draws `numSamples` positions with replacement with
 * probability proportional to the weights; in Python that is exactly
 * `RandomState([seed, epoch]).choice(n, numSamples, p=w / w.sum())` mapped through the sorted indices.
 * `shuffle` is `RandomState([seed, epoch]).permutation(n)` mapped the same way; `sequential` keeps the order.
 */
export class EpochSampler {
  readonly kind: SamplerKind;
  readonly seed: number;
  readonly indices: readonly number[];
  readonly weights: Float64Array;
  readonly length: number;

  constructor(labels: ArrayLike<number>, options: SamplerOptions) {
    this.kind = requireChoice('kind', options.kind, kSamplerKinds);
    this.seed = requireInteger('seed', options.seed, 0, 0xffffffff);
    this.indices = checkIndices(labels.length, options.indices).sort((a, b) => a - b);
    if (this.indices.length === 0) throw outOfRange('indices', 'at least one dataset position', options.indices);
    this.weights = imbalancedWeights(labels, this.indices);
    const numSamples = options.numSamples ?? this.indices.length;
    if (options.numSamples !== undefined && this.kind !== 'imbalanced') {
      throw outOfRange('numSamples', `undefined for the ${this.kind} sampler (it visits each sample once)`, numSamples);
    }
    this.length = requireInteger('numSamples', numSamples, 1);
  }

  /** Dataset positions for one epoch (0-based), deterministic in (seed, epoch). */
  epoch(epoch: number): number[] {
    requireInteger('epoch', epoch, 0, 0xffffffff);
    if (this.kind === 'sequential') return [...this.indices];
    const rng = new RandomState([this.seed, epoch]);
    if (this.kind === 'shuffle') return rng.permutation(this.indices.length).map((k) => this.indices[k]);
    const total = pairwiseSum(this.weights);
    const p = Float64Array.from(this.weights, (w) => w / total);
    return rng.choice(p, this.length).map((k) => this.indices[k]);
  }
}
