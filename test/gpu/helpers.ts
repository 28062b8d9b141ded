/**
 * Shared by the GPU tests (node:test, run by `npm run test:gpu` and scripts/gpu-check.sh): which device they run
 * on, or the printed reason they are skipped, and a tiny EVA-02 on that device.
 */
import { test, type TestContext } from 'node:test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setFloat32MatmulPrecision } from '../../src/native/device';
import { createModel, type Model } from '../../src/native/model';
import { doctor } from '../../src/native/runtime';
import type { HostTensor } from '../../src/native/types';
import { manualSeed } from '../../src/train/learner';
import { kArch, kSide } from '../native/train_helpers';

export { kArch, kNormalize, kSide, toyBatch } from '../native/train_helpers';

export interface GpuTarget {
  /** "cuda", or "cpu" when FOLDTORCH_GPU_TESTS_ON_CPU=1 asks for a dry run of the test logic. */
  device: string;
  /** True for the CPU dry run: checks that only CUDA can make (float16) are skipped with a reason. */
  dryRun: boolean;
  /** What the tests run on, for their log lines. */
  label: string;
}

let targetPromise: Promise<GpuTarget | string> | undefined;

/** The device, or why these tests cannot run here (printed as the skip reason). */
async function resolveTarget(): Promise<GpuTarget | string> {
  const report = await doctor();
  if (report.cudaAvailable && report.cudaDevices.length > 0) {
    // float32 checks compare with references computed without TF32; libtorch lets cuDNN use it by default.
    setFloat32MatmulPrecision('highest');
    const card = report.cudaDevices[0];
    return { device: 'cuda', dryRun: false, label: `${card.name} (sm ${card.computeCapability}), torch ${report.torchVersion}` };
  }
  if (process.env.FOLDTORCH_GPU_TESTS_ON_CPU === '1') {
    return { device: 'cpu', dryRun: true, label: `CPU dry run (FOLDTORCH_GPU_TESTS_ON_CPU=1), torch ${report.torchVersion}` };
  }
  const why = report.builtWithCuda ? 'the addon has CUDA but no device is visible' : 'the addon was built against a CPU libtorch';
  return `no CUDA device: doctor() reports cudaAvailable=false (${why}; torch ${report.torchVersion})`;
}

export function gpuTarget(): Promise<GpuTarget | string> {
  targetPromise ??= resolveTarget();
  return targetPromise;
}

/** A test that runs on the GPU target, or is skipped with the printed reason; never a silent pass. */
export function gpuTest(name: string, body: (target: GpuTarget, t: TestContext) => Promise<void>): void {
  test(name, async (t) => {
    const target = await gpuTarget();
    if (typeof target === 'string') {
      t.skip(target);
      return;
    }
    t.diagnostic(`device: ${target.label}`);
    await body(target, t);
  });
}

/** A tiny EVA-02 (the Learner tests' architecture) on `device`, seeded so two calls give the same weights. */
export async function tinyEvaOn(device: string, seed: number, arch = kArch, imgSize = kSide): Promise<Model> {
  manualSeed(seed);
  return createModel('eva02_tiny_patch14_224', { numClasses: 2, imgSize, arch, device });
}

/** The same weights on another device: saved as .safetensors and loaded there. */
export async function copyTo(model: Model, device: string, imgSize = kSide, arch = kArch): Promise<Model> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'foldtorch-gpu-'));
  try {
    const file = path.join(dir, 'weights.safetensors');
    await model.saveWeights(file);
    return await createModel('eva02_tiny_patch14_224', { numClasses: model.numClasses, imgSize, arch, device, pretrained: file });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Deterministic pseudo-random values in [-range, range). */
export function randomFloats(count: number, seed: number, range = 1): Float32Array {
  const out = new Float32Array(count);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = ((state / 4294967296) * 2 - 1) * range;
  }
  return out;
}

/** Deterministic pseudo-random uint8 pixels. */
export function randomPixels(count: number, seed: number): Uint8Array {
  return Uint8Array.from(randomFloats(count, seed), (v) => Math.floor((v + 1) * 127.99));
}

/** Largest |a − b| (Infinity on a shape mismatch or a NaN). */
export function maxDiff(a: HostTensor, b: HostTensor): number {
  if (a.shape.join() !== b.shape.join()) return Infinity;
  let worst = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = Math.abs(a.data[i] - b.data[i]);
    if (!(d <= worst)) worst = Number.isNaN(d) ? Infinity : d;
  }
  return worst;
}

/** ‖a − b‖ / ‖b‖ over all elements. */
export function relativeError(a: HostTensor, b: HostTensor): number {
  if (a.shape.join() !== b.shape.join()) return Infinity;
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.data.length; i++) {
    num += (a.data[i] - b.data[i]) ** 2;
    den += b.data[i] ** 2;
  }
  return Math.sqrt(num / den);
}
