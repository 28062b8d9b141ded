/** `foldtorch predict`: the fold ensemble of a finished run on any data folder, with TTA, as a submission. */
import { openRunFolder, predictRun } from '../predict/predictRun';

export interface PredictArgs {
  run: string;
  data: string;
  tta?: string;
  out?: string;
  device?: string;
  json?: boolean;
}

export async function predictCommand(args: PredictArgs): Promise<number> {
  openRunFolder('--run', args.run);
  const result = await predictRun({
    run: args.run,
    data: args.data,
    tta: args.tta,
    out: args.out,
    device: args.device,
    onFold: args.json
      ? undefined
      : (fold) => process.stdout.write(`predicted ${fold.images} images with ${fold.name} (${fold.views} TTA views)\n`),
  });
  const { submission, folds, tta, testAuc } = result;
  if (args.json) process.stdout.write(`${JSON.stringify({ submission, folds, tta, testAuc })}\n`);
  else
    process.stdout.write(
      `submission: ${submission} (${folds} folds, TTA ${tta})${testAuc === null ? '' : `\ntest AUC: ${testAuc.toFixed(4)}`}\n`,
    );
  return 0;
}
