/** Process-level native calls with argument validation: doctor, thread count, device parsing and the tensor bridge. */
import { checkPerImage, closestNames, invalidType, outOfRange, requireInteger } from '../errors';
import { addonLocation, loadAddon, locateTorch } from './addon';
import type { BatchAugment, CpuMemoryStats, DoctorReport, HostTensor } from './types';

export const kDevicePattern = /^(cpu|cuda(:\d+)?)$/;

/** Validates a device string ("cpu", "cuda", "cuda:N"); CUDA availability is checked natively. */
export function validateDevice(name: string, value: unknown): string {
  if (typeof value !== 'string') throw invalidType(name, '"cpu", "cuda" or "cuda:N"', value);
  if (!kDevicePattern.test(value)) throw outOfRange(name, '"cpu", "cuda" or "cuda:N"', value);
  return value;
}

export interface DoctorResult extends DoctorReport {
  addonPath: string;
  addonKind: string;
  nodeVersion: string;
  /** The torch folder the locator found and libtorch was preloaded from (null: the build's own RUNPATH). */
  torchPath: string | null;
  /** The CPU block cache's limit and counters at the time of the call. */
  cpuBlockCache: CpuMemoryStats;
}

export async function doctor(): Promise<DoctorResult> {
  const addon = loadAddon();
  const report = await addon.doctor();
  const from = addonLocation();
  return {
    ...report,
    addonPath: from?.path ?? 'unknown',
    addonKind: from?.kind ?? 'unknown',
    nodeVersion: process.version,
    torchPath: locateTorch().found?.root ?? null,
    cpuBlockCache: addon.cpuMemoryStats(),
  };
}

/** Sets the intra-op threads of every native compute thread (default: the real core count, or FOLDTORCH_NUM_THREADS). */
export function setNumThreads(threads: number): void {
  loadAddon().setNumThreads(requireInteger('threads', threads, 1, 1024));
}

export interface ImagesToTensorOptions {
  /** [batch, height, width, channels] of the uint8 NHWC pixels. */
  shape: [number, number, number, number];
  mean: number[];
  std: number[];
  device?: string;
  channelsLast?: boolean;
  /** The batch's style augmentations, as the Learner applies them. */
  augment?: BatchAugment;
}

/** Each style augmentation's values per image, and their range where they have one. */
const kBatchAugmentKeys = {
  colorMatrices: { perImage: 9, what: 'a 3x3 matrix per image' },
  outlineStrengths: { perImage: 1, what: 'one per image', range: [0, 1] as [number, number] },
  fadeAmounts: { perImage: 1, what: 'one per image', range: [0, 1] as [number, number] },
  affineMatrices: { perImage: 6, what: 'a 2x3 matrix per image' },
} as const satisfies Record<keyof BatchAugment, { perImage: number; what: string; range?: [number, number] }>;

/** Checks a batch's augment object (the one checker for every call that takes it); undefined stays undefined. */
export function checkBatchAugment(name: string, augment: unknown, batch: number): BatchAugment | undefined {
  if (augment === undefined) return undefined;
  if (typeof augment !== 'object' || augment === null || Array.isArray(augment))
    throw invalidType(name, 'an object of per-image Float32Arrays', augment);
  const keys = Object.keys(kBatchAugmentKeys);
  const out: BatchAugment = {};
  for (const [key, value] of Object.entries(augment)) {
    if (!keys.includes(key))
      throw outOfRange(`${name}.${key}`, `one of ${keys.join(', ')} (did you mean ${closestNames(key, keys, 1)[0]}?)`, value);
    if (value === undefined) continue;
    const rule: { perImage: number; what: string; range?: [number, number] } = kBatchAugmentKeys[key as keyof BatchAugment];
    checkPerImage(`${name}.${key}`, value, batch, rule.perImage, rule.what, rule.range);
    out[key as keyof BatchAugment] = value as Float32Array;
  }
  return out;
}

/** Checks an NHWC uint8 batch against its shape, naming the argument that is wrong. */
export function validateImageBatch(name: string, images: unknown, shape: unknown): [number, number, number, number] {
  if (!(images instanceof Uint8Array)) throw invalidType(name, 'a Buffer or Uint8Array', images);
  if (!Array.isArray(shape) || shape.length !== 4) throw invalidType(`${name} shape`, 'an array [batch, height, width, channels]', shape);
  const labels = ['batch', 'height', 'width', 'channels'];
  shape.forEach((v, i) => requireInteger(`${name} shape ${labels[i]}`, v, 1));
  const expected = shape.reduce((a: number, b: number) => a * b, 1);
  if (images.length !== expected) {
    throw outOfRange(`${name}`, `${expected} bytes for shape [${shape.join(', ')}]`, images);
  }
  return shape as [number, number, number, number];
}

function validateChannelStats(name: string, value: unknown, channels: number, positive: boolean): number[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'number' || !Number.isFinite(v))) {
    throw invalidType(name, `an array of ${channels} numbers`, value);
  }
  if (value.length !== channels) throw outOfRange(name, `an array of ${channels} numbers (one per channel)`, value);
  if (positive && value.some((v) => v <= 0)) throw outOfRange(name, 'positive numbers', value);
  return value;
}

/** The tensor bridge round trip: uint8 NHWC → normalised float32 NCHW on the device → back to the host. */
export async function imagesToTensor(images: Uint8Array, options: ImagesToTensorOptions): Promise<HostTensor> {
  const shape = validateImageBatch('images', images, options?.shape);
  const mean = validateChannelStats('mean', options.mean, shape[3], false);
  const std = validateChannelStats('std', options.std, shape[3], true);
  const device = validateDevice('device', options.device ?? 'cpu');
  const augment = checkBatchAugment('augment', options.augment, shape[0]);
  return loadAddon().imagesToTensor(images, {
    shape,
    mean,
    std,
    device,
    channelsLast: options.channelsLast ?? false,
    ...(augment ? { augment } : {}),
  });
}
