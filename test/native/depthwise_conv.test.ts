/**
 * The depthwise convolution backward that channels-last EfficientNet training runs on the CPU (native/models/layers/
 * depthwise_conv_cpu), against a float64 reference written out here: conv2d with groups = channels, its input and
 * weight gradients, in float32 and under bfloat16 autocast (the input and weight rounded to bfloat16 as autocast
 * rounds them; the weight gradient summed in float).
 */
import { depthwiseConvTrainCheck, useDepthwiseBackward } from '../../src/testing';
import type { DepthwiseConvCheck, DepthwiseConvCheckOptions } from '../../src/native/types';
import { grid, maxError, worstBeyondRounding } from './reference_values';

type Shape = [number, number, number, number];

/** `value` rounded to bfloat16 (nearest even), as autocast casts a float32 weight. */
function toBfloat16(value: number): number {
  const bits = new Uint32Array(new Float32Array([value]).buffer)[0];
  const rounded = (bits + 0x7fff + ((bits >>> 16) & 1)) & 0xffff0000;
  return new Float32Array(new Uint32Array([rounded >>> 0]).buffer)[0];
}

interface Reference {
  output: number[];
  gradInput: number[];
  gradWeight: number[];
  gradBias: number[];
  /** Σ|terms| of each gradient-weight sum: the scale its float rounding error is bounded by. */
  gradWeightScale: number[];
}

type Padding = number | [number, number, number, number];

/** [top, bottom, left, right]. */
function sides(padding: Padding): [number, number, number, number] {
  return typeof padding === 'number' ? [padding, padding, padding, padding] : padding;
}

function outputSize(o: DepthwiseConvCheckOptions): [number, number] {
  const [, , h, w] = o.shape;
  const [top, bottom, left, right] = sides(o.padding);
  return [Math.floor((h + top + bottom - o.kernel) / o.stride) + 1, Math.floor((w + left + right - o.kernel) / o.stride) + 1];
}

/** conv2d(groups = channels) and its backward in float64, NCHW, with the weight the forward computes with. */
function reference(o: DepthwiseConvCheckOptions): Reference {
  const [n, c, h, w] = o.shape;
  const [oh, ow] = outputSize(o);
  const k = o.kernel;
  const weight = o.dtype === 'bfloat16' ? o.weight.map(toBfloat16) : o.weight;
  const out: Reference = {
    output: new Array(n * c * oh * ow).fill(0),
    gradInput: new Array(n * c * h * w).fill(0),
    gradWeight: new Array(c * k * k).fill(0),
    gradBias: new Array(c).fill(0),
    gradWeightScale: new Array(c * k * k).fill(0),
  };
  const bias = o.bias === undefined ? undefined : o.dtype === 'bfloat16' ? o.bias.map(toBfloat16) : o.bias;
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      for (let y = 0; y < oh; y++) {
        for (let x = 0; x < ow; x++) {
          const o_ = ((b * c + ch) * oh + y) * ow + x;
          if (bias) out.output[o_] += bias[ch];
          out.gradBias[ch] += o.grad[o_];
          for (let i = 0; i < k; i++) {
            const iy = y * o.stride + i - sides(o.padding)[0];
            if (iy < 0 || iy >= h) continue;
            for (let j = 0; j < k; j++) {
              const ix = x * o.stride + j - sides(o.padding)[2];
              if (ix < 0 || ix >= w) continue;
              const inputIndex = ((b * c + ch) * h + iy) * w + ix;
              const tap = (ch * k + i) * k + j;
              out.output[o_] += o.input[inputIndex] * weight[tap];
              out.gradInput[inputIndex] += o.grad[o_] * weight[tap];
              out.gradWeight[tap] += o.grad[o_] * o.input[inputIndex];
              out.gradWeightScale[tap] += Math.abs(o.grad[o_] * o.input[inputIndex]);
            }
          }
        }
      }
    }
  }
  return out;
}

function caseOf(
  shape: Shape,
  kernel: number,
  stride: number,
  padding: Padding,
  dtype: 'float32' | 'bfloat16',
  withBias = false,
): DepthwiseConvCheckOptions {
  const options = { shape, kernel, stride, padding, dtype, input: [], weight: [], grad: [] } as DepthwiseConvCheckOptions;
  const [oh, ow] = outputSize(options);
  const channels = shape[1];
  // Input and gradient on a grid exact in bfloat16; the weight off it, so bfloat16 autocast has a rounding to do.
  options.input = grid(
    shape.reduce((a, b) => a * b, 1),
    11,
    3,
  );
  options.grad = grid(shape[0] * channels * oh * ow, 13, 1);
  options.weight = grid(channels * kernel * kernel, 17, 1).map((v, i) => v + ((i % 7) - 3) / 3000);
  if (withBias) options.bias = grid(channels, 19, 2).map((v, i) => v + ((i % 5) - 2) / 3000);
  return options;
}

/** The bias gradient, Σ grad per channel (exact: the gradient is on a 1/32 grid), comes back exactly when there is a bias. */
function expectBiasGradient(got: DepthwiseConvCheck, want: Reference, withBias: boolean): void {
  if (!withBias) {
    expect(got.gradBias).toBeUndefined();
    return;
  }
  expect(got.gradBias?.shape).toEqual([want.gradBias.length]);
  expect(Array.from(got.gradBias?.data ?? [])).toEqual(want.gradBias);
}

// Every tile width: a partial tile (24 and 40 channels: 64 wide, 24 and 40 used), tiles of 16 (80, non-square and
// strided without padding, as the SAME-padded stride-2 layers), two of 64 and a 2-channel tail (130), tiles of 48
// (96) and 32 (32); strided with padding; ConvNeXt's 7×7 with a bias on an input smaller than twice the kernel; and
// one large enough (2 × 64 × 16 × 16 at 5×5) to split over two chunks (with the 2 threads CI's machines give the
// addon) and several float blocks; uneven padding as TF "SAME" pads at stride 2 (one more at the bottom and right),
// and each side its own.
describe.each([
  [[2, 24, 7, 7] as Shape, 3, 1, 1, true],
  [[3, 80, 11, 9] as Shape, 5, 2, 0, false],
  [[1, 130, 6, 5] as Shape, 5, 1, 2, false],
  [[2, 16, 9, 9] as Shape, 3, 2, 1, false],
  [[2, 40, 6, 6] as Shape, 7, 1, 3, true],
  [[1, 96, 7, 6] as Shape, 5, 2, 0, false],
  [[2, 32, 8, 8] as Shape, 3, 2, 1, true],
  [[2, 64, 16, 16] as Shape, 5, 1, 2, false],
  [[2, 24, 8, 6] as Shape, 3, 2, [0, 1, 0, 1] as Padding, false],
  [[1, 48, 10, 7] as Shape, 5, 2, [1, 2, 2, 1] as Padding, true],
])('depthwise conv, shape %j, kernel %i, stride %i, padding %j, bias %s', (shape, kernel, stride, padding, withBias) => {
  test('float32: output and the gradients as the float64 reference', async () => {
    const options = caseOf(shape, kernel, stride, padding, 'float32', withBias);
    const want = reference(options);
    const got = await depthwiseConvTrainCheck(options);
    const [oh, ow] = outputSize(options);
    expect(got.output.shape).toEqual([shape[0], shape[1], oh, ow]);
    expect(got.gradInput.shape).toEqual(shape);
    expect(got.gradWeight.shape).toEqual([shape[1], 1, kernel, kernel]);
    // At most 49 products of values below 3 per output and input-gradient value.
    expect(maxError(got.output.data, want.output)).toBeLessThan(1e-5);
    expect(maxError(got.gradInput.data, want.gradInput)).toBeLessThan(1e-5);
    const weightErrors = want.gradWeight.map((v, i) => Math.abs(got.gradWeight.data[i] - v) - 1e-6 * want.gradWeightScale[i]);
    expect(Math.max(...weightErrors)).toBeLessThanOrEqual(0);
    expectBiasGradient(got, want, withBias);
  });

  test('bfloat16 autocast: one rounding of the output and input gradient; the weight gradient summed in float', async () => {
    const options = caseOf(shape, kernel, stride, padding, 'bfloat16', withBias);
    const want = reference(options);
    const got = await depthwiseConvTrainCheck(options);
    expect(worstBeyondRounding(got.output.data, want.output, 1e-5)).toBeLessThanOrEqual(0);
    expect(worstBeyondRounding(got.gradInput.data, want.gradInput, 1e-5)).toBeLessThanOrEqual(0);
    const weightErrors = want.gradWeight.map((v, i) => Math.abs(got.gradWeight.data[i] - v) - 1e-6 * want.gradWeightScale[i]);
    expect(Math.max(...weightErrors)).toBeLessThanOrEqual(0);
    expectBiasGradient(got, want, withBias);
  });
});

test('the input gradient under autocast uses the bfloat16-rounded weight, as ATen does', async () => {
  const options = caseOf([1, 16, 5, 5], 3, 1, 1, 'bfloat16');
  const got = await depthwiseConvTrainCheck(options);
  const withUnroundedWeight = reference({ ...options, dtype: 'float32' });
  const withRoundedWeight = reference(options);
  expect(maxError(got.gradInput.data, withRoundedWeight.gradInput)).toBeLessThan(
    maxError(got.gradInput.data, withUnroundedWeight.gradInput),
  );
});

test('a stride below 1 is refused with the argument named', async () => {
  const options = caseOf([1, 16, 5, 5], 3, 1, 1, 'float32');
  await expect(depthwiseConvTrainCheck({ ...options, stride: 0 })).rejects.toThrow(
    /expected stride >= 1 and padding >= 0, got 0 and \[1, 1, 1, 1\]/,
  );
});

test('numbers that do not fit the shape are refused with the option named', () => {
  const options = caseOf([1, 16, 5, 5], 3, 1, 1, 'float32');
  expect(() => depthwiseConvTrainCheck({ ...options, input: options.input.slice(1) })).toThrow(
    'Expected 400 numbers for input but received 399',
  );
  expect(() => depthwiseConvTrainCheck({ ...options, bias: [1, 2] })).toThrow('Expected 16 numbers for bias but received 2');
});

test('the path can be switched off (ATen then) and on again', async () => {
  const options = caseOf([1, 16, 5, 5], 3, 1, 1, 'float32');
  expect(useDepthwiseBackward(false)).toBe(true);
  try {
    await expect(depthwiseConvTrainCheck(options)).rejects.toThrow('the training path does not take this input');
  } finally {
    expect(useDepthwiseBackward(true)).toBe(false);
  }
  await expect(depthwiseConvTrainCheck(options)).resolves.toBeDefined();
});
