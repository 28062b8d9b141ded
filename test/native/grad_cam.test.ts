// Grad-CAM through the native backward path, against the map computed by hand from the model's own features and
// classifier weights (EfficientNet's head is mean-pool → linear, so ∂logit_c/∂A_k = W[c, k] / (h·w) exactly).
import { createModel, type Model } from '../../src/native/model';

function pixels(count: number, size: number, seed: number): Buffer {
  const out = Buffer.alloc(count * size * size * 3);
  let s = seed;
  for (let i = 0; i < out.length; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    out[i] = s % 256;
  }
  return out;
}

function normalised(images: Buffer, n: number, size: number, mean: number[], std: number[]): Float32Array {
  const out = new Float32Array(n * 3 * size * size);
  for (let b = 0; b < n; b++) {
    for (let c = 0; c < 3; c++) {
      for (let p = 0; p < size * size; p++) {
        out[(b * 3 + c) * size * size + p] = Math.fround((images[(b * size * size + p) * 3 + c] / 255 - mean[c]) / std[c]);
      }
    }
  }
  return out;
}

describe('Model.gradCam', () => {
  let model: Model;
  const size = 64;
  beforeAll(async () => {
    model = await createModel('tf_efficientnet_lite0', { numClasses: 2, imgSize: size });
  });
  afterAll(() => model.dispose());

  test.each([0, 1])('EfficientNet class %i: ReLU(Σ_k W[c,k]/(hw) · A_k) / max, from forwardFloat features', async (target) => {
    const n = 2;
    const images = pixels(n, size, 7 + target);
    const { cam, logits } = await model.gradCam(images, { shape: [n, size, size, 3], target });
    const { mean, std } = model.pretrainedConfig;
    const reference = await model.forwardFloat(normalised(images, n, size, mean, std), { shape: [n, 3, size, size] });
    const [, channels, h, w] = reference.features.shape;
    expect(cam.shape).toEqual([n, h, w]);
    expect([h, w]).toEqual([2, 2]);
    const weight = (await model.getTensors(['classifier.weight']))['classifier.weight'].data;
    for (let b = 0; b < n; b++) {
      const expected = new Float64Array(h * w);
      for (let k = 0; k < channels; k++) {
        const alpha = weight[target * channels + k] / (h * w);
        for (let p = 0; p < h * w; p++) expected[p] += alpha * reference.features.data[(b * channels + k) * h * w + p];
      }
      const relu = Array.from(expected, (v) => Math.max(0, v));
      const peak = Math.max(...relu);
      const got = Array.from(cam.data.subarray(b * h * w, (b + 1) * h * w));
      relu.forEach((v, p) => expect(got[p]).toBeCloseTo(peak > 0 ? v / peak : 0, 4));
      // forwardFloat folds BatchNorm into the convolutions, Grad-CAM's backward cannot: float32 agrees to ~1e-6 relative.
      for (let c = 0; c < 2; c++) {
        const want = reference.logits.data[b * 2 + c];
        expect(Math.abs(logits.data[b * 2 + c] - want)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(want)));
      }
    }
  });

  test('the target class is checked in TypeScript and natively', async () => {
    const images = pixels(1, size, 1);
    await expect(model.gradCam(images, { shape: [1, size, size, 3], target: 2 })).rejects.toThrow(
      'Expected an integer from 0 to 1 for target but received 2',
    );
    // The bridge checks before queueing the call: it throws synchronously.
    expect(() => model.native.gradCam(images, { shape: [1, size, size, 3], target: 5 })).toThrow(
      'Expected a class from 0 to 1 for gradCam options.target but received 5',
    );
  });
});

describe('Grad-CAM of the other families', () => {
  test("ConvNeXt: the last stage's grid, values in [0, 1], a maximum of 1", async () => {
    const model = await createModel('convnext_atto.d2_in1k', {
      numClasses: 2,
      imgSize: 64,
      arch: { depths: [1, 1, 1, 1], dims: [8, 16, 24, 32] },
    });
    try {
      const { cam } = await model.gradCam(pixels(2, 64, 5), { shape: [2, 64, 64, 3], target: 1 });
      expect(cam.shape).toEqual([2, 2, 2]);
      for (let b = 0; b < 2; b++) {
        const values = Array.from(cam.data.subarray(b * 4, b * 4 + 4));
        expect(values.every((v) => v >= 0 && v <= 1)).toBe(true);
        expect(Math.max(...values) === 1 || Math.max(...values) === 0).toBe(true);
      }
    } finally {
      model.dispose();
    }
  });

  test('EVA-02: the patch grid (class token dropped), values in [0, 1]', async () => {
    const model = await createModel('eva02_tiny_patch14_224', {
      numClasses: 2,
      imgSize: 28,
      arch: { embedDim: 16, depth: 1, numHeads: 1, qkvFused: false, scaleMlp: true, mlpRatio: 2 },
    });
    try {
      const { cam, logits } = await model.gradCam(pixels(3, 28, 9), { shape: [3, 28, 28, 3], target: 0 });
      expect(cam.shape).toEqual([3, 2, 2]);
      expect(logits.shape).toEqual([3, 2]);
      expect(Array.from(cam.data).every((v) => v >= 0 && v <= 1)).toBe(true);
      expect(Math.max(...cam.data)).toBe(1);
    } finally {
      model.dispose();
    }
  });
});
