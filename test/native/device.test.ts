/** The device-level calls on a CPU build: zero memory counters, the timing fence, TF32 switch and their errors. */
import {
  cudaMemoryStats,
  emptyCudaCache,
  isOutOfMemoryError,
  resetCudaPeakMemory,
  setFloat32MatmulPrecision,
  synchronizeDevice,
} from '../../src/native/device';
import { doctor } from '../../src/native/runtime';

describe('device calls', () => {
  test('on "cpu" the CUDA counters are zeros, reset and cache release are no-ops, the fence resolves', async () => {
    expect(cudaMemoryStats('cpu')).toEqual({ allocated: 0, peak: 0, reserved: 0, peakReserved: 0 });
    expect(resetCudaPeakMemory('cpu')).toBeUndefined();
    expect(emptyCudaCache()).toBeUndefined();
    await expect(synchronizeDevice('cpu')).resolves.toBeUndefined();
  });

  test('a device that is not a device string is refused before the addon sees it', async () => {
    expect(() => cudaMemoryStats(3 as never)).toThrow('Expected "cpu", "cuda" or "cuda:N" for device but received 3');
    expect(() => resetCudaPeakMemory('gpu')).toThrow('Expected "cpu", "cuda" or "cuda:N" for device but received "gpu"');
    await expect(synchronizeDevice('cuda:x')).rejects.toThrow('Expected "cpu", "cuda" or "cuda:N" for device but received "cuda:x"');
  });

  test('"cuda" without a visible device is a RangeError saying why', async () => {
    const report = await doctor();
    if (report.cudaAvailable) return; // a CUDA machine: test/gpu covers the counters there
    const why = report.builtWithCuda ? 'no CUDA device is visible on this machine' : 'this addon was built without CUDA';
    // The native error comes from the addon's realm: check its name rather than its constructor.
    let error: unknown;
    try {
      cudaMemoryStats('cuda');
    } catch (caught) {
      error = caught;
    }
    expect((error as Error).name).toBe('RangeError');
    expect(() => cudaMemoryStats('cuda')).toThrow(`Expected an available device for cudaMemoryStats device but received "cuda": ${why}`);
    expect(() => resetCudaPeakMemory('cuda:1')).toThrow('Expected an available device for resetCudaPeakMemory device');
  });

  test('float32 precision takes "highest" or "high" only', () => {
    expect(setFloat32MatmulPrecision('high')).toBeUndefined();
    expect(setFloat32MatmulPrecision('highest')).toBeUndefined();
    expect(() => setFloat32MatmulPrecision('medium' as never)).toThrow('Expected "highest" or "high" for precision but received "medium"');
  });

  test('out-of-memory failures are told apart from other errors', () => {
    expect(isOutOfMemoryError(new Error('CUDA out of memory. Tried to allocate 2.00 GiB'))).toBe(true);
    expect(isOutOfMemoryError(new Error('std::bad_alloc'))).toBe(true);
    expect(isOutOfMemoryError(new Error('CUDA error: CUBLAS_STATUS_ALLOC_FAILED when calling `cublasCreate(handle)`'))).toBe(true);
    expect(isOutOfMemoryError(new Error('shape mismatch'))).toBe(false);
    expect(isOutOfMemoryError('out of memory')).toBe(false);
  });
});
