/** `foldtorch parity DIR`: checks this build against the reference implementations' fixtures. */
import { formatParity, runParity } from '../parity/run';

export async function parityCommand(args: { dir: string; only?: string[]; json?: boolean; device?: string }): Promise<number> {
  const only = (args.only ?? []).flatMap((s) => s.split(',')).filter(Boolean);
  const summary = await runParity(args.dir, { only, device: args.device ?? 'cpu' });
  process.stdout.write(args.json ? `${JSON.stringify(summary, null, 2)}\n` : `${formatParity(summary)}\n`);
  return summary.passed ? 0 : 1;
}
