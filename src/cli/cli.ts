#!/usr/bin/env node
/** The `foldtorch` command line: wiring only; each command lives in its own file. */
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { kProgressModes } from '../train/progress';
import { recipeNames } from '../train/recipe';
import { compareCommand, kComparisons } from './compare';
import { demoCommand } from './demo';
import { doctorCommand } from './doctor';
import { evaluateCommand } from './evaluate';
import { explainCommand } from './explain';
import { parityCommand } from './parity';
import { predictCommand } from './predict';
import { pretrainCommand } from './pretrain';
import { reportCommand } from './report';
import { buildCommand, setupCommand } from './setup';
import { trainCommand } from './train';
import { weightsCommand } from './weights';

function fail(message: string | undefined, error?: Error): never {
  process.stderr.write(`foldtorch: ${error ? error.message : message}\n`);
  process.exit(1);
}

const progressOption = {
  type: 'string',
  choices: kProgressModes,
  default: 'auto',
  describe: 'progress display: a bar on a terminal, plain lines otherwise',
} as const;
const setOption = {
  type: 'string',
  array: true,
  describe: 'override a recipe field, e.g. --set epochs=3 --set optimizer.lr=1e-4',
} as const;

export function buildCli(argv: string[]): Argv {
  return yargs(argv)
    .scriptName('foldtorch')
    .strict()
    .demandCommand(1, 'Name a command (see --help)')
    .command(
      'train',
      'Train a recipe (every fold, or --fold i) into a run folder',
      (y) =>
        y
          .option('recipe', { type: 'string', describe: `${recipeNames().join(' | ')} | FILE.json` })
          .option('data', { type: 'string', demandOption: true, describe: 'dataset folder (competition layout)' })
          .option('fold', { type: 'number', array: true, describe: 'train only these folds' })
          .option('device', { type: 'string', describe: 'cpu | cuda | cuda:N' })
          .option('pretrained', {
            type: 'string',
            describe: 'pretrained weights: a name from `foldtorch weights list` or a timm .safetensors file',
          })
          .option('set', setOption)
          .option('run', { type: 'string', describe: 'run folder (default runs/<recipe>)' })
          .option('resume', { type: 'string', describe: 'continue a killed run: runs/<name>' })
          .option('progress', progressOption)
          .option('json', { type: 'boolean', default: false, describe: 'JSON event log on stdout' })
          .option('devices', { type: 'string', describe: 'folds in parallel, one worker process per device: cuda:0,cuda:1' })
          .option('workers', { type: 'number', describe: 'folds in parallel on CPU: N worker processes sharing the cores' })
          .option('nproc-per-node', {
            type: 'number',
            describe: 'data-parallel: train each fold on N local ranks (c10d; torchrun --no-python for several nodes)',
          })
          .option('verify-images', {
            type: 'boolean',
            describe: 'decode every image before training, naming each bad file (default: when estimated at most 5 s)',
          })
          .option('allow-single-class', { type: 'boolean', default: false, describe: 'train although train.csv holds one label only' }),
      async (args) => {
        process.exitCode = await trainCommand(args as never);
      },
    )
    .command(
      'predict',
      'Fold ensemble of a run on a data folder, with TTA, as a submission',
      (y) =>
        y
          .option('run', { type: 'string', demandOption: true })
          .option('data', { type: 'string', demandOption: true })
          .option('tta', { type: 'string', describe: "e.g. hflip,vflip,rot90 | none (default: the recipe's)" })
          .option('out', { type: 'string', describe: 'submission file' })
          .option('device', { type: 'string' })
          .option('json', { type: 'boolean', default: false }),
      async (args) => {
        process.exitCode = await predictCommand(args as never);
      },
    )
    .command(
      'evaluate',
      'ROC AUC and confusion matrix of a submission against labels',
      (y) =>
        y
          .option('pred', { type: 'string', demandOption: true, describe: 'submission CSV (no header)' })
          .option('labels', { type: 'string', demandOption: true, describe: 'CSV with image_name,label' })
          .option('threshold', { type: 'number', default: 0.5 })
          .option('json', { type: 'boolean', default: false }),
      async (args) => {
        process.exitCode = await evaluateCommand(args as never);
      },
    )
    .command(
      'compare',
      "Train the seed's comparison runs and print their tables",
      (y) =>
        y
          .option('what', { type: 'string', choices: kComparisons, demandOption: true })
          .option('data', { type: 'string', demandOption: true })
          .option('recipe', { type: 'string', describe: 'base recipe for --what sampler' })
          .option('set', setOption)
          .option('out', { type: 'string' })
          .option('progress', progressOption),
      async (args) => {
        process.exitCode = await compareCommand(args as never);
      },
    )
    .command(
      'report',
      'Compare runs on one page: metrics, ROC curves overlaid, per-group scores',
      (y) =>
        y
          .option('compare', { type: 'string', array: true, demandOption: true, describe: 'two or more run folders' })
          .option('out', { type: 'string', default: 'compare.html', describe: 'the page to write' }),
      async (args) => {
        process.exitCode = await reportCommand(args as never);
      },
    )
    .command(
      'explain',
      "Grad-CAM overlay of where a run's fold model looked in one image",
      (y) =>
        y
          .option('run', { type: 'string', demandOption: true })
          .option('image', { type: 'string', demandOption: true })
          .option('fold', { type: 'number', describe: 'which fold model (default: the first trained)' })
          .option('class', { type: 'number', describe: 'class to explain (default: the predicted one)' })
          .option('out', { type: 'string', describe: 'PNG to write (default <run>/explain/<image>-fold<k>.png)' })
          .option('device', { type: 'string' }),
      async (args) => {
        process.exitCode = await explainCommand(args as never);
      },
    )
    .command(
      'pretrain',
      'Train a backbone on a many-class dataset (default: the emoji corpus recipe) for --pretrained',
      (y) =>
        y
          .option('data', { type: 'string', demandOption: true, describe: 'one folder per class (foldtorch dataset emoji-corpus)' })
          .option('out', { type: 'string', demandOption: true, describe: 'backbone checkpoint to write (.safetensors)' })
          .option('recipe', { type: 'string', describe: `${recipeNames().join(' | ')} | FILE.json (default emoji-pretrain)` })
          .option('device', { type: 'string', describe: 'cpu | cuda | cuda:N' })
          .option('set', setOption)
          .option('run', { type: 'string', describe: 'run folder (default: next to --out)' })
          .option('progress', progressOption)
          .option('json', { type: 'boolean', default: false, describe: 'JSON event log on stdout' }),
      async (args) => {
        process.exitCode = await pretrainCommand(args as never);
      },
    )
    .command(
      'dataset <name>',
      'Build a dataset: emoji (food/drink from emoji artwork on npm), emoji-corpus (the other emoji, for pretrain)',
      (y) =>
        y
          .positional('name', { type: 'string', choices: ['emoji', 'emoji-corpus'], demandOption: true })
          .option('out', { type: 'string', describe: 'default data/<name>' }),
      async (args) => {
        const outDir = (args.out as string | undefined) ?? `data/${args.name as string}`;
        const summary =
          args.name === 'emoji-corpus'
            ? await (await import('../data/emoji-corpus')).buildEmojiCorpus({ outDir })
            : await (await import('../data/emoji')).buildEmojiDataset({ outDir });
        process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
      },
    )
    .command(
      'parity <dir>',
      'Check this build against the reference fixtures in DIR (like shared/golden)',
      (y) =>
        y
          .positional('dir', { type: 'string', demandOption: true })
          .option('only', { type: 'string', array: true, describe: 'kinds, e.g. eva02,ranger21' })
          .option('device', { type: 'string', default: 'cpu' })
          .option('json', { type: 'boolean', default: false }),
      async (args) => {
        process.exitCode = await parityCommand({ ...args, dir: args.dir as string });
      },
    )
    .command(weightsCommand)
    .command(
      'doctor',
      'libtorch, devices, threads and BLAS as the addon sees them',
      (y) => y.option('json', { type: 'boolean', default: false }),
      async (args) => {
        process.exitCode = await doctorCommand(args);
      },
    )
    .command(
      'setup',
      'Make an installed package ready: torch (when none is found), the addon (built only when no prebuilt fits)',
      (y) =>
        y
          .option('art', {
            type: 'boolean',
            default: false,
            describe: 'also install the pinned artwork packages for `foldtorch dataset emoji`',
          })
          .option('build', {
            type: 'boolean',
            default: true,
            describe: 'build from source when no prebuilt fits (--no-build: stop instead)',
          }),
      (args) => {
        process.exitCode = setupCommand(args);
      },
    )
    .command(
      'build',
      'Build the addon from source against the torch found (needs cmake and a C++ compiler)',
      (y) => y,
      () => {
        process.exitCode = buildCommand();
      },
    )
    .command(
      'demo',
      'The main job on the emoji dataset (see README)',
      (y) =>
        y
          .option('data', { type: 'string', default: 'data/emoji' })
          .option('out', { type: 'string', default: 'runs' })
          .option('set', setOption)
          .option('recipe', {
            type: 'string',
            describe:
              'the recipe to cross-validate (default demo-cpu: ImageNet EfficientNet-Lite0 fine-tuned; demo-cpu-scratch: EVA-02 from scratch)',
          })
          .option('pretrain', {
            type: 'boolean',
            default: false,
            describe: 'demo-cpu-scratch from a backbone pretrained on the emoji corpus (built the first time: ~7.5 min more)',
          })
          .option('progress', progressOption),
      async (args) => {
        process.exitCode = await demoCommand(args as never);
      },
    )
    .fail((message, error) => fail(message, error))
    .help()
    .version();
}

if (require.main === module) {
  buildCli(hideBin(process.argv))
    .parseAsync()
    .catch((error: Error) => fail(error.message, error));
}
