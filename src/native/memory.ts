/**
 * Memory checks before allocating: a model's parameters, or a training step's parameters, gradients, optimizer
 * state and activations, against what the device has free; refused with the figures and the option to change,
 * never libtorch's allocator text.
 */
import { memoryError } from '../errors';
import type { NativeAddon, NativeCreateModelOptions, NativeMemoryEstimate } from './types';

const kFloatBytes = 4;
// Weights, their gradients and Ranger21's four per-parameter states (moments, positive/negative momentum).
const kTrainingCopies = 6;

/** Decimal units as a person reads them: "4.2 TB", "23 GB", "512 kB". */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return 'unlimited';
  const units = ['bytes', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  if (unit === 0) return `${Math.round(value)} bytes`;
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

export interface MemoryNeed {
  /** Bytes of the model's parameters and buffers. */
  modelBytes: number;
  /** Bytes a training step needs in all: weights, gradients, optimizer state, activations. */
  trainingBytes: number;
  /** Of trainingBytes, the activations. */
  activationBytes: number;
  availableBytes: number;
}

/**
 * Bytes from the native element counts: float32 weights and optimizer state; activations of `activationBytes`
 * each (2 under 16-bit autocast, the lower bound: some stay float32, so a step that fits may still fail, never
 * the other way round).
 */
export function memoryNeed(estimate: NativeMemoryEstimate, activationBytes = kFloatBytes): MemoryNeed {
  const modelBytes = (estimate.parameters + estimate.buffers) * kFloatBytes;
  const activationTotal = estimate.activations * activationBytes;
  return {
    modelBytes,
    activationBytes: activationTotal,
    trainingBytes: estimate.parameters * kFloatBytes * kTrainingCopies + estimate.buffers * kFloatBytes + activationTotal,
    availableBytes: estimate.availableBytes,
  };
}

export async function estimateMemory(
  addon: NativeAddon,
  options: NativeCreateModelOptions & { batchSize?: number },
  activationBytes = kFloatBytes,
): Promise<MemoryNeed> {
  return memoryNeed(await addon.estimateMemory(options), activationBytes);
}

/**
 * Refuses a model whose parameters do not fit: `subject` names the options that made it, e.g.
 * "model.overrides.embedDim=1048576".
 */
export function checkModelMemory(need: MemoryNeed, subject: string, device: string): void {
  if (need.modelBytes <= need.availableBytes) return;
  throw memoryError(
    `${subject} needs about ${formatBytes(need.modelBytes)} for parameters; ${formatBytes(need.availableBytes)} available on ${device}`,
  );
}

/** Refuses a training run whose step does not fit (call checkModelMemory first: its message names parameters). */
export function checkTrainingMemory(need: MemoryNeed, subject: string, device: string): void {
  if (need.trainingBytes <= need.availableBytes) return;
  throw memoryError(
    `${subject} needs about ${formatBytes(need.trainingBytes)} to train (${formatBytes(need.activationBytes)} of it activations); ` +
      `${formatBytes(need.availableBytes)} available on ${device}: try a smaller batchSize or imgSize, or model.gradCheckpointing`,
  );
}

/** "a=1, b=[2,3]" for the options that set a model's size, under their names (`prefix` + key). */
export function describeSizeOptions(prefix: string, options: Record<string, unknown>): string {
  return Object.entries(options)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${prefix}${key}=${Array.isArray(value) ? `[${value.join(',')}]` : String(value)}`)
    .join(', ');
}
