/** `foldtorch predict`: the fold ensemble of a finished run on any data folder, with TTA, as a submission. */
import * as fs from 'fs';
import * as path from 'path';
import { loadDataset } from '../data/dataset';
import { invalidData, outOfRange } from '../errors';
import { rocAucScore } from '../metrics/auc';
import { ensembleFolds } from '../predict/ensemble';
import { predictItems } from '../predict/predictor';
import { writeSubmission } from '../predict/submission';
import { RunDir } from '../train/runDir';
import { buildModel, resolvePrecision } from '../train/trainFold';

export interface PredictArgs {
  run: string;
  data: string;
  tta?: string;
  out?: string;
  device?: string;
  json?: boolean;
}

export async function predictCommand(args: PredictArgs): Promise<number> {
  const run = new RunDir(args.run);
  if (!fs.existsSync(run.recipeFile)) throw outOfRange('--run', 'a run folder holding recipe.json', args.run);
  const recipe = { ...run.readRecipe(), ...(args.device ? { device: args.device } : {}) };
  const weights = Array.from({ length: recipe.folds }, (_, fold) => run.bestWeights(fold)).filter((file) => fs.existsSync(file));
  if (weights.length === 0) {
    throw invalidData(args.run, `has no fold checkpoints (fold-i/best.safetensors); train it first: foldtorch train --resume ${args.run} --data DIR`);
  }
  const dataset = await loadDataset(args.data);
  if (dataset.test.length === 0) throw invalidData(args.data, 'has no test images (test/ and sample_submit.csv)');
  const tta = args.tta ?? (recipe.tta.length ? recipe.tta.join(',') : 'none');
  const precision = await resolvePrecision(recipe);
  const folds = [];
  for (const file of weights) {
    const model = await buildModel({ ...recipe, model: { ...recipe.model, pretrained: null } });
    try {
      await model.load(file);
      const prediction = await predictItems(model, dataset.test, {
        tta, merge: recipe.ttaMerge, batchSize: recipe.evalBatchSize, interpolation: model.pretrainedConfig.interpolation === 'bilinear' ? 'bilinear' : 'bicubic', precision,
      });
      folds.push({ ids: dataset.test.map((item) => item.imageName), probabilities: prediction.probabilities, name: path.relative(args.run, file) });
      if (!args.json) process.stdout.write(`predicted ${dataset.test.length} images with ${path.relative(args.run, file)} (${prediction.plan.length} TTA views)\n`);
    } finally {
      model.dispose();
    }
  }
  const ensemble = ensembleFolds(folds, { method: recipe.ensemble });
  const out = args.out ?? path.join(args.run, `submission-${path.basename(path.resolve(args.data))}.csv`);
  await writeSubmission(out, { ids: ensemble.ids, probabilities: ensemble.probabilities }, path.join(dataset.root, 'sample_submit.csv'));
  const auc = dataset.hasTestLabels && new Set(dataset.test.map((i) => i.label)).size > 1
    ? rocAucScore(dataset.test.map((item) => item.label), Array.from(ensemble.probabilities)) : null;
  if (args.json) process.stdout.write(`${JSON.stringify({ submission: out, folds: folds.length, tta, testAuc: auc })}\n`);
  else process.stdout.write(`submission: ${out} (${folds.length} folds, TTA ${tta})${auc === null ? '' : `\ntest AUC: ${auc.toFixed(4)}`}\n`);
  return 0;
}
