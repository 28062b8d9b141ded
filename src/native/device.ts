/**
 * Device-level calls for benchmarks, parity and the GPU check: CPU and CUDA memory counters, the allocator caches, a timing
 * fence, and whether float32 matmuls/convolutions on CUDA may use TF32.
 */
import { outOfRange } from '../errors';
import { loadAddon } from './addon';
import { validateDevice } from './runtime';
import type { CpuMemoryStats, CudaMemoryStats, Float32MatmulPrecision } from './types';

export const float32MatmulPrecisions = ['highest', 'high'] as const satisfies readonly Float32MatmulPrecision[];

/** Allocated and reserved bytes now and at their peak on a CUDA device (zeros for "cpu"). */
export function cudaMemoryStats(device: string): CudaMemoryStats {
  return loadAddon().cudaMemoryStats(validateDevice('device', device));
}

/** Starts a new peak for cudaMemoryStats. */
export function resetCudaPeakMemory(device: string): void {
  loadAddon().resetCudaPeakMemory(validateDevice('device', device));
}

/** Returns the allocator's cached blocks to the driver (after an out-of-memory probe, say). */
export function emptyCudaCache(): void {
  loadAddon().emptyCudaCache();
}

/** The CPU block cache's counters: idle and in-use bytes, hits and misses (see CpuMemoryStats). */
export function cpuMemoryStats(): CpuMemoryStats {
  return loadAddon().cpuMemoryStats();
}

/** Returns the CPU block cache's idle blocks to the system (RSS drops by `idle`). */
export function emptyCpuCache(): void {
  loadAddon().emptyCpuCache();
}

/** Resolves when every call queued on the device before it has finished on the GPU. */
export async function synchronizeDevice(device: string): Promise<void> {
  return loadAddon().synchronizeDevice(validateDevice('device', device));
}

/**
 * "highest": float32 matmuls and cuDNN convolutions on CUDA stay IEEE float32 (what parity needs; libtorch's
 * default lets convolutions use TF32). "high": both may use TF32, as torch.backends.*.allow_tf32 = True.
 */
export function setFloat32MatmulPrecision(precision: Float32MatmulPrecision): void {
  if (!(float32MatmulPrecisions as readonly string[]).includes(precision)) {
    throw outOfRange('precision', float32MatmulPrecisions.map((p) => `"${p}"`).join(' or '), precision);
  }
  loadAddon().setFloat32MatmulPrecision(precision);
}

/** True for an out-of-memory failure of a native call: CUDA's allocator, cuBLAS/cuDNN workspaces, or the host's. */
export function isOutOfMemoryError(error: unknown): boolean {
  // Not instanceof: errors made by the addon may come from another realm (jest's VM contexts).
  const message = typeof error === 'object' && error !== null ? (error as { message?: unknown }).message : undefined;
  return typeof message === 'string' && /out of memory|_ALLOC_FAILED|std::bad_alloc/i.test(message);
}
