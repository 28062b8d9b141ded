/** `npm run bench -- model|train|data|all`: speed and memory figures (never part of the tests). */
import { runDataBench } from './data';

type BenchName = 'model' | 'train' | 'data';

async function run(name: BenchName): Promise<void> {
  switch (name) {
    case 'data':
      await runDataBench();
      break;
    case 'model':
      await (await import('./model')).runModelBench();
      break;
    case 'train':
      await (await import('./train')).runTrainBench();
      break;
  }
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const all: BenchName[] = ['model', 'train', 'data'];
  const names = wanted.length === 0 || wanted.includes('all') ? all : wanted;
  for (const name of names) {
    if (!all.includes(name as BenchName)) {
      process.stderr.write(`bench: unknown benchmark "${name}" (model, train, data, all)\n`);
      process.exit(2);
    }
    process.stdout.write(`\n=== bench ${name}\n`);
    await run(name as BenchName);
  }
}

main().catch((error: Error) => {
  process.stderr.write(`bench: ${error.message}\n`);
  process.exit(1);
});
