/** `foldtorch train`: one fold or the whole cross-validation of a recipe, resumable. */
import * as path from 'node:path';
import { isWeightsName } from '../weights/catalogue';
import { invalidData } from '../errors';
import { checkFolds, crossValidate } from '../train/crossValidate';
import { createProgress, type ProgressMode } from '../train/progress';
import { applyOverrides, resolveRecipe, type Recipe } from '../train/recipe';
import { RunDir } from '../train/runDir';
import { TrainingInterrupted } from '../train/trainFold';
import { stopOnSigint } from './signals';
import { launchLocalRanks } from './launch';

export interface TrainArgs {
  recipe?: string;
  data: string;
  fold?: number[];
  device?: string;
  pretrained?: string;
  set?: string[];
  run?: string;
  resume?: string;
  progress?: ProgressMode;
  json?: boolean;
  /** Data-parallel: this many local ranks (torchrun's --nproc-per-node). */
  nprocPerNode?: number;
  /** Folds in parallel: one worker per device ("cuda:0,cuda:1"), or on CPU this many workers. */
  devices?: string;
  workers?: number;
  /** Absent: auto (in full when estimated at most 5 s). */
  verifyImages?: boolean;
  allowSingleClass?: boolean;
}

/** The recipe of a command line: --resume reads the run's own recipe.json; flags become overrides. */
export function recipeFromArgs(args: TrainArgs): Recipe {
  const sets = [...(args.set ?? [])];
  if (args.device) sets.push(`device=${args.device}`);
  // A weights name (foldtorch weights list) stays a name; anything else is a file relative to here.
  if (args.pretrained) sets.push(`model.pretrained=${isWeightsName(args.pretrained) ? args.pretrained : path.resolve(args.pretrained)}`);
  if (args.resume) {
    const saved = new RunDir(args.resume).readRecipe();
    return applyOverrides(saved, sets);
  }
  if (!args.recipe)
    throw invalidData(
      'foldtorch train',
      'name a recipe with --recipe (seed-eva02, seed-convnext, demo-cpu or a JSON file), or --resume a run',
    );
  return resolveRecipe(args.recipe, sets);
}

export async function trainCommand(args: TrainArgs): Promise<number> {
  const recipe = recipeFromArgs(args);
  if (args.nprocPerNode !== undefined && process.env.RANK === undefined) return launchLocalRanks(args.nprocPerNode);
  const folds = args.fold === undefined ? undefined : checkFolds('--fold', args.fold, recipe.folds);
  const run = args.resume ?? args.run ?? path.join('runs', recipe.name);
  const progress = createProgress(args.json ? 'json' : (args.progress ?? 'auto'));
  const stop = stopOnSigint();
  try {
    const result = await crossValidate(recipe, {
      data: args.data,
      run,
      resume: args.resume !== undefined,
      progress,
      shouldStop: stop.shouldStop,
      folds,
      ...(args.devices !== undefined ? { devices: args.devices.split(',').map((d) => d.trim()) } : {}),
      ...(args.workers !== undefined ? { workers: args.workers } : {}),
      verifyImages: args.verifyImages ?? 'auto',
      allowSingleClass: args.allowSingleClass ?? false,
    });
    if (!args.json && result.report) {
      process.stdout.write(`\n${result.table}\n`);
      process.stdout.write(
        `run folder: ${result.run}\nreport: ${result.report}\n${result.submission ? `submission: ${result.submission}\n` : ''}`,
      );
    }
    return 0;
  } catch (error) {
    if (error instanceof TrainingInterrupted) {
      process.stderr.write(`foldtorch: ${error.message} (foldtorch train --resume ${run} --data ${args.data})\n`);
      return 130;
    }
    throw error;
  } finally {
    stop.dispose();
  }
}
