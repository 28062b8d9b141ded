/**
 * GPU benchmark (issue 7), not a test: eva02_base_patch14_448 (2 classes, random weights) train-step img/s with
 * bf16 and fp16 at batch 17 and at the largest batch that fits, inference img/s with and without the 8-view TTA,
 * peak GPU memory and MFU. `--dry-run` runs the same code on the CPU with a tiny EVA-02 in seconds.
 *
 *   node dist/bench/gpu.js [--dry-run] [--out FILE] [--budget-s N]
 *   node dist/bench/gpu.js --combine OURS.json TIMM.json --out RESULT.json   (ours/timm ratios, schema-checked)
 *   node dist/bench/gpu.js --check RESULT.json                                (a committed result's format)
 */
import { randomFillSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { cudaMemoryStats, emptyCudaCache, isOutOfMemoryError, resetCudaPeakMemory, synchronizeDevice } from '../src/native/device';
import { createModel, listModels, type Model } from '../src/native/model';
import { doctor } from '../src/native/runtime';
import type { ModelArchOverrides, TtaView } from '../src/native/types';
import { planTta } from '../src/predict/tta';
import { createLearner, type Learner } from '../src/train/learner';
import {
  bf16PeakFlops,
  checkBenchResult,
  compareReports,
  eva02Flops,
  formatComparison,
  kBenchSchema,
  mfu,
  requireBenchReport,
  type BenchPrecision,
  type BenchReport,
  type InferenceRecord,
  type LargestBatchRecord,
  type TrainRecord,
} from './gpu_results';

interface BenchConfig {
  model: string;
  imgSize: number;
  arch?: ModelArchOverrides;
  device: string;
  batch: number;
  precisions: BenchPrecision[];
  warmup: number;
  iters: number;
  inferBatch: number;
  /** Upper bound of the largest-batch search. */
  batchCap: number;
  /** Dry run only: batches above this fail as if out of memory, so the search's error path runs on the CPU. */
  simulatedMemoryLimit?: number;
}

const kFullConfig: BenchConfig = {
  model: 'eva02_base_patch14_448',
  imgSize: 448,
  device: 'cuda',
  batch: 17,
  precisions: ['bfloat16', 'float16'],
  warmup: 3,
  iters: 10,
  inferBatch: 64,
  batchCap: 1024,
};
const kDryConfig: BenchConfig = {
  model: 'eva02_tiny_patch14_224',
  imgSize: 32,
  arch: { patchSize: 8, embedDim: 32, depth: 2, numHeads: 2 },
  device: 'cpu',
  batch: 4,
  precisions: ['bfloat16'],
  warmup: 1,
  iters: 2,
  inferBatch: 4,
  batchCap: 32,
  simulatedMemoryLimit: 12,
};
const kTtaSpec = 'hflip,vflip,rot90';
const kRepoRoot = resolve(__dirname, existsSync(resolve(__dirname, '../package.json')) ? '..' : '../..');

export interface GpuBenchOptions {
  dryRun?: boolean;
  /** Seconds for the whole run; the largest-batch search stops early to keep inside it. */
  budgetSeconds?: number;
  log?: (line: string) => void;
}

function batchData(config: BenchConfig, batch: number) {
  const shape = [batch, config.imgSize, config.imgSize, 3];
  const images = randomFillSync(new Uint8Array(shape.reduce((a, b) => a * b))); // never zeros: they time faster
  const labels = Int32Array.from({ length: batch }, (_, i) => i % 2);
  return { images, labels, shape };
}

async function newModel(config: BenchConfig): Promise<Model> {
  return createModel(config.model, { numClasses: 2, imgSize: config.imgSize, arch: config.arch, device: config.device });
}

/** A fresh model + Learner (Ranger21 + CCE, the recipe's), disposed and its cached memory released afterwards. */
async function withLearner<T>(config: BenchConfig, precision: BenchPrecision, body: (learner: Learner) => Promise<T>): Promise<T> {
  const model = await newModel(config);
  let learner: Learner | undefined;
  try {
    learner = await createLearner(model, { optimizer: { lr: 1e-4, numEpochs: 1, numBatchesPerEpoch: 10000 }, precision });
    return await body(learner);
  } finally {
    learner?.dispose();
    model.dispose();
    emptyCudaCache();
  }
}

/** Runs `steps` calls, then waits for the device; seconds from the first call to the end of the last. */
async function timed(device: string, steps: number, call: () => Promise<unknown>): Promise<number> {
  await synchronizeDevice(device);
  resetCudaPeakMemory(device);
  const start = performance.now();
  for (let i = 0; i < steps; i++) await call();
  await synchronizeDevice(device);
  return (performance.now() - start) / 1000;
}

async function timeTrain(
  config: BenchConfig,
  precision: BenchPrecision,
  batch: number,
  batchKind: TrainRecord['batchKind'],
  flops: number,
  peak: number | null,
): Promise<TrainRecord> {
  return withLearner(config, precision, async (learner) => {
    const { images, labels, shape } = batchData(config, batch);
    let lastLoss = NaN;
    const step = async () => {
      lastLoss = (await learner.trainStep(images, labels, { shape })).loss;
    };
    for (let i = 0; i < config.warmup; i++) await step();
    const seconds = await timed(config.device, config.iters, step);
    const imgPerSec = (batch * config.iters) / seconds;
    return {
      precision,
      batch,
      batchKind,
      imgPerSec,
      stepMs: (seconds * 1000) / config.iters,
      peakMemoryBytes: cudaMemoryStats(config.device).peak,
      mfu: mfu(imgPerSec, flops, peak),
      lastLoss,
    };
  });
}

/**
 * Two train steps at `batch` on a fresh model: false when they run out of memory. One is not enough: Ranger21's
 * state (≈ 6 fp32 copies of the weights) is made during the first step, so the second is the steady-state peak.
 */
async function fits(config: BenchConfig, precision: BenchPrecision, batch: number): Promise<boolean> {
  try {
    if (config.simulatedMemoryLimit !== undefined && batch > config.simulatedMemoryLimit)
      throw new Error('simulated out of memory (dry run)');
    await withLearner(config, precision, async (learner) => {
      const { images, labels, shape } = batchData(config, batch);
      for (let i = 0; i < 2; i++) await learner.trainStep(images, labels, { shape });
      await synchronizeDevice(config.device);
    });
    return true;
  } catch (error) {
    if (!isOutOfMemoryError(error)) throw error;
    emptyCudaCache();
    return false;
  }
}

/** Doubles from the recipe batch until a step runs out of memory, then bisects to within 5%. */
async function largestBatch(config: BenchConfig, precision: BenchPrecision, deadline: number): Promise<LargestBatchRecord> {
  const probes: { batch: number; fits: boolean }[] = [];
  const probe = async (batch: number) => {
    const ok = await fits(config, precision, batch);
    probes.push({ batch, fits: ok });
    return ok;
  };
  let good = config.batch;
  let bad: number | undefined;
  for (let b = good * 2; b <= config.batchCap; b *= 2) {
    if (performance.now() > deadline) return { precision, batch: good, limitedBy: 'time', probes };
    if (!(await probe(b))) {
      bad = b;
      break;
    }
    good = b;
  }
  if (bad === undefined) return { precision, batch: good, limitedBy: 'cap', probes };
  while (bad - good > Math.max(1, Math.floor(good * 0.05))) {
    if (performance.now() > deadline) return { precision, batch: good, limitedBy: 'time', probes };
    const mid = Math.floor((good + bad) / 2);
    if (await probe(mid)) good = mid;
    else bad = mid;
  }
  return { precision, batch: good, limitedBy: 'memory', probes };
}

/**
 * The same model and batch stepped with libtorch's AdamW and plain cross entropy on a device-resident batch
 * (Model.benchmark): the timm side's optimizer, so the gap to the Learner's step shows what Ranger21, CCE and the
 * host-to-device copy cost. Returned as a note.
 */
async function optimizerShare(config: BenchConfig, precision: BenchPrecision, learnerRecord: TrainRecord): Promise<string> {
  const model = await newModel(config);
  try {
    const { seconds } = await model.native.benchmark({
      batch: config.batch,
      mode: 'train',
      precision,
      warmup: config.warmup,
      iterations: config.iters,
    });
    const stepMs = (seconds.reduce((a, b) => a + b, 0) / seconds.length) * 1000;
    return (
      `${precision} batch ${config.batch}: a step with AdamW + cross entropy on a device-resident batch takes ${stepMs.toFixed(1)} ms ` +
      `(${((config.batch * 1000) / stepMs).toFixed(1)} img/s); the Learner's step (Ranger21 + CCE + host copy) ${learnerRecord.stepMs.toFixed(1)} ms`
    );
  } finally {
    model.dispose();
    emptyCudaCache();
  }
}

/**
 * The timed run at the largest batch found. Allocator fragmentation over more steps can still tip it over the
 * edge: then 10% smaller, at most three times, each retry noted in the report.
 */
async function timeLargest(
  config: BenchConfig,
  precision: BenchPrecision,
  found: number,
  flops: number,
  peak: number | null,
  notes: string[],
): Promise<TrainRecord | null> {
  let batch = found;
  for (let attempt = 0; attempt < 3 && batch > config.batch; attempt++) {
    try {
      return await timeTrain(config, precision, batch, 'largest', flops, peak);
    } catch (error) {
      if (!isOutOfMemoryError(error)) throw error;
      emptyCudaCache();
      const smaller = Math.floor(batch * 0.9);
      notes.push(`${precision} batch ${batch} ran out of memory in the timed steps; timed at ${smaller} instead`);
      batch = smaller;
    }
  }
  notes.push(`${precision}: no larger batch than ${config.batch} could be timed`);
  return null;
}

async function timeInference(config: BenchConfig, views: TtaView[] | null): Promise<InferenceRecord> {
  const model = await newModel(config);
  try {
    const { images, shape } = batchData(config, config.inferBatch);
    const precision: BenchPrecision = 'bfloat16';
    const call = () => (views ? model.forwardViews(images, { shape, views, precision }) : model.forward(images, { shape, precision }));
    for (let i = 0; i < config.warmup; i++) await call();
    const seconds = await timed(config.device, config.iters, call);
    return {
      precision,
      batch: config.inferBatch,
      views: views?.length ?? 1,
      imgPerSec: (config.inferBatch * config.iters) / seconds,
      peakMemoryBytes: cudaMemoryStats(config.device).peak,
    };
  } finally {
    model.dispose();
    emptyCudaCache();
  }
}

/** The timm.create_model keywords of the same architecture (timm's names for our arch overrides). */
function timmKwargs(config: BenchConfig): Record<string, number> {
  const arch = config.arch ?? {};
  const kwargs: Record<string, number> = { img_size: config.imgSize };
  for (const [key, timmKey] of [
    ['patchSize', 'patch_size'],
    ['embedDim', 'embed_dim'],
    ['depth', 'depth'],
    ['numHeads', 'num_heads'],
  ] as const) {
    if (arch[key] !== undefined) kwargs[timmKey] = arch[key] as number;
  }
  return kwargs;
}

/** Device, versions, model size and FLOPs: everything of the report except the measurements. */
async function describe(config: BenchConfig, dryRun: boolean): Promise<BenchReport> {
  const report = await doctor();
  const card = config.device === 'cpu' ? undefined : report.cudaDevices[0];
  const name = card?.name ?? 'cpu';
  const args = listModels().find((entry) => entry.name === config.model)!.args;
  const model = await newModel(config);
  const parameters = (await model.parameters()).reduce((sum, p) => sum + p.shape.reduce((a, b) => a * b, 1), 0);
  model.dispose();
  const flops = eva02Flops({
    imgSize: config.imgSize,
    patchSize: (config.arch?.patchSize ?? args.patch_size) as number,
    embedDim: (config.arch?.embedDim ?? args.embed_dim) as number,
    depth: (config.arch?.depth ?? args.depth) as number,
    mlpRatio: args.mlp_ratio as number,
    numClasses: 2,
  });
  const fromConfig = (key: string) => new RegExp(`${key}\\s+([0-9][^\\s,]*)`).exec(report.buildConfig)?.[1] ?? null;
  const version = (JSON.parse(readFileSync(resolve(kRepoRoot, 'package.json'), 'utf8')) as { version: string }).version;
  return {
    schema: kBenchSchema,
    kind: 'foldtorch',
    date: new Date().toISOString(),
    dryRun,
    device: { name, computeCapability: card?.computeCapability ?? null, totalMemoryBytes: card?.totalMemory ?? null },
    versions: {
      foldtorch: version,
      node: process.version,
      torch: report.torchVersion,
      cudaRuntime: fromConfig('CUDA Runtime'),
      cudnn: fromConfig('CuDNN'),
    },
    model: {
      name: config.model,
      imgSize: config.imgSize,
      numClasses: 2,
      parameters,
      forwardFlopsPerImage: flops.forward,
      trainFlopsPerImage: flops.train,
      timmKwargs: timmKwargs(config),
    },
    peak: card ? bf16PeakFlops(name) : { bf16Flops: null, source: 'CPU dry run: no MFU' },
    setup: {
      optimizer: 'Ranger21',
      loss: 'CCE',
      channelsLast: false,
      compile: false,
      gradCheckpointing: false,
      warmup: config.warmup,
      iters: config.iters,
      syncPerStep: true,
      data: 'random uint8 NHWC from the host each step',
      tta: kTtaSpec,
      matmulTf32: false,
      cudnnTf32: true,
    }, // libtorch's defaults, left as they are (autocast covers the matmuls)
    train: [],
    largestBatch: [],
    inference: [],
    notes: [],
  };
}

export async function runGpuBench(options: GpuBenchOptions = {}): Promise<BenchReport> {
  const config = options.dryRun ? kDryConfig : kFullConfig;
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const started = performance.now();
  const budgetMs = (options.budgetSeconds ?? (options.dryRun ? 60 : 240)) * 1000;
  const report = await describe(config, options.dryRun ?? false);
  log(
    `gpu bench: ${config.model} @${config.imgSize} on ${report.device.name}, ${(report.model.trainFlopsPerImage / 1e9).toFixed(1)} GFLOP/img per train step`,
  );
  if (options.dryRun)
    report.notes.push('dry run: tiny EVA-02 on the CPU; float16 needs CUDA and is left out; out-of-memory is simulated above batch 12');
  const flops = report.model.trainFlopsPerImage;
  const peak = report.peak.bf16Flops;
  for (const precision of config.precisions) {
    const fixed = await timeTrain(config, precision, config.batch, 'fixed', flops, peak);
    report.train.push(fixed);
    log(
      `train ${precision} batch ${fixed.batch}: ${fixed.imgPerSec.toFixed(1)} img/s, peak ${(fixed.peakMemoryBytes / 2 ** 30).toFixed(2)} GiB`,
    );
    report.notes.push(await optimizerShare(config, precision, fixed));
    // Half the budget for the searches, so the larger-batch runs and inference still fit.
    const deadline = started + budgetMs * (0.25 + 0.25 * (config.precisions.indexOf(precision) + 1));
    const largest = await largestBatch(config, precision, deadline);
    report.largestBatch.push(largest);
    log(
      `largest ${precision} batch: ${largest.batch} (${largest.limitedBy}; probes ${largest.probes.map((p) => `${p.batch}${p.fits ? '' : ' OOM'}`).join(', ')})`,
    );
    if (largest.batch !== config.batch) {
      const big = await timeLargest(config, precision, largest.batch, flops, peak, report.notes);
      if (big) {
        report.train.push(big);
        log(
          `train ${precision} batch ${big.batch}: ${big.imgPerSec.toFixed(1)} img/s, peak ${(big.peakMemoryBytes / 2 ** 30).toFixed(2)} GiB`,
        );
      }
    }
  }
  for (const views of [null, planTta(kTtaSpec).map((entry) => entry.view)]) {
    const record = await timeInference(config, views);
    report.inference.push(record);
    log(`inference bf16 batch ${record.batch} × ${record.views} view(s): ${record.imgPerSec.toFixed(1)} img/s`);
  }
  report.notes.push(`wall time ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return requireBenchReport(report, 'foldtorch report');
}

function writeJson(path: string, value: unknown): void {
  mkdirSync(dirname(resolve(path)), { recursive: true });
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
}

function argValue(args: string[], name: string): string | undefined {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
}

async function main(args: string[]): Promise<void> {
  const combine = args.indexOf('--combine');
  if (combine >= 0) {
    const [oursPath, timmPath] = args.slice(combine + 1, combine + 3);
    const ours = requireBenchReport(JSON.parse(readFileSync(oursPath, 'utf8')), oursPath);
    const timm = timmPath && existsSync(timmPath) ? requireBenchReport(JSON.parse(readFileSync(timmPath, 'utf8')), timmPath) : null;
    const result = compareReports(ours, timm);
    const problems = checkBenchResult(result);
    if (problems.length > 0) throw new Error(`the combined result does not match its format:\n  ${problems.join('\n  ')}`);
    writeJson(argValue(args, '--out') ?? 'bench/tmp/gpu-result.json', result);
    process.stdout.write(`${formatComparison(result)}\n`);
    return;
  }
  const check = argValue(args, '--check');
  if (check !== undefined) {
    const problems = checkBenchResult(JSON.parse(readFileSync(check, 'utf8')), check);
    if (problems.length > 0) throw new Error(`${check} does not match the result format:\n  ${problems.join('\n  ')}`);
    process.stdout.write(`gpu bench: ${check} matches the result format\n`);
    return;
  }
  const dryRun = args.includes('--dry-run');
  if (!dryRun && !(await doctor()).cudaAvailable) {
    throw new Error('no CUDA device (doctor() reports cudaAvailable=false): run with --dry-run on a CPU machine');
  }
  const budget = argValue(args, '--budget-s');
  const report = await runGpuBench({ dryRun, budgetSeconds: budget === undefined ? undefined : Number(budget) });
  const out = argValue(args, '--out') ?? 'bench/tmp/gpu-foldtorch.json';
  writeJson(out, report);
  process.stdout.write(`gpu bench: wrote ${out}\n`);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((error: Error) => {
    process.stderr.write(`gpu bench: ${error.message}\n`);
    process.exit(1);
  });
}
