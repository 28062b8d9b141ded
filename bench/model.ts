/**
 * Model benchmark (not a test): forward and training-step (forward + backward + AdamW through PyTorch's fused kernel
 * on both sides) throughput with peak RSS, in the addon and in Python timm on the same torch, same batch and thread
 * count: eva02_tiny at 112 and 224 px and
 * tf_efficientnet_lite0 (2 classes) at 128 and 224 px in NCHW and channels-last, float32 and, where the CPU has it
 * natively, bf16 autocast. The models are data (bench/model_results.ts). Every configuration runs in its own child
 * process so each peak RSS is its own, implementations alternating.
 *
 * Usage: node dist/bench/model.js [--quick] [--model eva02|efficientnet|all] (or `npm run bench -- model ...`); columns:
 * timm as installed and "timm+tuned", given the process settings the addon applies at load. timm runs from FOLDTORCH_BENCH_PYTHON or
 * ~/.cache/foldtorch/bench-venv/bin/python (dev-only: `python3 -m venv ~/.cache/foldtorch/bench-venv &&
 * ~/.cache/foldtorch/bench-venv/bin/pip install torch==2.13.0 torchvision==0.28.0 timm`).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism, homedir } from 'node:os';
import * as path from 'node:path';
import yargs from 'yargs';
import {
  benchRow,
  formatModelBench,
  kBenchModelChoices,
  kBenchModels,
  kNoTimes,
  mergeRounds,
  planModelBench,
  type BenchConfig,
  type BenchModel,
  type BenchModelChoice,
  type BenchRow,
  type BenchSelection,
  type BenchVariant,
  type StepTimes,
} from './model_results';

export interface ModelBenchOptions extends BenchSelection {
  threads?: number;
  python?: string;
  /** Each configuration runs this many times per variant, alternating variants. */
  rounds?: number;
  /** Progress and notes (default: stderr, so stdout holds the table). */
  log?: (line: string) => void;
}

// The process settings the addon applies at load, which "timm+tuned" gives Python: glibc's (native/bridge/runtime.cc),
// without which every large tensor is a fresh mmap whose first-touch page faults dominate on this VM, and passive
// OpenMP waiting (src/native/addon.ts), without which timm's 2-thread EfficientNet train step ran 10x slower here
// while other processes shared the cores. A user's own OMP_WAIT_POLICY stands, as it does for the addon.
const kTunedEnv = {
  GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824:glibc.malloc.top_pad=67108864',
  OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? 'PASSIVE',
};

type ChildRequest = { kind: 'doctor' } | { kind: 'run'; config: BenchConfig; variant: BenchVariant };

/** In a child process: doctor's bf16 report, or one configuration through the addon with its step times and peak RSS. */
async function runChild(request: ChildRequest): Promise<void> {
  // Imported here so the parent process never loads libtorch.
  const { loadAddon } = await import('../src/native/addon');
  if (request.kind === 'doctor') {
    const { doctor } = await import('../src/native/runtime');
    process.stdout.write(JSON.stringify((await doctor()).bf16));
    return;
  }
  const { createModel } = await import('../src/native/model');
  const { config, variant } = request;
  loadAddon().setNumThreads(config.threads);
  // Model.benchmark feeds its input in the layout the model was created with (native/bridge/model_bench.cc).
  const model = await createModel(config.model, {
    numClasses: 2,
    imgSize: config.imgSize,
    channelsLast: variant.layout === 'channels-last',
  });
  const times = await model.native.benchmark({
    batch: config.batch,
    mode: config.mode,
    precision: config.precision,
    warmup: config.warmup,
    iterations: config.iterations,
  });
  process.stdout.write(JSON.stringify({ ...times, peakRssBytes: process.resourceUsage().maxRSS * 1024 }));
}

/** A child's JSON (the last line of its stdout), or the last line of what it said on failure. */
function childOutput<T>(child: ReturnType<typeof spawnSync>): { out?: T; error?: string } {
  try {
    return { out: JSON.parse(String(child.stdout).trim().split('\n').slice(-1)[0]) as T };
  } catch {
    return { error: (String(child.stderr ?? '') || child.error?.message || 'no output').trim().split('\n').slice(-1)[0] };
  }
}

function spawnNodeChild(request: ChildRequest): ReturnType<typeof spawnSync> {
  return spawnSync(process.execPath, [__filename, '--child', JSON.stringify(request)], { encoding: 'utf8', maxBuffer: 1 << 24 });
}

/** Whether the CPU computes bf16 natively, asked of doctor() in a child; not when it cannot be asked. */
function probeBf16(): { native: boolean; detail: string } {
  const { out, error } = childOutput<{ cpu: boolean; cpuNative: string }>(spawnNodeChild({ kind: 'doctor' }));
  return out ? { native: out.cpu, detail: out.cpuNative } : { native: false, detail: `doctor() failed: ${error}` };
}

function runFoldtorch(config: BenchConfig, variant: BenchVariant): BenchRow {
  const { out, error } = childOutput<StepTimes & { peakRssBytes: number }>(spawnNodeChild({ kind: 'run', config, variant }));
  return out ? benchRow(config, variant, out, out.peakRssBytes) : benchRow(config, variant, kNoTimes, NaN, error);
}

function timmScript(): string {
  for (const candidate of [path.join(__dirname, 'model_timm.py'), path.resolve(__dirname, '..', '..', 'bench', 'model_timm.py')]) {
    if (existsSync(candidate)) return candidate;
  }
  return path.join(__dirname, 'model_timm.py');
}

function runTimm(config: BenchConfig, variant: BenchVariant, python: string): BenchRow {
  if (!existsSync(python)) return benchRow(config, variant, kNoTimes, NaN, `no Python at ${python} (see bench/model.ts header)`);
  const args = [
    timmScript(),
    '--model',
    config.model,
    '--kwargs',
    JSON.stringify(config.timmKwargs),
    '--img-size',
    `${config.imgSize}`,
    '--batch',
    `${config.batch}`,
    '--mode',
    config.mode,
    '--precision',
    config.precision,
    '--warmup',
    `${config.warmup}`,
    '--iterations',
    `${config.iterations}`,
    '--threads',
    `${config.threads}`,
    ...(variant.layout === 'channels-last' ? ['--channels-last'] : []),
  ];
  const env = { ...process.env, ...(variant.implementation === 'timm+tuned' ? kTunedEnv : {}) };
  const { out, error } = childOutput<{ seconds: number[]; cpu_seconds: number[]; peak_rss_bytes: number }>(
    spawnSync(python, args, { encoding: 'utf8', env, maxBuffer: 1 << 24 }),
  );
  return out
    ? benchRow(config, variant, { seconds: out.seconds, cpuSeconds: out.cpu_seconds }, out.peak_rss_bytes)
    : benchRow(config, variant, kNoTimes, NaN, error);
}

/** Runs every planned configuration in every variant; rows in table order (configuration by configuration). */
export async function runModelBench(options: ModelBenchOptions = {}): Promise<BenchRow[]> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const python =
    options.python ?? process.env.FOLDTORCH_BENCH_PYTHON ?? path.join(homedir(), '.cache', 'foldtorch', 'bench-venv', 'bin', 'python');
  const threads = options.threads ?? (Number(process.env.FOLDTORCH_NUM_THREADS) || availableParallelism());
  const bf16 = options.precisions ? { native: true, detail: 'not asked' } : probeBf16();
  const plan = planModelBench({ ...options, bf16Native: bf16.native, bf16Detail: bf16.detail, threads });
  plan.notes.forEach((note) => log(`model bench: ${note}`));
  const rows: BenchRow[] = [];
  for (const { config, variants } of plan.items) {
    const rounds: BenchRow[][] = variants.map(() => []);
    for (let round = 0; round < (options.rounds ?? (options.quick ? 1 : 2)); round++) {
      variants.forEach((variant, i) =>
        rounds[i].push(variant.implementation === 'foldtorch' ? runFoldtorch(config, variant) : runTimm(config, variant, python)),
      );
    }
    rows.push(...rounds.map(mergeRounds));
    log(`model bench: ${config.model} ${config.imgSize} px ${config.precision} ${config.mode} done`);
  }
  return rows;
}

/** The model bench's flags, shared with `npm run bench -- model`. */
export const kModelBenchFlags = {
  quick: { type: 'boolean', default: false, describe: 'model bench: one size per model, one round, 1 warm-up and 2 timed steps' },
  model: { type: 'string', choices: kBenchModelChoices, default: 'all', describe: 'model bench: which model(s) to run' },
} as const;

export function modelsOf(choice: BenchModelChoice): BenchModel[] {
  return choice === 'all' ? [...kBenchModels] : [choice];
}

/** Runs the bench the flags ask for and prints its table on stdout. */
export async function modelBenchMain(flags: { quick: boolean; model: BenchModelChoice }): Promise<BenchRow[]> {
  const rows = await runModelBench({ quick: flags.quick, models: modelsOf(flags.model) });
  process.stdout.write(`${formatModelBench(rows)}\n`);
  return rows;
}

if (require.main === module) {
  const childAt = process.argv.indexOf('--child');
  if (childAt >= 0) {
    runChild(JSON.parse(process.argv[childAt + 1]) as ChildRequest).catch((error: Error) => {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    });
  } else {
    const argv = yargs(process.argv.slice(2)).options(kModelBenchFlags).strict().parseSync();
    modelBenchMain({ quick: argv.quick, model: argv.model as BenchModelChoice }).catch((error: Error) => {
      process.stderr.write(`model bench: ${error.message}\n`);
      process.exit(1);
    });
  }
}
