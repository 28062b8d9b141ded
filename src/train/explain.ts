/**
 * Where a trained fold model looked: Grad-CAM maps (native, through the model's backward path, on its device) for
 * the report's gallery images, and `foldtorch explain`'s single overlay.
 */
import { interpolationOf } from '../data/augment';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodeImage } from '../data/image';
import { invalidData, outOfRange, requireInteger } from '../errors';
import { writeFileAtomicAsync } from '../files';
import type { Model } from '../native/model';
import { classProbabilities } from '../predict/ensemble';
import { heatmapKey, overlayPng, type GalleryPick, type Heatmap } from '../report/gallery';
import { buildModel } from './prepare';
import type { Recipe } from './recipe';
import { RunDir } from './runDir';

export interface ExplainedImage {
  heatmap: Heatmap;
  /** Probability of class 1 (eval mode, no TTA). */
  probability: number;
  /** The class the map explains. */
  target: number;
}

/** Images per gradCam call: a gallery is a few dozen images; the backward keeps every activation. */
const kExplainBatch = 8;

/**
 * Grad-CAM of each image's predicted class (or of `target` when given), the image decoded at the model's size as
 * training decodes it.
 */
export async function explainImages(model: Model, files: readonly string[], target?: number): Promise<ExplainedImage[]> {
  const [height, width] = model.imgSize;
  const out: ExplainedImage[] = [];
  for (let start = 0; start < files.length; start += kExplainBatch) {
    const batch = files.slice(start, start + kExplainBatch);
    const pixels = Buffer.concat(
      await Promise.all(
        batch.map((file) => decodeImage(file, { size: [height, width], interpolation: interpolationOf(model.pretrainedConfig) })),
      ),
    );
    const shape = [batch.length, height, width, 3];
    const first = await model.gradCam(pixels, { shape, target: target ?? 1 });
    const probabilities = Array.from(classProbabilities(first.logits.data, model.numClasses));
    const predicted = probabilities.map((p) => (p >= 0.5 ? 1 : 0));
    // The maps of images predicted as class 0 come from a second call when no target was asked for.
    const second = target === undefined && predicted.includes(0) ? await model.gradCam(pixels, { shape, target: 0 }) : null;
    const [, h, w] = first.cam.shape;
    batch.forEach((_, i) => {
      const use = second && predicted[i] === 0 ? second : first;
      out.push({
        heatmap: { width: w, height: h, data: use.cam.data.slice(i * h * w, (i + 1) * h * w) },
        probability: probabilities[i],
        target: target ?? predicted[i],
      });
    });
  }
  return out;
}

/** A fold's best weights in a model on the recipe's device. */
async function foldModel(run: RunDir, recipe: Recipe, fold: number): Promise<Model> {
  const file = run.bestWeights(fold);
  if (!fs.existsSync(file))
    throw invalidData(run.dir, `has no weights for fold ${fold} (${path.relative(run.dir, file)}); train that fold first`);
  const model = await buildModel({ ...recipe, model: { ...recipe.model, pretrained: null } });
  try {
    await model.load(file);
    return model;
  } catch (error) {
    model.dispose();
    throw error;
  }
}

/**
 * Grad-CAM maps of the report's gallery images, keyed by heatmapKey: an out-of-fold image by the fold that scored
 * it, a test image by `testFold` (the first finished fold). One model is loaded at a time.
 */
export async function galleryHeatmaps(
  run: RunDir,
  recipe: Recipe,
  picks: readonly GalleryPick[],
  testFold: number,
): Promise<Map<string, Heatmap>> {
  const maps = new Map<string, Heatmap>();
  const byFold = new Map<number, GalleryPick[]>();
  for (const pick of picks) {
    if (pick.path === null || maps.has(heatmapKey(pick))) continue;
    const fold = pick.fold ?? testFold;
    byFold.set(fold, [...(byFold.get(fold) ?? []), pick]);
  }
  for (const [fold, list] of [...byFold].sort((a, b) => a[0] - b[0])) {
    const model = await foldModel(run, recipe, fold);
    try {
      const explained = await explainImages(
        model,
        list.map((p) => p.path as string),
      );
      list.forEach((pick, i) => maps.set(heatmapKey(pick), explained[i].heatmap));
    } finally {
      model.dispose();
    }
  }
  return maps;
}

export interface ExplainOptions {
  run: string;
  image: string;
  /** Which fold's model (default: the first with weights). */
  fold?: number;
  /** The class to explain (default: the predicted one). */
  target?: number;
  /** Output PNG (default `<run>/explain/<image name>-fold<k>.png`). */
  out?: string;
  device?: string;
  /** Side of the written overlay in pixels (default 256). */
  size?: number;
}

export interface ExplainResult extends ExplainedImage {
  file: string;
  fold: number;
}

/** Writes one Grad-CAM overlay of `image` by a fold model of `run`. */
export async function explain(options: ExplainOptions): Promise<ExplainResult> {
  const run = new RunDir(options.run);
  if (!fs.existsSync(run.recipeFile)) throw outOfRange('--run', 'a run folder holding recipe.json', options.run);
  if (!fs.existsSync(options.image) || !fs.statSync(options.image).isFile()) throw outOfRange('--image', 'an image file', options.image);
  const saved = run.readRecipe();
  const recipe = options.device ? { ...saved, device: options.device } : saved;
  const folds = Array.from({ length: recipe.folds }, (_, i) => i);
  const fold =
    options.fold === undefined
      ? folds.find((f) => fs.existsSync(run.bestWeights(f)))
      : requireInteger('--fold', options.fold, 0, recipe.folds - 1);
  if (fold === undefined) throw invalidData(options.run, 'has no fold weights (fold-i/best.safetensors); train it first');
  const size = options.size === undefined ? 256 : requireInteger('size', options.size, 16, 2048);
  const model = await foldModel(run, recipe, fold);
  try {
    const target = options.target === undefined ? undefined : requireInteger('--class', options.target, 0, model.numClasses - 1);
    const [explained] = await explainImages(model, [options.image], target);
    const rgb = await decodeImage(options.image, { size, interpolation: 'bicubic', fastPath: false });
    const file = options.out ?? path.join(run.dir, 'explain', `${path.parse(options.image).name}-fold${fold}.png`);
    await writeFileAtomicAsync(file, await overlayPng(rgb, size, explained.heatmap));
    return { ...explained, file, fold };
  } finally {
    model.dispose();
  }
}
