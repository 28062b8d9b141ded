/** `foldtorch pretrain`: a backbone from a many-class dataset (by default the emoji corpus recipe), for --pretrained. */
import * as path from 'node:path';
import { pretrainBackbone } from '../train/pretrain';
import { createProgress, type ProgressMode } from '../train/progress';
import { resolveRecipe } from '../train/recipe';
import { TrainingInterrupted } from '../train/trainFold';
import { stopOnSigint } from './signals';

export interface PretrainArgs {
  recipe?: string;
  data: string;
  out: string;
  device?: string;
  set?: string[];
  run?: string;
  progress?: ProgressMode;
  json?: boolean;
}

export async function pretrainCommand(args: PretrainArgs): Promise<number> {
  const recipe = resolveRecipe(args.recipe ?? 'emoji-pretrain', [...(args.set ?? []), ...(args.device ? [`device=${args.device}`] : [])]);
  const stop = stopOnSigint();
  try {
    const result = await pretrainBackbone(recipe, {
      data: args.data,
      out: args.out,
      run: args.run,
      progress: createProgress(args.json ? 'json' : (args.progress ?? 'auto')),
      shouldStop: stop.shouldStop,
    });
    const accuracy = result.validAccuracy === null ? 'n/a' : result.validAccuracy.toFixed(4);
    process.stdout.write(
      `backbone: ${result.out} (${result.classes.length} classes, epoch ${result.bestEpoch + 1}, hold-out accuracy ${accuracy}, ${(result.seconds / 60).toFixed(1)} min)\n` +
        `use it: foldtorch train --pretrained ${path.relative(process.cwd(), result.out)} …\n`,
    );
    return 0;
  } catch (error) {
    if (error instanceof TrainingInterrupted) {
      process.stderr.write(`foldtorch: ${error.message} (run the same foldtorch pretrain command again)\n`);
      return 130;
    }
    throw error;
  } finally {
    stop.dispose();
  }
}
