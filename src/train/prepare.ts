/** Everything a run shares across folds: the dataset, the run folder, the fold assignment (folds.csv) and the image cache. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { invalidData, invalidType, outOfRange, requireImageSize } from '../errors';
import { type AugmentConfig, type Interpolation, interpolationOf, type TransformConfig } from '../data/augment';
import { loadDataset, metaGroups, type Dataset, type ImageItem, type VerifyMode } from '../data/dataset';
import { readFoldsCsv, stratifiedGroupKFold, stratifiedKFold, writeFoldsCsv, type FoldRow } from '../data/folds';
import { DecodedCache } from '../data/image';
import { loadAddonAsync } from '../native/addon';
import { checkModelMemory, checkTrainingMemory, describeSizeOptions, estimateMemory } from '../native/memory';
import { createModel, registeredModelNames, type Model } from '../native/model';
import { checkTtaFitsModel } from '../predict/predictor';
import { resolvePretrained } from '../weights/fetchWeights';
import type { ProgressSink } from './progress';
import type { Recipe } from './recipe';
import { RunDir } from './runDir';

export interface RunOptions {
  /** Dataset root in the competition layout (or folder-per-class). */
  data: string;
  /** Run folder, e.g. runs/seed-eva02. */
  run: string;
  resume?: boolean;
  progress?: ProgressSink;
  /** Polled between steps: true saves a checkpoint and stops (Ctrl-C). */
  shouldStop?: () => boolean;
  /** Leave out unreadable images (listed in the log) instead of failing. */
  skipUnreadable?: boolean;
  /**
   * Decode every image in full before training, naming each bad file: true, false (headers only), or 'auto'
   * (default): in full when estimated at most 5 s, for a new run (a resumed one was checked when it started).
   */
  verifyImages?: boolean | 'auto';
  /** Train although train.csv holds one label only (refused otherwise: nothing to tell apart). */
  allowSingleClass?: boolean;
  /** `data` already loaded (pretraining sizes its head from the classes first): not listed and probed again. */
  dataset?: Dataset;
  /** Only these folds (default: all): the ensemble uses the folds that are done. */
  folds?: number[];
}

export interface PreparedRun {
  recipe: Recipe;
  run: RunDir;
  dataset: Dataset;
  testFold: Int32Array;
  cache: DecodedCache;
  split(fold: number): { train: ImageItem[]; valid: ImageItem[] };
  transform(model: Model, augment: AugmentConfig | null): TransformConfig;
  interpolation(model: Model): Interpolation;
}

/** meta.csv column each fold grouping uses. */
export const kGroupColumns: Record<Exclude<Recipe['foldGroups'], 'none'>, string> = { style: 'style', emoji: 'hexcode', family: 'family' };

/** The saved assignment (folds.csv) or a new one, with the rows to write for a new one. */
async function foldAssignment(run: RunDir, dataset: Dataset, recipe: Recipe): Promise<{ testFold: Int32Array; rows: FoldRow[] | null }> {
  const names = dataset.train.map((item) => item.imageName);
  if (fs.existsSync(run.foldsFile)) {
    // Reuse the saved assignment so every fold (and a resumed run) sees the same split.
    const saved = await readFoldsCsv(run.foldsFile);
    const byName = new Map(saved.rows.map((row) => [row.imageName, row]));
    if (saved.nSplits !== recipe.folds || saved.rows.length !== names.length || names.some((n) => !byName.has(n))) {
      throw invalidData(
        run.foldsFile,
        `does not match the dataset (${saved.rows.length} rows, ${saved.nSplits} folds; the data has ${names.length} images and the recipe ${recipe.folds} folds)`,
      );
    }
    return { testFold: Int32Array.from(names, (n) => (byName.get(n) as FoldRow).fold), rows: null };
  }
  const labels = dataset.train.map((item) => item.label);
  const groups = recipe.foldGroups === 'none' ? null : metaGroups(dataset, kGroupColumns[recipe.foldGroups]);
  const assignment = groups
    ? stratifiedGroupKFold(labels, groups, { nSplits: recipe.folds, shuffle: true, seed: recipe.foldSeed })
    : stratifiedKFold(labels, { nSplits: recipe.folds, shuffle: true, seed: recipe.foldSeed });
  const rows = names.map((imageName, i) => ({
    imageName,
    label: labels[i],
    fold: assignment.testFold[i],
    ...(groups ? { group: groups[i] } : {}),
  }));
  return { testFold: assignment.testFold, rows };
}

/**
 * Refuses a gradAccumulation that does not divide a fold's batches per epoch: the epoch would end between two
 * optimizer steps, where no checkpoint can be saved (the run died at its first epoch end).
 */
function checkAccumulation(recipe: Recipe, testFold: Int32Array, folds: readonly number[]): void {
  if (recipe.gradAccumulation === 1) return;
  const problems: string[] = [];
  for (const fold of folds) {
    const images = testFold.reduce((count, f) => count + (f === fold ? 0 : 1), 0);
    const batches = Math.ceil(images / recipe.batchSize);
    if (batches % recipe.gradAccumulation !== 0)
      problems.push(`fold ${fold} trains ${images} images in ${batches} batches of ${recipe.batchSize}`);
  }
  if (problems.length > 0) {
    throw outOfRange(
      'gradAccumulation',
      `a divisor of each fold's batches per epoch (${problems.slice(0, 3).join('; ')}${problems.length > 3 ? '; …' : ''})`,
      recipe.gradAccumulation,
    );
  }
}

/** Refuses a recipe whose model or training step would not fit in the device's free memory, before allocating. */
async function checkRecipeMemory(recipe: Recipe, arch: Recipe['model']['overrides'] | undefined): Promise<void> {
  const addon = await loadAddonAsync();
  if (!registeredModelNames().includes(recipe.model.name)) return; // createModel refuses it, with the closest names
  const imgSize = requireImageSize('model.imgSize', recipe.model.imgSize);
  const need = await estimateMemory(
    addon,
    {
      name: recipe.model.name,
      numClasses: recipe.model.numClasses,
      imgSize,
      device: recipe.device,
      arch,
      gradCheckpointing: recipe.model.gradCheckpointing,
      batchSize: recipe.batchSize,
    },
    recipe.amp === 'float32' ? 4 : 2,
  ); // 'auto' may pick a 16-bit type: refuse only what cannot fit either way
  const size = [
    describeSizeOptions('model.overrides.', recipe.model.overrides),
    `model.imgSize=${imgSize[0] === imgSize[1] ? imgSize[0] : `[${imgSize.join(',')}]`}`,
  ];
  checkModelMemory(need, `${size.join(', ')} (${recipe.model.name})`, recipe.device);
  checkTrainingMemory(need, `batchSize=${recipe.batchSize} at ${size.join(', ')} (${recipe.model.name})`, recipe.device);
}

export async function buildModel(recipe: Recipe): Promise<Model> {
  const arch = Object.keys(recipe.model.overrides).length > 0 ? recipe.model.overrides : undefined;
  await checkRecipeMemory(recipe, arch);
  const pretrained = recipe.model.pretrained === null ? false : await resolvePretrained(recipe.model.pretrained);
  const model = await createModel(recipe.model.name, {
    numClasses: recipe.model.numClasses,
    imgSize: recipe.model.imgSize,
    pretrained,
    device: recipe.device,
    gradCheckpointing: recipe.model.gradCheckpointing,
    channelsLast: 'auto',
    // A from-scratch model keeps its family's own head initialisation whatever headInit says.
    resetClassifier: pretrained !== false && recipe.finetune.headInit === 'reset',
    freezeBatchNorm: recipe.finetune.freezeBatchNorm,
    arch,
  });
  try {
    checkTtaFitsModel(recipe.tta.length ? recipe.tta.join(',') : 'none', model);
  } catch (error) {
    model.dispose();
    throw error;
  }
  return model;
}

function verifyMode(options: RunOptions): VerifyMode {
  const verify = options.verifyImages ?? 'auto';
  if (verify !== 'auto' && typeof verify !== 'boolean') throw invalidType('verifyImages', "true, false or 'auto'", verify);
  if (verify === 'auto') return options.resume ? 'header' : 'auto';
  return verify ? 'full' : 'header';
}

/** One label in the training images: every model would learn a constant; AUC is undefined on every fold. */
function checkSeveralClasses(dataset: Dataset): void {
  const labels = new Set(dataset.train.map((item) => item.label));
  if (labels.size !== 1) return;
  const [label] = labels;
  const where = dataset.layout === 'competition' ? path.join(dataset.root, 'train.csv') : dataset.root;
  throw invalidData(
    where,
    `has only label ${JSON.stringify(dataset.classes[label])} (all ${dataset.train.length} training images): a classifier needs two classes to tell apart; pass --allow-single-class (allowSingleClass: true) to train anyway`,
  );
}

export async function prepareRun(recipe: Recipe, options: RunOptions): Promise<PreparedRun> {
  if (!fs.existsSync(options.data) || !fs.statSync(options.data).isDirectory()) {
    throw outOfRange('--data', 'a dataset folder (train.csv + train/ + test/ + sample_submit.csv, or one folder per class)', options.data);
  }
  const dataset =
    options.dataset ?? (await loadDataset(options.data, { skipUnreadable: options.skipUnreadable ?? false, verify: verifyMode(options) }));
  if (!options.resume && !options.allowSingleClass) checkSeveralClasses(dataset);
  if (dataset.train.length < recipe.folds) {
    // Otherwise the fold splitter's message, about nSplits, names neither the file nor the images.
    const where = dataset.layout === 'competition' ? path.join(dataset.root, 'train.csv') : dataset.root;
    throw invalidData(where, `lists ${dataset.train.length} training images; ${recipe.folds} folds need at least ${recipe.folds}`);
  }
  if (dataset.classes.length !== recipe.model.numClasses) {
    throw invalidData(
      options.data,
      `has ${dataset.classes.length} classes but the recipe's model.numClasses is ${recipe.model.numClasses}`,
    );
  }
  const location = new RunDir(options.run);
  const isNew = !options.resume && !fs.existsSync(location.recipeFile);
  // An existing run's recipe is checked (read only) first; a new run's folder is written only once all checks pass.
  let run = isNew ? null : RunDir.open(options.run, recipe, options.resume ?? false);
  const removed = run?.removeStaleTemporaries() ?? [];
  if (removed.length > 0) {
    options.progress?.({
      type: 'message',
      text: `removed ${removed.length} temporary files that interrupted saves left: ${removed.map((f) => path.relative(options.run, f)).join(', ')}`,
    });
  }
  const { testFold, rows } = await foldAssignment(location, dataset, recipe);
  checkAccumulation(recipe, testFold, options.folds ?? Array.from({ length: recipe.folds }, (_, i) => i));
  if (run === null) {
    // Built once before recipe.json is written, so a recipe the model refuses (image size, weights, name, device)
    // leaves no run behind that would refuse the corrected command.
    (await buildModel(recipe)).dispose();
    run = RunDir.open(options.run, recipe, false);
  }
  if (rows !== null) await writeFoldsCsv(run.foldsFile, rows);
  const cache = new DecodedCache();
  const interpolation = (model: Model): Interpolation => interpolationOf(model.pretrainedConfig);
  return {
    recipe,
    run,
    dataset,
    testFold,
    cache,
    split(fold) {
      const train: ImageItem[] = [];
      const valid: ImageItem[] = [];
      dataset.train.forEach((item, i) => (testFold[i] === fold ? valid : train).push(item));
      return { train, valid };
    },
    interpolation,
    transform(model, augment) {
      const { mean, std } = model.pretrainedConfig;
      return {
        size: model.imgSize,
        interpolation: interpolation(model),
        mean: mean as [number, number, number],
        std: std as [number, number, number],
        augment,
      };
    },
  };
}
