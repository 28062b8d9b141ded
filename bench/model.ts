/**
 * Model benchmark (not a test): eva02_tiny forward and training-step (forward + backward + AdamW) throughput at
 * 112 and 224 px, batch 17, float32 and bf16 autocast, in the addon and in Python timm on the same torch, with
 * peak RSS. Every configuration runs in its own child process so each peak RSS is its own.
 *
 * Usage: node dist/bench/model.js [--quick]; timm runs from FOLDTORCH_BENCH_PYTHON or
 * ~/.cache/foldtorch/bench-venv/bin/python (dev-only: `python3 -m venv ~/.cache/foldtorch/bench-venv &&
 * ~/.cache/foldtorch/bench-venv/bin/pip install torch==2.13.0 torchvision==0.28.0 timm`).
 */
import { spawnSync } from 'child_process';
import { existsSync } from 'fs';
import { availableParallelism, homedir } from 'os';
import * as path from 'path';

export type BenchMode = 'forward' | 'train';
export type BenchPrecision = 'float32' | 'bfloat16';
export type Implementation = 'foldtorch' | 'timm' | 'timm+malloc';

export interface BenchConfig {
  model: string;
  imgSize: number;
  batch: number;
  mode: BenchMode;
  precision: BenchPrecision;
  warmup: number;
  iterations: number;
  threads: number;
}

export interface BenchRow extends BenchConfig {
  implementation: Implementation;
  /** Every timed step, in wall seconds, and the process CPU seconds (all threads) it used. */
  steps: number[];
  cpuSteps: number[];
  /** Images per second of the fastest step over all rounds (other processes on a shared VM only slow steps down). */
  imgPerSec: number;
  /** Images per second of the median step. */
  imgPerSecMedian: number;
  bestSeconds: number;
  medianSeconds: number;
  /**
   * Images per CPU-second (median step): on a VM shared with other busy processes this moves far less than wall
   * time, so it is the steadier comparison between implementations with the same thread count.
   */
  imgPerCpuSecond: number;
  /** The largest peak RSS of the rounds' processes. */
  peakRssMiB: number;
  error?: string;
}

export interface ModelBenchOptions {
  imgSizes?: number[];
  precisions?: BenchPrecision[];
  modes?: BenchMode[];
  batch?: number;
  warmup?: number;
  iterations?: number;
  threads?: number;
  python?: string;
  /** Each configuration runs this many times per implementation, alternating implementations. */
  rounds?: number;
}

// The glibc settings the addon applies at load (native/bridge/runtime.cc): without them every large tensor is a
// fresh mmap whose first-touch page faults dominate on this VM. "timm+malloc" gives Python the same.
const kMallocTunables = 'glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824:glibc.malloc.top_pad=67108864';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

interface StepTimes {
  seconds: number[];
  cpuSeconds: number[];
}

function row(config: BenchConfig, implementation: Implementation, times: StepTimes, peakRssBytes: number, error?: string): BenchRow {
  const { seconds, cpuSeconds } = times;
  const medianSeconds = seconds.length ? median(seconds) : NaN;
  const bestSeconds = seconds.length ? Math.min(...seconds) : NaN;
  return {
    ...config, implementation, steps: seconds, cpuSteps: cpuSeconds, bestSeconds, medianSeconds, imgPerSec: config.batch / bestSeconds,
    imgPerSecMedian: config.batch / medianSeconds, imgPerCpuSecond: config.batch / (cpuSeconds.length ? median(cpuSeconds) : NaN),
    peakRssMiB: peakRssBytes / 2 ** 20, error,
  };
}

const kNoTimes: StepTimes = { seconds: [], cpuSeconds: [] };

/** Rounds of one implementation merged: all step times, the largest peak RSS, the first error if none ran. */
function merge(rounds: BenchRow[]): BenchRow {
  const ok = rounds.filter((r) => !r.error);
  if (ok.length === 0) return rounds[0];
  const times = { seconds: ok.flatMap((r) => r.steps), cpuSeconds: ok.flatMap((r) => r.cpuSteps) };
  return row(ok[0], ok[0].implementation, times, Math.max(...ok.map((r) => r.peakRssMiB)) * 2 ** 20);
}

/** In the child process: one configuration through the addon; prints {seconds, peakRssBytes}. */
async function runChild(config: BenchConfig): Promise<void> {
  // Imported here so the parent process never loads libtorch (its RSS stays out of the figures).
  const { createModel } = await import('../src/native/model');
  const { loadAddon } = await import('../src/native/addon');
  loadAddon().setNumThreads(config.threads);
  const model = await createModel(config.model, { numClasses: 2, imgSize: config.imgSize });
  const times = await model.native.benchmark({
    batch: config.batch, mode: config.mode, precision: config.precision, warmup: config.warmup, iterations: config.iterations,
  });
  process.stdout.write(JSON.stringify({ ...times, peakRssBytes: process.resourceUsage().maxRSS * 1024 }));
}

function runFoldtorch(config: BenchConfig): BenchRow {
  const child = spawnSync(process.execPath, [__filename, '--child', JSON.stringify(config)], { encoding: 'utf8', maxBuffer: 1 << 24 });
  try {
    const out = JSON.parse(child.stdout) as StepTimes & { peakRssBytes: number };
    return row(config, 'foldtorch', out, out.peakRssBytes);
  } catch {
    return row(config, 'foldtorch', kNoTimes, NaN, (child.stderr || child.error?.message || 'no output').trim().split('\n').slice(-1)[0]);
  }
}

function timmScript(): string {
  for (const candidate of [path.join(__dirname, 'model_timm.py'), path.resolve(__dirname, '..', '..', 'bench', 'model_timm.py')]) {
    if (existsSync(candidate)) return candidate;
  }
  return path.join(__dirname, 'model_timm.py');
}

function runTimm(config: BenchConfig, python: string, tuned: boolean): BenchRow {
  const implementation: Implementation = tuned ? 'timm+malloc' : 'timm';
  if (!existsSync(python)) return row(config, implementation, kNoTimes, NaN, `no Python at ${python} (see bench/model.ts header)`);
  const args = [timmScript(), '--model', config.model, '--img-size', `${config.imgSize}`, '--batch', `${config.batch}`, '--mode', config.mode,
    '--precision', config.precision, '--warmup', `${config.warmup}`, '--iterations', `${config.iterations}`, '--threads', `${config.threads}`];
  const env = { ...process.env, ...(tuned ? { GLIBC_TUNABLES: kMallocTunables } : {}) };
  const child = spawnSync(python, args, { encoding: 'utf8', env, maxBuffer: 1 << 24 });
  try {
    const out = JSON.parse(child.stdout.trim().split('\n').slice(-1)[0]) as { seconds: number[]; cpu_seconds: number[]; peak_rss_bytes: number };
    return row(config, implementation, { seconds: out.seconds, cpuSeconds: out.cpu_seconds }, out.peak_rss_bytes);
  } catch {
    return row(config, implementation, kNoTimes, NaN, (child.stderr || child.error?.message || 'no output').trim().split('\n').slice(-1)[0]);
  }
}

/** Runs every configuration in both implementations; rows in run order. */
export async function runModelBench(options: ModelBenchOptions = {}): Promise<BenchRow[]> {
  const python = options.python ?? process.env.FOLDTORCH_BENCH_PYTHON ?? path.join(homedir(), '.cache', 'foldtorch', 'bench-venv', 'bin', 'python');
  const threads = options.threads ?? (Number(process.env.FOLDTORCH_NUM_THREADS) || availableParallelism());
  const rows: BenchRow[] = [];
  for (const imgSize of options.imgSizes ?? [112, 224]) {
    for (const precision of options.precisions ?? (['float32', 'bfloat16'] as BenchPrecision[])) {
      for (const mode of options.modes ?? (['forward', 'train'] as BenchMode[])) {
        const config: BenchConfig = {
          model: 'eva02_tiny_patch14_224', imgSize, batch: options.batch ?? 17, mode, precision,
          warmup: options.warmup ?? 2, iterations: options.iterations ?? (mode === 'train' ? 4 : 6), threads,
        };
        const rounds: BenchRow[][] = [[], [], []];
        for (let round = 0; round < (options.rounds ?? 2); round++) {
          rounds[0].push(runFoldtorch(config));
          rounds[1].push(runTimm(config, python, false));
          rounds[2].push(runTimm(config, python, true));
        }
        rows.push(...rounds.map(merge));
      }
    }
  }
  return rows;
}

/** A plain-text table with the foldtorch / timm ratios. */
export function formatModelBench(rows: BenchRow[]): string {
  const lines = [
    'cells: img/s best step / median step, img per CPU-second, peak RSS MiB; ratios: foldtorch ÷ timm (best-step img/s; img per CPU-s)',
    'px precision mode | foldtorch | timm | timm+malloc | vs timm | vs timm+malloc',
  ];
  for (let i = 0; i < rows.length; i += 3) {
    const [ours, timm, tuned] = rows.slice(i, i + 3);
    const cell = (r: BenchRow) =>
      r.error ? `n/a (${r.error})` : `${r.imgPerSec.toFixed(1)}/${r.imgPerSecMedian.toFixed(1)}, ${r.imgPerCpuSecond.toFixed(1)}, ${r.peakRssMiB.toFixed(0)}`;
    const ratio = (other: BenchRow) => `${(ours.imgPerSec / other.imgPerSec).toFixed(2)}x; ${(ours.imgPerCpuSecond / other.imgPerCpuSecond).toFixed(2)}x`;
    lines.push(`${ours.imgSize} ${ours.precision} ${ours.mode} | ${cell(ours)} | ${cell(timm)} | ${cell(tuned)} | ${ratio(timm)} | ${ratio(tuned)}`);
  }
  return lines.join('\n');
}

if (require.main === module) {
  const childAt = process.argv.indexOf('--child');
  if (childAt >= 0) {
    runChild(JSON.parse(process.argv[childAt + 1]) as BenchConfig).catch((error: Error) => {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    });
  } else {
    const quick = process.argv.includes('--quick');
    runModelBench(quick ? { imgSizes: [112], iterations: 2, warmup: 1, rounds: 1 } : {}).then((rows) => {
      process.stdout.write(`${formatModelBench(rows)}\n`);
    });
  }
}
