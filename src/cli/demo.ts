/**
 * `npm run demo`, the main job: build the emoji dataset if absent, cross-validate the demo-cpu recipe (5 folds
 * grouped by art family), TTA, fold ensemble, submission and report; print the out-of-fold AUC and the test AUC
 * on openmoji, a style no fold ever trained on.
 */
import * as path from 'node:path';
import { ensureEmojiDataset } from '../data/emoji';
import { crossValidate } from '../train/crossValidate';
import { ensureEmojiCorpus } from '../data/emoji-corpus';
import { ensureBackbone } from '../train/pretrain';
import { createProgress, type ProgressMode, type ProgressSink } from '../train/progress';
import { applyOverrides, resolveRecipe } from '../train/recipe';
import { stopOnSigint } from './signals';
import { doctor } from '../native/runtime';
import { formatDoctor } from './doctor';

export interface DemoArgs {
  data?: string;
  out?: string;
  set?: string[];
  /** The recipe to cross-validate (default demo-cpu; demo-cpu-pretrained with --pretrain). */
  recipe?: string;
  /** Start from a backbone pretrained on the emoji corpus (built and trained once, then reused). */
  pretrain?: boolean;
  progress?: ProgressMode;
}

function timestamp(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

/** The emoji-pretrain backbone beside the dataset: the corpus is rendered and the backbone trained the first time only. */
async function demoBackbone(data: string, progress: ProgressSink, shouldStop: () => boolean): Promise<string> {
  const corpus = await ensureEmojiCorpus({ outDir: path.join(path.dirname(data), 'emoji-corpus') });
  process.stdout.write(`pretraining corpus: ${corpus.outDir}${corpus.built ? ' (built now)' : ' (already built)'}\n`);
  const backbone = await ensureBackbone(resolveRecipe('emoji-pretrain', []), {
    data: corpus.outDir,
    dir: path.join(path.dirname(data), 'emoji-backbone'),
    progress,
    shouldStop,
  });
  process.stdout.write(`backbone: ${backbone.file}${backbone.trained ? ' (trained now)' : ' (already trained)'}\n`);
  return backbone.file;
}

export async function demoCommand(args: DemoArgs): Promise<number> {
  // A typo in --set fails before anything is built or trained.
  const checked = resolveRecipe(args.recipe ?? (args.pretrain ? 'demo-cpu-pretrained' : 'demo-cpu'), args.set ?? []);
  const started = Date.now();
  process.stdout.write(`${formatDoctor(await doctor())}\n\n`);
  const data = args.data ?? path.join('data', 'emoji');
  const built = await ensureEmojiDataset({ outDir: data });
  process.stdout.write(`dataset: ${built.outDir}${built.built ? ' (built now)' : ' (already built)'}\n`);
  const progress = createProgress(args.progress ?? 'auto');
  const run = path.join(args.out ?? 'runs', `demo-${timestamp()}`);
  const stop = stopOnSigint();
  try {
    const recipe = args.pretrain
      ? applyOverrides(checked, [`model.pretrained=${await demoBackbone(data, progress, stop.shouldStop)}`])
      : checked;
    const result = await crossValidate(recipe, { data, run, progress, shouldStop: stop.shouldStop });
    process.stdout.write(`\n${result.table}\n\n`);
    process.stdout.write(`out-of-fold AUC (5 folds, each holding out an art family): ${result.oofAuc?.toFixed(4) ?? 'n/a'}\n`);
    process.stdout.write(`test AUC on openmoji (a style never trained on), fold ensemble + TTA: ${result.testAuc?.toFixed(4) ?? 'n/a'}\n`);
    const minutes = (seconds: number) => `${(seconds / 60).toFixed(1)} min`;
    process.stdout.write(
      `time: ${minutes(result.seconds)} cross-validation, ${minutes((Date.now() - started) / 1000)} in all\nrun folder: ${result.run}\nreport: ${result.report}\nsubmission: ${result.submission}\n`,
    );
  } finally {
    stop.dispose();
  }
  return 0;
}
