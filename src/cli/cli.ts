#!/usr/bin/env node
/** The `foldtorch` command line: wiring only; each command lives in its own file. */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { doctorCommand } from './doctor';
import { parityCommand } from './parity';
import { demoCommand } from './demo';

function fail(message: string, error?: Error): never {
  process.stderr.write(`foldtorch: ${error ? error.message : message}\n`);
  process.exit(1);
}

export function buildCli(argv: string[]) {
  return yargs(argv)
    .scriptName('foldtorch')
    .strict()
    .demandCommand(1, 'Name a command: doctor, parity, demo (see --help)')
    .command('doctor', 'Show libtorch, devices, threads and BLAS as the addon sees them', (y) =>
      y.option('json', { type: 'boolean', default: false, describe: 'print JSON' }),
      async (args) => doctorCommand(args))
    .command('parity <dir>', 'Check this build against the reference fixtures in DIR (like shared/golden)', (y) =>
      y.positional('dir', { type: 'string', demandOption: true, describe: 'fixture folder' })
        .option('only', { type: 'string', array: true, describe: 'kinds to run, e.g. eva02,ranger21' })
        .option('device', { type: 'string', default: 'cpu', describe: 'cpu | cuda | cuda:N' })
        .option('json', { type: 'boolean', default: false }),
      async (args) => { process.exitCode = await parityCommand({ ...args, dir: args.dir as string }); })
    .command('demo', 'The main job: build the emoji dataset if absent, cross-validate, predict, report', (y) =>
      y.option('out', { type: 'string', describe: 'run folder root', default: 'runs' }),
      async (args) => demoCommand(args))
    .fail((message, error) => fail(message, error))
    .help()
    .version();
}

if (require.main === module) {
  buildCli(hideBin(process.argv)).parseAsync().catch((error: Error) => fail(error.message, error));
}
