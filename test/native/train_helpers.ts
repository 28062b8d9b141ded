// Shared by the Learner tests: a tiny EVA-02 and a separable toy task (red-dominant = class 1, blue = class 0).
import { createModel, type Model } from '../../src/native/model';
import { doctor, setNumThreads } from '../../src/native/runtime';
import type { HostTensor } from '../../src/native/types';
import { manualSeed, type Learner } from '../../src/train/learner';
import { createTestLearner, type LearnerTestOptions } from '../../src/testing';

export const kSide = 32;
export const kArch = { patchSize: 8, embedDim: 32, depth: 2, numHeads: 2 };
export const kNormalize = { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] };

export async function tinyEva(seed: number, numClasses = 2, arch = kArch): Promise<Model> {
  manualSeed(seed);
  return createModel('eva02_tiny_patch14_224', { numClasses, imgSize: kSide, arch });
}

export async function tinyLearner(seed: number, options: Partial<LearnerTestOptions> = {}): Promise<Learner> {
  const model = await tinyEva(seed);
  return createTestLearner(model, {
    optimizer: { lr: 3e-3, numEpochs: 1, numBatchesPerEpoch: 30 },
    seed,
    normalize: kNormalize,
    ...options,
  });
}

/** `batch` images of the toy task for `step` (deterministic), alternating labels 0, 1, ... */
export function toyBatch(step: number, batch = 8): { images: Uint8Array; labels: number[]; shape: number[] } {
  const images = new Uint8Array(batch * kSide * kSide * 3);
  const labels: number[] = [];
  let state = (step + 1) * 7919;
  const noise = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return Math.floor((state / 2147483648) * 60);
  };
  for (let i = 0; i < batch; i++) {
    const label = i % 2;
    labels.push(label);
    for (let p = 0; p < kSide * kSide; p++) {
      const at = (i * kSide * kSide + p) * 3;
      images[at + (label ? 0 : 2)] = 150 + noise();
      images[at + 1] = noise();
      images[at + (label ? 2 : 0)] = noise();
    }
  }
  return { images, labels, shape: [batch, kSide, kSide, 3] };
}

export async function tensors(model: Model): Promise<Record<string, HostTensor>> {
  return model.getTensors();
}

/** Largest |a − b| over every tensor of two snapshots (Infinity when the names differ). */
export function snapshotDiff(a: Record<string, HostTensor>, b: Record<string, HostTensor>): number {
  if (Object.keys(a).sort().join() !== Object.keys(b).sort().join()) return Infinity;
  let worst = 0;
  for (const name of Object.keys(a)) {
    const x = a[name].data;
    const y = b[name].data;
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]));
  }
  return worst;
}

export function accuracy(logits: HostTensor, labels: number[]): number {
  const classes = logits.shape[1];
  let correct = 0;
  labels.forEach((label, i) => {
    const row = Array.from(logits.data.subarray(i * classes, (i + 1) * classes));
    if (row.indexOf(Math.max(...row)) === label) correct++;
  });
  return correct / labels.length;
}

/**
 * These models are tiny: one intra-op thread is as fast and does not stall when the 2-core machine is busy
 * (OpenMP's spinning threads wait on each other). Restores the process-wide setting afterwards.
 */
export function useOneThread(): void {
  let previous = 0;
  beforeAll(async () => {
    previous = (await doctor()).intraOpThreads;
    setNumThreads(1);
  });
  afterAll(() => setNumThreads(previous));
}
