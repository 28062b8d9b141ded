/** Mixed precision training on the device: bf16 autocast, fp16 autocast + loss scaler, and a skipped inf step. */
import assert from 'node:assert/strict';
import type { Learner } from '../../src/train/learner';
import { createTestLearner, injectNonFiniteGradient } from '../../src/testing';
import type { Precision } from '../../src/native/types';
import { gpuTest, kNormalize, maxDiff, tinyEvaOn, toyBatch } from './helpers';

async function learnerOn(device: string, seed: number, precision: Precision, forceGradScaler = false): Promise<Learner> {
  const model = await tinyEvaOn(device, seed);
  return createTestLearner(model, {
    optimizer: { lr: 3e-3, numEpochs: 1, numBatchesPerEpoch: 30 },
    seed,
    normalize: kNormalize,
    precision,
    forceGradScaler,
  });
}

/** 30 steps of the separable toy task; every loss finite, the last well under the first. */
async function trainsToyTask(learner: Learner): Promise<number[]> {
  const losses: number[] = [];
  for (let step = 0; step < 30; step++) {
    const batch = toyBatch(step);
    const result = await learner.trainStep(batch.images, batch.labels, { shape: batch.shape });
    assert.ok(Number.isFinite(result.loss), `step ${step}: loss ${result.loss}`);
    losses.push(result.loss);
  }
  const head = (losses[0] + losses[1] + losses[2]) / 3;
  const tail = (losses[27] + losses[28] + losses[29]) / 3;
  assert.ok(tail < head - 0.2, `loss did not fall: first three ${losses.slice(0, 3)}, last three ${losses.slice(27)}`);
  return losses;
}

gpuTest('amp: bfloat16 autocast trains the toy task (finite loss that falls, no scaler)', async (target) => {
  const learner = await learnerOn(target.device, 21, 'bfloat16');
  await trainsToyTask(learner);
  const counters = await learner.counters();
  assert.equal(counters.skippedSteps, 0);
  assert.equal(counters.scale, 1);
  learner.model.dispose();
});

gpuTest('amp: float16 autocast + loss scaler trains the toy task', async (target, t) => {
  if (target.dryRun) {
    t.skip('float16 autocast needs CUDA (CPU dry run; the scaler itself is checked by the next test)');
    return;
  }
  const learner = await learnerOn(target.device, 22, 'float16');
  await trainsToyTask(learner);
  const counters = await learner.counters();
  // 65536 may back off once or twice on an early overflow; it never grows within 30 steps (interval 2000).
  assert.ok(counters.scale <= 65536 && counters.scale >= 65536 / 4, `scale ${counters.scale}`);
  learner.model.dispose();
});

gpuTest('amp: an injected inf gradient skips the step, halves the scale and leaves the weights alone', async (target) => {
  // On CUDA the real float16 path; in the CPU dry run the same scaler forced on under bfloat16.
  const learner = target.dryRun ? await learnerOn('cpu', 23, 'bfloat16', true) : await learnerOn(target.device, 23, 'float16');
  const step = (i: number) => learner.trainStep(toyBatch(i).images, toyBatch(i).labels, { shape: toyBatch(i).shape });
  const first = await step(0);
  assert.equal(first.skipped, false);
  const before = await learner.model.getTensors();
  const stepsBefore = (await learner.counters()).step;
  injectNonFiniteGradient(learner);
  const skipped = await step(1);
  assert.equal(skipped.skipped, true);
  assert.equal(skipped.stepped, true);
  assert.equal(skipped.scale, first.scale / 2);
  assert.equal(skipped.step, stepsBefore);
  const after = await learner.model.getTensors();
  for (const name of Object.keys(before)) assert.equal(maxDiff(after[name], before[name]), 0, `${name} changed on a skipped step`);
  const next = await step(2);
  assert.equal(next.skipped, false);
  assert.equal(next.step, stepsBefore + 1);
  assert.equal((await learner.counters()).skippedSteps >= 1, true);
  learner.model.dispose();
});
