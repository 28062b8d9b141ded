/**
 * `npm run demo`, the main job: build the emoji dataset if absent, cross-validate the demo-cpu recipe (5 folds
 * grouped by art family), TTA, fold ensemble, submission and report; print the out-of-fold AUC and the test AUC
 * on openmoji, a style no fold ever trained on.
 */
import * as path from 'path';
import { ensureEmojiDataset } from '../data/emoji';
import { crossValidate } from '../train/crossValidate';
import { createProgress, type ProgressMode } from '../train/progress';
import { resolveRecipe } from '../train/recipe';
import { stopOnSigint } from './signals';
import { doctor } from '../native/runtime';
import { formatDoctor } from './doctor';

export interface DemoArgs {
  data?: string;
  out?: string;
  set?: string[];
  progress?: ProgressMode;
}

function timestamp(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

export async function demoCommand(args: DemoArgs): Promise<number> {
  process.stdout.write(`${formatDoctor(await doctor())}\n\n`);
  const data = args.data ?? path.join('data', 'emoji');
  const built = await ensureEmojiDataset({ outDir: data });
  process.stdout.write(`dataset: ${built.outDir}${built.built ? ' (built now)' : ' (already built)'}\n`);
  const recipe = resolveRecipe('demo-cpu', args.set ?? []);
  const run = path.join(args.out ?? 'runs', `demo-${timestamp()}`);
  const stop = stopOnSigint();
  try {
    const result = await crossValidate(recipe, { data, run, progress: createProgress(args.progress ?? 'auto'), shouldStop: stop.shouldStop });
    process.stdout.write(`\n${result.table}\n\n`);
    process.stdout.write(`out-of-fold AUC (5 folds, each holding out an art family): ${result.oofAuc?.toFixed(4) ?? 'n/a'}\n`);
    process.stdout.write(`test AUC on openmoji (a style never trained on), fold ensemble + TTA: ${result.testAuc?.toFixed(4) ?? 'n/a'}\n`);
    process.stdout.write(`time: ${(result.seconds / 60).toFixed(1)} min\nrun folder: ${result.run}\nreport: ${result.report}\nsubmission: ${result.submission}\n`);
  } finally {
    stop.dispose();
  }
  return 0;
}
