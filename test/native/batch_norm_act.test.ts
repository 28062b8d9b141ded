/**
 * The fused CPU BatchNorm + ReLU6 that channels-last EfficientNet training runs (native/models/layers/
 * batch_norm_act_cpu), against a float64 reference written out here: PyTorch's training-mode semantics (biased batch
 * variance to normalise, unbiased for the momentum update), ReLU6 with hardtanh_'s gradient mask, in float32 and in
 * bfloat16 (inputs chosen exactly representable, so only the outputs round).
 */
import { batchNormActTrainCheck } from '../../src/testing';
import type { BatchNormActCheckOptions } from '../../src/native/types';
import { grid, maxAbs, maxError, worstBeyondRounding } from './reference_values';

interface Reference {
  output: number[];
  gradInput: number[];
  gradWeight: number[];
  gradBias: number[];
  runningMean: number[];
  runningVar: number[];
}

/** Training-mode BatchNorm (+ ReLU6) and its backward in float64, NCHW. */
function reference(o: BatchNormActCheckOptions): Reference {
  const [n, c, h, w] = o.shape;
  const plane = h * w;
  const count = n * plane;
  const at = (i: number, ch: number, p: number) => (i * c + ch) * plane + p;
  const out: Reference = {
    output: new Array(o.input.length),
    gradInput: new Array(o.input.length),
    gradWeight: [],
    gradBias: [],
    runningMean: [],
    runningVar: [],
  };
  for (let ch = 0; ch < c; ch++) {
    let sum = 0;
    for (let i = 0; i < n; i++) for (let p = 0; p < plane; p++) sum += o.input[at(i, ch, p)];
    const mean = sum / count;
    let squares = 0;
    for (let i = 0; i < n; i++) for (let p = 0; p < plane; p++) squares += (o.input[at(i, ch, p)] - mean) ** 2;
    const variance = squares / count;
    const invstd = 1 / Math.sqrt(variance + o.eps);
    out.runningMean.push((1 - o.momentum) * o.runningMean[ch] + o.momentum * mean);
    out.runningVar.push((1 - o.momentum) * o.runningVar[ch] + (o.momentum * squares) / (count - 1));
    let gradSum = 0;
    let centredSum = 0;
    const passed: number[] = [];
    for (let i = 0; i < n; i++) {
      for (let p = 0; p < plane; p++) {
        const k = at(i, ch, p);
        const pre = (o.input[k] - mean) * invstd * o.weight[ch] + o.bias[ch];
        out.output[k] = o.relu6 ? Math.min(Math.max(pre, 0), 6) : pre;
        const g = !o.relu6 || (pre > 0 && pre < 6) ? o.grad[k] : 0;
        passed[k] = g;
        gradSum += g;
        centredSum += g * (o.input[k] - mean);
      }
    }
    out.gradBias.push(gradSum);
    out.gradWeight.push(centredSum * invstd);
    for (let i = 0; i < n; i++) {
      for (let p = 0; p < plane; p++) {
        const k = at(i, ch, p);
        out.gradInput[k] =
          o.weight[ch] * invstd * (passed[k] - gradSum / count - (o.input[k] - mean) * invstd * invstd * (centredSum / count));
      }
    }
  }
  return out;
}

function caseOf(shape: [number, number, number, number], dtype: 'float32' | 'bfloat16', relu6 = true): BatchNormActCheckOptions {
  const size = shape.reduce((a, b) => a * b, 1);
  const channels = shape[1];
  // A per-channel offset far from zero makes a naive one-pass variance cancel; weights and biases put many values
  // beyond both ends of ReLU6's clamp.
  const offsets = grid(channels, 7, 4);
  const input = grid(size, 11, 3).map((v, i) => v + offsets[Math.floor(i / (shape[2] * shape[3])) % channels]);
  return {
    shape,
    input,
    grad: grid(size, 13, 1),
    weight: grid(channels, 17, 2).map((v) => v + 2.5),
    bias: grid(channels, 19, 2).map((v) => v + 2),
    runningMean: grid(channels, 23, 1),
    runningVar: grid(channels, 29, 1).map((v) => v + 2),
    momentum: 0.1,
    eps: 1e-3,
    relu6,
    dtype,
  };
}

// Sizes: one block of rows; several blocks over two chunks (2 × 24 × 24 × 64 values is above ATen's grain);
// channel counts that leave a vector tail.
describe.each([
  [[3, 5, 7, 9] as [number, number, number, number]],
  [[2, 64, 24, 24] as [number, number, number, number]],
  [[4, 24, 5, 3] as [number, number, number, number]],
])('fused BatchNorm + ReLU6, shape %j', (shape) => {
  test('float32: output, gradients and running statistics as the float64 reference', async () => {
    const options = caseOf(shape, 'float32');
    const want = reference(options);
    const got = await batchNormActTrainCheck(options);
    expect(got.output.shape).toEqual(shape);
    expect(maxError(got.output.data, want.output)).toBeLessThan(2e-6 * maxAbs(want.output));
    expect(maxError(got.gradInput.data, want.gradInput)).toBeLessThan(2e-6 * maxAbs(want.gradInput));
    expect(maxError(got.gradWeight.data, want.gradWeight)).toBeLessThan(2e-6 * maxAbs(want.gradWeight));
    expect(maxError(got.gradBias.data, want.gradBias)).toBeLessThan(2e-6 * maxAbs(want.gradBias));
    expect(maxError(got.runningMean.data, want.runningMean)).toBeLessThan(2e-6 * maxAbs(want.runningMean));
    expect(maxError(got.runningVar.data, want.runningVar)).toBeLessThan(2e-6 * maxAbs(want.runningVar));
    // The clamp is exercised at both ends.
    const outputs = Array.from(got.output.data);
    expect(outputs.filter((v) => v === 0).length).toBeGreaterThan(outputs.length / 20);
    expect(outputs.filter((v) => v === 6).length).toBeGreaterThan(outputs.length / 20);
  });

  test('bfloat16: statistics and parameter gradients in float from the exact inputs; outputs rounded once', async () => {
    const options = caseOf(shape, 'bfloat16');
    const want = reference(options);
    const got = await batchNormActTrainCheck(options);
    // bf16 keeps 8 significant bits: a rounding is within 2^-8 of the value (plus float noise near zero).
    expect(worstBeyondRounding(got.output.data, want.output, 1e-5)).toBeLessThanOrEqual(0);
    expect(worstBeyondRounding(got.gradInput.data, want.gradInput, 2e-6 * maxAbs(want.gradInput))).toBeLessThanOrEqual(0);
    expect(maxError(got.gradWeight.data, want.gradWeight)).toBeLessThan(2e-6 * maxAbs(want.gradWeight));
    expect(maxError(got.gradBias.data, want.gradBias)).toBeLessThan(2e-6 * maxAbs(want.gradBias));
    expect(maxError(got.runningVar.data, want.runningVar)).toBeLessThan(2e-6 * maxAbs(want.runningVar));
  });
});

test('without the activation: BatchNorm alone, nothing clamped', async () => {
  const options = caseOf([2, 16, 6, 6], 'float32', false);
  const want = reference(options);
  const got = await batchNormActTrainCheck(options);
  expect(Math.min(...got.output.data)).toBeLessThan(-1);
  expect(Math.max(...got.output.data)).toBeGreaterThan(6);
  expect(maxError(got.output.data, want.output)).toBeLessThan(2e-6 * maxAbs(want.output));
  expect(maxError(got.gradInput.data, want.gradInput)).toBeLessThan(2e-6 * maxAbs(want.gradInput));
});

test('one value per channel is refused before the fused path (ATen names it in training)', async () => {
  const options = caseOf([1, 4, 1, 1], 'float32');
  await expect(batchNormActTrainCheck(options)).rejects.toThrow('the fused path does not take this input');
});
