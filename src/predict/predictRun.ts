/** The fold ensemble of a finished run on a data folder, with TTA, written as a submission: `foldtorch predict` as an API. */
import { interpolationOf } from '../data/augment';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadDataset } from '../data/dataset';
import { invalidData, outOfRange } from '../errors';
import { rocAucScore } from '../metrics/auc';
import { RunDir } from '../train/runDir';
import { buildModel, resolvePrecision } from '../train/trainFold';
import { ensembleFolds } from './ensemble';
import { predictItems } from './predictor';
import { writeSubmission } from './submission';

export interface PredictRunOptions {
  /** A run folder: recipe.json and fold-i/best.safetensors. */
  run: string;
  /** A data folder with test/ and sample_submit.csv (answer/test_labels.csv for a test AUC). */
  data: string;
  /** e.g. "hflip,vflip,rot90" or "none"; default: the recipe's. */
  tta?: string;
  /** The submission file; default <run>/submission-<data folder name>.csv. */
  out?: string;
  /** cpu | cuda | cuda:N; default: the recipe's. */
  device?: string;
  /** Called after each fold's predictions, e.g. for progress lines. */
  onFold?: (fold: { name: string; images: number; views: number }) => void;
}

export interface PredictRunResult {
  submission: string;
  folds: number;
  tta: string;
  ids: string[];
  /** The ensemble's probability per image, in submission order. */
  probabilities: Float64Array;
  /** ROC AUC on the test labels, when the data folder has both classes in answer/. */
  testAuc: number | null;
}

/** The run folder, checked: `name` is the argument to blame (the CLI's --run, the API's run). */
export function openRunFolder(name: string, folder: string): RunDir {
  const run = new RunDir(folder);
  if (!fs.existsSync(run.recipeFile)) throw outOfRange(name, 'a run folder holding recipe.json', folder);
  return run;
}

export async function predictRun(options: PredictRunOptions): Promise<PredictRunResult> {
  const run = openRunFolder('run', options.run);
  const recipe = { ...run.readRecipe(), ...(options.device ? { device: options.device } : {}) };
  const weights = Array.from({ length: recipe.folds }, (_, fold) => run.bestWeights(fold)).filter((file) => fs.existsSync(file));
  if (weights.length === 0) {
    throw invalidData(
      options.run,
      `has no fold checkpoints (fold-i/best.safetensors); train it first: foldtorch train --resume ${options.run} --data DIR`,
    );
  }
  const dataset = await loadDataset(options.data);
  if (dataset.test.length === 0) throw invalidData(options.data, 'has no test images (test/ and sample_submit.csv)');
  const tta = options.tta ?? (recipe.tta.length ? recipe.tta.join(',') : 'none');
  const precision = await resolvePrecision(recipe);
  const folds = [];
  for (const file of weights) {
    const model = await buildModel({ ...recipe, model: { ...recipe.model, pretrained: null } });
    try {
      await model.load(file);
      const prediction = await predictItems(model, dataset.test, {
        tta,
        merge: recipe.ttaMerge,
        batchSize: recipe.evalBatchSize,
        interpolation: interpolationOf(model.pretrainedConfig),
        precision,
      });
      const name = path.relative(options.run, file);
      folds.push({ ids: dataset.test.map((item) => item.imageName), probabilities: prediction.probabilities, name });
      options.onFold?.({ name, images: dataset.test.length, views: prediction.plan.length });
    } finally {
      model.dispose();
    }
  }
  const ensemble = ensembleFolds(folds, { method: recipe.ensemble });
  const out = options.out ?? path.join(options.run, `submission-${path.basename(path.resolve(options.data))}.csv`);
  await writeSubmission(out, { ids: ensemble.ids, probabilities: ensemble.probabilities }, path.join(dataset.root, 'sample_submit.csv'));
  const testAuc =
    dataset.hasTestLabels && new Set(dataset.test.map((i) => i.label)).size > 1
      ? rocAucScore(
          dataset.test.map((item) => item.label),
          Array.from(ensemble.probabilities),
        )
      : null;
  return {
    submission: out,
    folds: folds.length,
    tta,
    ids: [...ensemble.ids],
    probabilities: Float64Array.from(ensemble.probabilities),
    testAuc,
  };
}
