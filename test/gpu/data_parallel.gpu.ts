/** Data-parallel training on the device with world size 1: NCCL on CUDA (Gloo in the CPU dry run). */
import assert from 'node:assert/strict';
import { loadAddon } from '../../src/native/addon';
import { createLearner, type Learner } from '../../src/train/learner';
import { freePort, joinProcessGroup } from '../../src/train/distributed';
import { gpuTest, kNormalize, maxDiff, tinyEvaOn, toyBatch } from './helpers';

async function learnerOn(device: string, dataParallel: boolean): Promise<Learner> {
  return createLearner(await tinyEvaOn(device, 3), {
    optimizer: { lr: 3e-3, numEpochs: 1, numBatchesPerEpoch: 5 },
    seed: 3,
    normalize: kNormalize,
    dataParallel,
  });
}

gpuTest("data parallel: a world of one trains as a plain Learner does, through the device's process group", async (target, t) => {
  const missing = loadAddon().distributedAvailable();
  if (missing) {
    t.skip(missing);
    return;
  }
  const group = await joinProcessGroup(
    { rank: 0, worldSize: 1, localRank: 0, masterAddr: '127.0.0.1', masterPort: await freePort() },
    target.device,
  );
  assert.equal(group.info.backend, target.device.startsWith('cuda') ? 'nccl' : 'gloo');
  const [parallel, plain] = [await learnerOn(target.device, true), await learnerOn(target.device, false)];
  for (let step = 0; step < 5; step++) {
    const batch = toyBatch(step);
    const [a, b] = [
      await parallel.trainStep(batch.images, batch.labels, { shape: batch.shape }),
      await plain.trainStep(batch.images, batch.labels, { shape: batch.shape }),
    ];
    assert.equal(a.loss, b.loss, `step ${step}`);
    assert.ok(a.allreduceSeconds >= 0 && b.allreduceSeconds === 0);
  }
  const [x, y] = [await parallel.model.getTensors(), await plain.model.getTensors()];
  for (const name of Object.keys(y)) assert.ok(maxDiff(x[name], y[name]) <= 1e-6, `${name} differs by ${maxDiff(x[name], y[name])}`);
  assert.deepEqual(
    (await group.allGather([1.5, -2])).map((p) => Array.from(p)),
    [[1.5, -2]],
  );
  parallel.model.dispose();
  plain.model.dispose();
});
