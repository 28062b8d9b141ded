/** `foldtorch explain --run RUN --image FILE`: one Grad-CAM overlay of where a fold model looked. */
import { explain } from '../train/explain';

export interface ExplainArgs {
  run: string;
  image: string;
  fold?: number;
  class?: number;
  out?: string;
  device?: string;
}

export async function explainCommand(args: ExplainArgs): Promise<number> {
  const result = await explain({
    run: args.run,
    image: args.image,
    fold: args.fold,
    target: args.class,
    out: args.out,
    device: args.device,
  });
  process.stdout.write(
    `fold ${result.fold}: p(class 1) ${result.probability.toFixed(4)}, Grad-CAM of class ${result.target}: ${result.file}\n`,
  );
  return 0;
}
