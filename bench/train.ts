/**
 * Benchmark (not a test): full train-step img/s (Ranger21 + CCE + autocast) of eva02_tiny at 112 px, batch 17,
 * in float32 and bfloat16, beside plain forward+backward (the same Learner accumulating without ever stepping)
 * and eval forward, so the optimizer's and the loss's share of a step is visible.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { createModel } from '../src/native/model';
import { doctor } from '../src/native/runtime';
import type { Precision } from '../src/native/types';
import { createLearner, manualSeed, type Learner } from '../src/train/learner';

export interface TrainBenchCase {
  precision: Precision;
  /** Full step: forward, CCE, backward, Ranger21 (accumulation 1). */
  trainStepImgPerSec: number;
  /** Forward, CE, backward only. */
  forwardBackwardImgPerSec: number;
  /** Eval forward only (no autograd). */
  forwardImgPerSec: number;
  /** Share of a full step spent outside forward+backward (optimizer, CCE, scaler checks). */
  optimizerShare: number;
}

export interface TrainBenchOptions {
  model?: string;
  imgSize?: number;
  batchSize?: number;
  device?: string;
  precisions?: Precision[];
  /** Timed steps per measurement (after 2 warm-up steps); the median step counts. */
  steps?: number;
  log?: (line: string) => void;
}

function pixels(batch: number, side: number): { images: Uint8Array; labels: number[] } {
  const images = new Uint8Array(batch * side * side * 3);
  for (let i = 0; i < images.length; i++) images[i] = (i * 2654435761) >>> 24;
  return { images, labels: Array.from({ length: batch }, (_, i) => i % 2) };
}

/** Per-call img/s of each runner from its median time, the runners interleaved so that a busy machine slows
 *  them alike; 2 warm-up rounds first. */
async function interleavedImagesPerSecond(runners: (() => Promise<unknown>)[], steps: number, batch: number): Promise<number[]> {
  for (let i = 0; i < 2; i++) for (const run of runners) await run();
  const times = runners.map(() => [] as number[]);
  for (let i = 0; i < steps; i++) {
    for (const [r, run] of runners.entries()) {
      const started = process.hrtime.bigint();
      await run();
      times[r].push(Number(process.hrtime.bigint() - started) / 1e9);
    }
  }
  return times.map((t) => batch / [...t].sort((a, b) => a - b)[Math.floor(t.length / 2)]);
}

async function makeLearner(
  o: Required<Omit<TrainBenchOptions, 'log' | 'precisions'>>,
  precision: Precision,
  accumulation: number,
  loss: 'cce' | 'ce',
): Promise<Learner> {
  manualSeed(0);
  const model = await createModel(o.model, { numClasses: 2, imgSize: o.imgSize, device: o.device });
  return createLearner(model, {
    optimizer: { lr: 6e-5, warmdownMinLr: 3e-5, numEpochs: 30, numBatchesPerEpoch: 218 },
    loss: { kind: loss },
    precision,
    accumulationSteps: accumulation,
  });
}

export async function runTrainBench(options: TrainBenchOptions = {}): Promise<TrainBenchCase[]> {
  const log = options.log ?? ((line: string) => console.log(line));
  const o = {
    model: options.model ?? 'eva02_tiny_patch14_224',
    imgSize: options.imgSize ?? 112,
    batchSize: options.batchSize ?? 17,
    device: options.device ?? 'cpu',
    steps: options.steps ?? 9,
  };
  const report = await doctor();
  const precisions = options.precisions ?? (['float32', 'bfloat16'] as Precision[]);
  log(
    `train bench: ${o.model} at ${o.imgSize} px, batch ${o.batchSize}, ${o.device}, ${report.intraOpThreads} intra-op threads ` +
      `of ${availableParallelism()} cores, libtorch ${report.torchVersion}, CPU bf16 ${report.bf16.cpuNative}`,
  );
  const { images, labels } = pixels(o.batchSize, o.imgSize);
  const shape = [o.batchSize, o.imgSize, o.imgSize, 3];
  const results: TrainBenchCase[] = [];
  for (const precision of precisions) {
    const full = await makeLearner(o, precision, 1, 'cce');
    // Accumulating forever never reaches the optimizer: forward, loss and backward only.
    const plain = await makeLearner(o, precision, 4096, 'ce');
    const [trainStepImgPerSec, forwardBackwardImgPerSec, forwardImgPerSec] = await interleavedImagesPerSecond(
      [
        () => full.trainStep(images, labels, { shape }),
        () => plain.trainStep(images, labels, { shape }),
        () => full.evalStep(images, { shape }),
      ],
      o.steps,
      o.batchSize,
    );
    full.model.dispose();
    plain.model.dispose();
    const optimizerShare = Math.max(0, 1 - trainStepImgPerSec / forwardBackwardImgPerSec);
    results.push({ precision, trainStepImgPerSec, forwardBackwardImgPerSec, forwardImgPerSec, optimizerShare });
    log(
      `  ${precision.padEnd(9)} train step ${trainStepImgPerSec.toFixed(1)} img/s   forward+backward ${forwardBackwardImgPerSec.toFixed(1)} img/s` +
        `   eval forward ${forwardImgPerSec.toFixed(1)} img/s   optimizer+loss share ${(optimizerShare * 100).toFixed(1)}%`,
    );
  }
  await runDataParallelBench(log);
  return results;
}

interface RankRun {
  seconds: number;
  allreduceSeconds: number;
  images: number;
}

/**
 * Data-parallel on this CPU (dist/fuzz/dataParallel.js: eva02_tiny, 5.5 M parameters, at 112 px, global batch 16):
 * 2 ranks × 1 thread (Gloo over loopback) against 1 process × 2 threads, and the gradient all-reduce's share of a
 * rank's step time (the all-reduce overlaps the backward, so this is its wall time, not all of it exposed).
 */
export async function runDataParallelBench(
  log: (line: string) => void,
  steps = 9,
): Promise<{ single: number; ranks: number; allreduceShare: number }> {
  const script = path.join(__dirname, '..', 'fuzz', 'dataParallel.js');
  const dir = fs.mkdtempSync(path.join(tmpdir(), 'foldtorch-ddp-bench-'));
  const run = promisify(execFile);
  const args = (out: string, threads: number) => [
    script,
    '--global',
    '16',
    '--side',
    '112',
    '--full-model',
    '--steps',
    String(steps),
    '--threads',
    String(threads),
    '--out',
    path.join(dir, out),
  ];
  const read = (out: string) => JSON.parse(fs.readFileSync(path.join(dir, out), 'utf8')) as RankRun;
  try {
    await run('node', args('single.json', 2));
    const env = { ...process.env, WORLD_SIZE: '2', MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(29400 + (process.pid % 500)) };
    await Promise.all([0, 1].map((rank) => run('node', args(`rank${rank}.json`, 1), { env: { ...env, RANK: String(rank) } })));
    const single = read('single.json');
    const ranks = [read('rank0.json'), read('rank1.json')];
    const slowest = Math.max(...ranks.map((r) => r.seconds));
    const figures = {
      single: single.images / single.seconds,
      ranks: ranks[0].images / slowest,
      allreduceShare: ranks[0].allreduceSeconds / ranks[0].seconds,
    };
    log(
      `  data-parallel (eva02_tiny, 112 px, global batch 16, fp32): 1 process × 2 threads ${figures.single.toFixed(0)} img/s   ` +
        `2 ranks × 1 thread ${figures.ranks.toFixed(0)} img/s   all-reduce ${(figures.allreduceShare * 100).toFixed(1)}% of a rank's step time`,
    );
    return figures;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  runTrainBench().catch((error: Error) => {
    console.error(error.message);
    process.exit(1);
  });
}
