/** TTA on the device: the 8 distinct views of hflip,vflip,rot90 give the CPU's logits, view for view. */
import assert from 'node:assert/strict';
import { planTta } from '../../src/predict/tta';
import { copyTo, gpuTest, kSide, maxDiff, randomPixels, tinyEvaOn } from './helpers';

gpuTest('tta: forwardViews on the device equals the CPU, view for view (float32)', async (target) => {
  const plan = planTta('hflip,vflip,rot90');
  assert.equal(plan.length, 8);
  const views = plan.map((entry) => entry.view);
  const cpu = await tinyEvaOn('cpu', 31);
  const model = target.device === 'cpu' ? cpu : await copyTo(cpu, target.device);
  const shape = [4, kSide, kSide, 3];
  const images = randomPixels(
    shape.reduce((a, b) => a * b),
    5,
  );
  const expected = await cpu.forwardViews(images, { shape, views });
  const got = await model.forwardViews(images, { shape, views });
  assert.deepEqual(got.shape, [8, 4, 2]);
  assert.ok(maxDiff(got, expected) <= 1e-4, `device vs CPU views: ${maxDiff(got, expected)}`);
  // The views really differ (a no-op flip would make them all equal the identity).
  const perView = 4 * 2;
  const identity = got.data.subarray(0, perView);
  const distinct = plan.filter((_, v) =>
    got.data.subarray(v * perView, (v + 1) * perView).some((x, i) => Math.abs(x - identity[i]) > 1e-6),
  );
  assert.ok(distinct.length >= 4, `only ${distinct.length} views differ from the identity`);
  // The identity view is the plain forward pass.
  const plain = await model.forward(images, { shape });
  assert.ok(maxDiff({ shape: [4, 2], data: identity }, plain) <= 1e-5);
});
