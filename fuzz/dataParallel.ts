/**
 * One rank of a small data-parallel run, for the data-parallel tests and the bench: a tiny EVA-02 trained `steps`
 * steps on a deterministic toy task. Each global batch holds `batch × WORLD_SIZE` samples; a rank trains on its
 * DistributedSampler slice of it. Without WORLD_SIZE it is one process training on whole global batches.
 * Writes {rank, worldSize, losses, tensors, seconds, allreduceSeconds} as JSON to `--out`.
 *
 * node dist/fuzz/dataParallel.js --global 8 --steps 3 --out weights.json [--die-at 2] [--threads 1] [--side 32 --full-model]
 * (--full-model: eva02_tiny's own architecture, 5.5 M parameters, instead of the tests' 2-block one;
 * --head-steps N: the first N steps train the head alone, as a head warm-up does, then everything)
 */
import * as fs from 'node:fs';
import { createModel } from '../src/native/model';
import { setNumThreads } from '../src/native/runtime';
import { createLearner, manualSeed } from '../src/train/learner';
import { joinProcessGroup, readLaunchEnv, shardPlan } from '../src/train/distributed';

let kSide = 32;

function argument(name: string, fallback?: string): string {
  const at = process.argv.indexOf(`--${name}`);
  if (at >= 0 && process.argv[at + 1] !== undefined) return process.argv[at + 1];
  if (fallback === undefined) throw new Error(`dataParallel: --${name} is required`);
  return fallback;
}

/** Sample `index` of the toy task: red-dominant = class 1, blue-dominant = class 0, seeded noise. */
function toySample(index: number, pixels: Uint8Array, at: number): number {
  const label = index % 2;
  let state = (index + 1) * 7919;
  for (let p = 0; p < kSide * kSide; p++) {
    state = (state * 1103515245 + 12345) % 2147483648;
    const noise = Math.floor((state / 2147483648) * 60);
    const o = at + p * 3;
    pixels[o + (label ? 0 : 2)] = 150 + noise;
    pixels[o + 1] = noise;
    pixels[o + (label ? 2 : 0)] = 60 - noise;
  }
  return label;
}

async function main(): Promise<void> {
  const launch = readLaunchEnv();
  const worldSize = launch?.worldSize ?? 1;
  const rank = launch?.rank ?? 0;
  const globalBatch = Number(argument('global'));
  const steps = Number(argument('steps'));
  const dieAt = Number(argument('die-at', '-1'));
  const headSteps = Number(argument('head-steps', '0'));
  setNumThreads(Number(argument('threads', '1')));
  kSide = Number(argument('side', '32'));
  const arch = process.argv.includes('--full-model') ? {} : { arch: { patchSize: 8, embedDim: 32, depth: 2, numHeads: 2 } };
  const group = launch ? await joinProcessGroup(launch, 'cpu', Number(argument('timeout-ms', '60000'))) : null;
  // Each rank starts from other weights: the broadcast from rank 0 must make them equal.
  manualSeed(7 + rank);
  const model = await createModel('eva02_tiny_patch14_224', { numClasses: 2, imgSize: kSide, ...arch });
  const learner = await createLearner(model, {
    optimizer: { lr: 3e-3, numEpochs: 1, numBatchesPerEpoch: steps },
    normalize: { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] },
    dataParallel: group !== null,
  });
  const losses: number[] = [];
  let allreduceSeconds = 0;
  let started = process.hrtime.bigint();
  for (let step = 0; step < steps; step++) {
    // The first step (allocations, bucket rebuild) is not timed.
    if (step === 1) [started, allreduceSeconds] = [process.hrtime.bigint(), 0];
    if (step === dieAt && rank === worldSize - 1) process.exit(3);
    if (step === 0 && headSteps > 0) await learner.freeze(/^(?!head\.)/);
    if (step === headSteps && headSteps > 0) await learner.unfreeze(/./);
    const samples = Array.from({ length: globalBatch }, (_, i) => step * globalBatch + i);
    const mine = shardPlan(samples, rank, worldSize);
    const pixels = new Uint8Array(mine.length * kSide * kSide * 3);
    const labels = mine.map((index, j) => toySample(index, pixels, j * kSide * kSide * 3));
    const result = await learner.trainStep(pixels, labels, { shape: [mine.length, kSide, kSide, 3] });
    losses.push(result.loss);
    allreduceSeconds += result.allreduceSeconds;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const tensors = Object.fromEntries(Object.entries(await model.getTensors()).map(([name, t]) => [name, Array.from(t.data)]));
  fs.writeFileSync(
    argument('out'),
    JSON.stringify({ rank, worldSize, losses, tensors, seconds, allreduceSeconds, images: (steps - 1) * globalBatch }),
  );
  learner.dispose();
  model.dispose();
}

main().catch((error: Error) => {
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
});
