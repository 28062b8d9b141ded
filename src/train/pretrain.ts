/**
 * pretrainBackbone: trains a recipe's model on a many-class dataset (folder per class, e.g. the emoji corpus) and
 * writes its weights as a checkpoint that `model.pretrained` / `--pretrained` loads; the classifier head is
 * replaced there, as timm does for another num_classes. One stratified hold-out (fold 0 of `recipe.folds`)
 * measures top-1 accuracy each epoch.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { invalidData, outOfRange } from '../errors';
import { loadDataset } from '../data/dataset';
import { prepareRun, type RunOptions } from './prepare';
import type { Recipe } from './recipe';
import { runFold, TrainingInterrupted } from './trainFold';

export interface PretrainOptions extends Omit<RunOptions, 'run'> {
  /** Where the backbone checkpoint goes (.safetensors); an existing file is never replaced. */
  out: string;
  /** Run folder for checkpoints and metrics (default: `<out without extension>.run`). */
  run?: string;
}

export interface PretrainResult {
  out: string;
  run: string;
  /** Class names, in the order of the head's outputs. */
  classes: string[];
  bestEpoch: number;
  /** Hold-out top-1 accuracy of the epoch kept. */
  validAccuracy: number | null;
  seconds: number;
}

export async function pretrainBackbone(recipe: Recipe, options: PretrainOptions): Promise<PretrainResult> {
  const started = Date.now();
  const out = path.resolve(options.out);
  if (!out.endsWith('.safetensors')) throw outOfRange('--out', 'a .safetensors file path', options.out);
  if (fs.existsSync(out))
    throw invalidData(out, 'already exists; pretraining never replaces a checkpoint: remove it or choose another --out');
  if (!fs.existsSync(options.data)) {
    throw outOfRange('--data', 'a dataset folder (one folder per class, e.g. foldtorch dataset emoji-corpus)', options.data);
  }
  const dataset = await loadDataset(options.data, { skipUnreadable: options.skipUnreadable ?? false });
  const { classes } = dataset;
  if (classes.length < 3) {
    throw invalidData(
      options.data,
      `has ${classes.length} classes; pretraining is for many-class data (a two-class dataset trains with foldtorch train)`,
    );
  }
  const run = options.run ?? out.replace(/\.safetensors$/, '.run');
  const sized: Recipe = { ...recipe, model: { ...recipe.model, numClasses: classes.length } };
  const prepared = await prepareRun(sized, { ...options, run, dataset, folds: [0] });
  const result = await runFold({
    prepared,
    fold: 0,
    emit: options.progress ?? (() => undefined),
    shouldStop: options.shouldStop ?? (() => false),
  });
  fs.mkdirSync(path.dirname(out), { recursive: true });
  // Copy then rename: a reader never sees half a checkpoint.
  const partial = `${out}.partial-${process.pid}`;
  fs.copyFileSync(prepared.run.bestWeights(0), partial);
  fs.renameSync(partial, out);
  const kept = result.epochs.find((e) => e.epoch === result.bestEpoch);
  return {
    out,
    run,
    classes,
    bestEpoch: result.bestEpoch,
    validAccuracy: kept?.validAccuracy ?? null,
    seconds: (Date.now() - started) / 1000,
  };
}

export interface BackboneCacheOptions extends Omit<RunOptions, 'run'> {
  /** Folder of the cached backbone: backbone.safetensors, the recipe it was trained with, and its run folder. */
  dir: string;
}

/**
 * The backbone of `recipe` on `data`, trained once and reused while the recipe and the dataset's manifest stay
 * the same (the demo's second step); a stale one in `dir` is replaced, a killed pretraining continues.
 */
export async function ensureBackbone(recipe: Recipe, options: BackboneCacheOptions): Promise<{ file: string; trained: boolean }> {
  const dir = path.resolve(options.dir);
  const file = path.join(dir, 'backbone.safetensors');
  const keyFile = path.join(dir, 'backbone.json');
  const manifest = ['corpus.json', 'dataset.json'].map((name) => path.join(options.data, name)).find((p) => fs.existsSync(p));
  const key = `${JSON.stringify({ recipe, data: manifest ? JSON.parse(fs.readFileSync(manifest, 'utf8')) : path.resolve(options.data) }, null, 2)}\n`;
  const savedKey = fs.existsSync(keyFile) ? fs.readFileSync(keyFile, 'utf8') : null;
  if (savedKey === key && fs.existsSync(file)) return { file, trained: false };
  if (savedKey === null && fs.existsSync(dir) && fs.readdirSync(dir).length > 0) {
    throw invalidData(dir, 'holds files that are not a foldtorch backbone cache; choose another folder');
  }
  const run = path.join(dir, 'run');
  if (savedKey !== null && savedKey !== key) {
    // Ours (the key file says so) and stale: another recipe or dataset.
    fs.rmSync(file, { force: true });
    fs.rmSync(run, { recursive: true, force: true });
  }
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(keyFile, key);
  try {
    await pretrainBackbone(recipe, { ...options, out: file, run });
  } catch (error) {
    if (error instanceof TrainingInterrupted) {
      // The cache, not --resume, is how this continues: the same call picks up the saved run.
      error.message = `pretraining interrupted at step ${error.step}; its last checkpoint is saved in ${run}: run the same command again to continue`;
    }
    throw error;
  }
  return { file, trained: true };
}
