/** EVA-02 attention on the device: scaled_dot_product_attention against the explicit softmax(QKᵀ)V path. */
import assert from 'node:assert/strict';
import { copyTo, gpuTest, maxDiff, randomFloats, relativeError, tinyEvaOn } from './helpers';

// Head dim 64, EVA-02 base's, so CUDA picks the same fused kernels as for the real model.
const kWideArch = { patchSize: 8, embedDim: 128, depth: 2, numHeads: 2 };
const kSize = 64;
const kShape = [2, 3, kSize, kSize];

gpuTest('attention: sdpa equals the explicit path in float32, and both equal the CPU reference', async (target) => {
  const reference = await tinyEvaOn('cpu', 11, kWideArch, kSize);
  const model = target.device === 'cpu' ? reference : await copyTo(reference, target.device, kSize, kWideArch);
  const input = randomFloats(
    kShape.reduce((a, b) => a * b),
    3,
  );
  const expected = await reference.forwardFloat(input, { shape: kShape, attention: 'explicit' });
  const sdpa = await model.forwardFloat(input, { shape: kShape, attention: 'sdpa' });
  const explicit = await model.forwardFloat(input, { shape: kShape, attention: 'explicit' });
  assert.ok(maxDiff(sdpa.logits, explicit.logits) <= 1e-5, `sdpa vs explicit logits: ${maxDiff(sdpa.logits, explicit.logits)}`);
  assert.ok(maxDiff(sdpa.features, explicit.features) <= 1e-4, `sdpa vs explicit features: ${maxDiff(sdpa.features, explicit.features)}`);
  assert.ok(maxDiff(sdpa.logits, expected.logits) <= 1e-4, `device vs CPU logits: ${maxDiff(sdpa.logits, expected.logits)}`);
  assert.ok(maxDiff(sdpa.features, expected.features) <= 1e-4, `device vs CPU features: ${maxDiff(sdpa.features, expected.features)}`);
});

gpuTest('attention: under bfloat16 autocast sdpa and the explicit path stay within bf16 rounding of float32', async (target) => {
  const model = await tinyEvaOn(target.device, 12, kWideArch, kSize);
  const input = randomFloats(
    kShape.reduce((a, b) => a * b),
    4,
  );
  const exact = await model.forwardFloat(input, { shape: kShape, attention: 'explicit' });
  for (const attention of ['sdpa', 'explicit'] as const) {
    const out = await model.forwardFloat(input, { shape: kShape, attention, precision: 'bfloat16' });
    assert.ok(out.features.data.every(Number.isFinite), `${attention}: non-finite features`);
    // bf16 keeps 8 bits of mantissa: a few 1e-3 relative per op, a few 1e-2 after two blocks at most.
    const error = relativeError(out.features, exact.features);
    assert.ok(error < 3e-2, `${attention} bf16 vs float32 features: relative error ${error}`);
  }
});
