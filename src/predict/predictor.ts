/** Predicts probabilities for a list of images with a model and a TTA plan: views run natively, merged in TypeScript. */
import type { LoaderItem } from '../data/loader';
import { loadInOrder } from '../data/loader';
import type { DecodedCache } from '../data/image';
import type { Interpolation } from '../data/augment';
import { squareSide, type Model } from '../native/model';
import type { Precision } from '../native/types';
import { classProbabilities } from './ensemble';
import { mergeTta, planTta, type TtaPlanEntry } from './tta';

export interface PredictOptions {
  /** e.g. 'hflip,vflip,rot90' or 'none'. */
  tta: string;
  merge: 'mean' | 'gmean' | 'max' | 'sum';
  batchSize: number;
  interpolation: Interpolation;
  precision?: Precision;
  cache?: DecodedCache | null;
  prefetch?: number;
  /** Compute each distinct dihedral view once, weighted (same mean as ttach's full product at half the cost). */
  dedup?: boolean;
}

export interface Prediction {
  /** Probability of class 1 per item, in item order. */
  probabilities: Float64Array;
  /** Merged logits [items, classes]. */
  logits: Float32Array;
  plan: TtaPlanEntry[];
}

export async function predictItems(model: Model, items: readonly LoaderItem[], options: PredictOptions): Promise<Prediction> {
  const plan = planTta(options.tta, { dedup: options.dedup ?? true });
  const classes = model.numClasses;
  const logits = new Float32Array(items.length * classes);
  const { mean, std } = model.pretrainedConfig;
  const batches = loadInOrder(items, {
    transform: { size: squareSide(model), interpolation: options.interpolation, mean: mean as [number, number, number], std: std as [number, number, number], augment: null },
    batchSize: options.batchSize,
    prefetch: options.prefetch ?? 2,
    cache: options.cache ?? null,
  });
  for await (const batch of batches) {
    const out = await model.forwardViews(batch.data, {
      shape: batch.shape,
      views: plan.map((entry) => entry.view),
      precision: options.precision,
    });
    const [views, size] = out.shape;
    const perView: Float32Array[] = [];
    for (let v = 0; v < views; v++) perView.push(out.data.subarray(v * size * classes, (v + 1) * size * classes));
    const merged = mergeTta(perView, plan, options.merge);
    logits.set(merged, batch.positions[0] * classes);
  }
  return { probabilities: classProbabilities(logits, classes), logits, plan };
}
