/** `npm run bench -- [model|train|data|soak|lag|report|all...] [--quick] [--model eva02|efficientnet|all]`: speed and memory figures (never part of the tests). */
import yargs from 'yargs';
import { runDataBench } from './data';
import { kModelBenchFlags } from './model';
import type { BenchModelChoice } from './model_results';

const kBenchNames = ['model', 'train', 'data', 'soak', 'lag', 'report'] as const;
type BenchName = (typeof kBenchNames)[number];

interface BenchFlags {
  quick: boolean;
  model: BenchModelChoice;
}

async function run(name: BenchName, flags: BenchFlags): Promise<void> {
  switch (name) {
    case 'data':
      await runDataBench();
      break;
    case 'model':
      await (await import('./model')).modelBenchMain(flags);
      break;
    case 'train':
      await (await import('./train')).runTrainBench();
      break;
    case 'soak':
      await (await import('./soak')).runSoak();
      break;
    case 'lag':
      await (await import('./lag')).runLagBench();
      break;
    case 'report':
      await (await import('./report')).runReportBench();
      break;
  }
}

async function main(): Promise<void> {
  const argv = yargs(process.argv.slice(2))
    .command('$0 [names..]', 'run benchmarks (all of them without a name)', (y) =>
      y.positional('names', { type: 'string', array: true, choices: [...kBenchNames, 'all'], describe: 'which benchmarks' }),
    )
    .options(kModelBenchFlags)
    .strict()
    .parseSync();
  const wanted = (argv.names ?? []) as string[];
  const names: BenchName[] = wanted.length === 0 || wanted.includes('all') ? [...kBenchNames] : (wanted as BenchName[]);
  for (const name of names) {
    process.stdout.write(`\n=== bench ${name}\n`);
    await run(name, { quick: argv.quick, model: argv.model as BenchModelChoice });
  }
}

main().catch((error: Error) => {
  process.stderr.write(`bench: ${error.message}\n`);
  process.exit(1);
});
