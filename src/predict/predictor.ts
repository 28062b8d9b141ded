/** Predicts probabilities for a list of images with a model and a TTA plan: views run natively, merged in TypeScript. */
import type { LoaderItem } from '../data/loader';
import { loadInOrder } from '../data/loader';
import type { DecodedCache } from '../data/image';
import type { Interpolation } from '../data/augment';
import { outOfRange } from '../errors';
import type { Model } from '../native/model';
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
  /** Two classes: each plan entry's probability of class 1, [items, plan.length] row-major; null otherwise. */
  viewProbabilities: Float64Array | null;
}

/** The rows of a [items, views] array as lists (for oof.json and the report's view spread). */
export function viewRows(viewProbabilities: Float64Array | null, views: number): number[][] | undefined {
  if (viewProbabilities === null || views < 1) return undefined;
  return Array.from({ length: viewProbabilities.length / views }, (_, i) =>
    Array.from(viewProbabilities.subarray(i * views, (i + 1) * views)),
  );
}

/**
 * A quarter turn of a non-square input transposes it (ttach rotates the tensor): only a model that takes any input
 * size can see that view. Checked before training starts, so that a run does not fail at its first prediction.
 */
export function checkTtaFitsModel(tta: string, model: Pick<Model, 'name' | 'imgSize' | 'input'>): void {
  const [height, width] = model.imgSize;
  if (height === width || !model.input.fixedSize) return;
  if (planTta(tta).some((entry) => entry.view.rot % 2 === 1)) {
    throw outOfRange(
      'tta',
      `views without quarter turns for ${model.name} at imgSize [${height}, ${width}]: a quarter turn makes the input ` +
        `[${width}, ${height}], and the model takes only its own size (use hflip,vflip, or a square imgSize)`,
      tta,
    );
  }
}

export async function predictItems(model: Model, items: readonly LoaderItem[], options: PredictOptions): Promise<Prediction> {
  checkTtaFitsModel(options.tta, model);
  const plan = planTta(options.tta, { dedup: options.dedup ?? true });
  const classes = model.numClasses;
  const logits = new Float32Array(items.length * classes);
  const viewProbabilities = classes === 2 ? new Float64Array(items.length * plan.length) : null;
  const { mean, std } = model.pretrainedConfig;
  const batches = loadInOrder(items, {
    transform: {
      size: model.imgSize,
      interpolation: options.interpolation,
      mean: mean as [number, number, number],
      std: std as [number, number, number],
      augment: null,
    },
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
    if (viewProbabilities) {
      const perViewProbabilities = perView.map((v) => classProbabilities(v, classes));
      for (let i = 0; i < size; i++) {
        for (let v = 0; v < views; v++) viewProbabilities[(batch.positions[0] + i) * views + v] = perViewProbabilities[v][i];
      }
    }
  }
  return { probabilities: classProbabilities(logits, classes), logits, plan, viewProbabilities };
}
