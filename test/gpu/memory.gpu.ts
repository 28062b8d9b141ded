/** The device memory API: allocator counters, peak reset, cache release, and the timing fence. */
import assert from 'node:assert/strict';
import { cudaMemoryStats, emptyCudaCache, resetCudaPeakMemory, synchronizeDevice } from '../../src/native/device';
import { gpuTest, kSide, randomPixels, tinyEvaOn } from './helpers';

gpuTest('memory: counters follow a model and a forward pass; reset starts a new peak', async (target) => {
  const before = cudaMemoryStats(target.device);
  const model = await tinyEvaOn(target.device, 51);
  await synchronizeDevice(target.device);
  const loaded = cudaMemoryStats(target.device);
  if (target.dryRun) {
    assert.deepEqual(loaded, { allocated: 0, peak: 0, reserved: 0, peakReserved: 0 });
    return;
  }
  assert.ok(loaded.allocated > before.allocated, `allocated ${before.allocated} → ${loaded.allocated} after createModel`);
  resetCudaPeakMemory(target.device);
  assert.equal(cudaMemoryStats(target.device).peak, cudaMemoryStats(target.device).allocated);
  const shape = [16, kSide, kSide, 3];
  await model.forward(
    randomPixels(
      shape.reduce((a, b) => a * b),
      1,
    ),
    { shape },
  );
  const after = cudaMemoryStats(target.device);
  assert.ok(after.peak > loaded.allocated, `peak ${after.peak} after a forward vs ${loaded.allocated} before`);
  assert.ok(after.reserved >= after.allocated);
  model.dispose();
  emptyCudaCache();
  const released = cudaMemoryStats(target.device);
  assert.ok(released.reserved <= after.reserved, `reserved ${after.reserved} → ${released.reserved} after emptyCudaCache`);
});
