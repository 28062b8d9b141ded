/** Process-level native calls with argument validation: doctor, thread count, device parsing and the tensor bridge. */
import { checkPerImage, invalidType, outOfRange, requireInteger } from '../errors';
import { addonLocation, loadAddon } from './addon';
import type { CpuMemoryStats, DoctorReport, HostTensor } from './types';

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
  /** The CPU block cache's limit and counters at the time of the call. */
  cpuBlockCache: CpuMemoryStats;
}

export async function doctor(): Promise<DoctorResult> {
  const addon = loadAddon();
  const report = await addon.doctor();
  const from = addonLocation();
  return { ...report, addonPath: from?.path ?? 'unknown', addonKind: from?.kind ?? 'unknown', nodeVersion: process.version, cpuBlockCache: addon.cpuMemoryStats() };
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
  /** Per-image 3×3 RGB colour matrices (batch × 9), as the Learner applies them. */
  colorMatrices?: Float32Array;
  /** Per-image outline strengths in [0, 1] (batch values), as the Learner applies them. */
  outlineStrengths?: Float32Array;
  /** Per-image fade amounts in [0, 1] (batch values): colours blended toward white, as the Learner applies them. */
  fadeAmounts?: Float32Array;
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
  const { colorMatrices, outlineStrengths, fadeAmounts } = options;
  checkPerImage('colorMatrices', colorMatrices, shape[0], 9, 'a 3x3 matrix per image');
  checkPerImage('outlineStrengths', outlineStrengths, shape[0], 1, 'one per image', [0, 1]);
  checkPerImage('fadeAmounts', fadeAmounts, shape[0], 1, 'one per image', [0, 1]);
  return loadAddon().imagesToTensor(images, {
    shape, mean, std, device, channelsLast: options.channelsLast ?? false,
    ...(colorMatrices ? { colorMatrices } : {}), ...(outlineStrengths ? { outlineStrengths } : {}),
    ...(fadeAmounts ? { fadeAmounts } : {}),
  });
}
