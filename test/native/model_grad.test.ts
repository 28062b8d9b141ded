/** Gradients: timm's reference values, gradient checkpointing (float32 and autocast), channels-last ConvNeXt. */
import * as path from 'node:path';
import { createModel, type CreateModelOptions, type Model } from '../../src/native/model';
import { readFixtureJson, readFixtureSafetensors, type FixtureTensor } from '../../src/parity/fixture';
import type { LossAndGradsResult, Precision } from '../../src/native/types';
import { useDepthwiseBackward } from '../../src/testing';

const golden = process.env.FOLDTORCH_GOLDEN ?? path.resolve(__dirname, '..', '..', '..', 'shared', 'golden');

interface Case {
  stem: string;
  name: string;
  options: CreateModelOptions;
  targets: number[];
}

const cases: Case[] = [
  {
    stem: 'eva02_base_family_tiny',
    name: 'eva02_base_patch14_448',
    options: { numClasses: 2, imgSize: 56, arch: { patchSize: 14, embedDim: 64, depth: 2, numHeads: 2 } },
    targets: [0, 1, 1],
  },
  {
    stem: 'eva02_small_family_tiny',
    name: 'eva02_small_patch14_224',
    options: { numClasses: 2, imgSize: 48, arch: { patchSize: 8, embedDim: 48, depth: 2, numHeads: 3 } },
    targets: [1, 0],
  },
  {
    stem: 'convnext_tiny_family_small',
    name: 'convnext_tiny',
    options: { numClasses: 2, arch: { depths: [1, 1, 2, 1], dims: [16, 24, 32, 48] } },
    targets: [1, 0],
  },
  {
    stem: 'convnext_atto_family_small',
    name: 'convnext_atto',
    options: { numClasses: 2, arch: { depths: [1, 1, 1, 1], dims: [8, 16, 24, 32] } },
    targets: [0, 1],
  },
];

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

function worstGradDiff(a: LossAndGradsResult, b: LossAndGradsResult): number {
  expect(Object.keys(a.grads)).toEqual(Object.keys(b.grads));
  let worst = maxDiff(a.gradInput.data, b.gradInput.data);
  for (const name of Object.keys(a.grads)) worst = Math.max(worst, maxDiff(a.grads[name].data, b.grads[name].data));
  return worst;
}

async function gradsOf(
  c: Case,
  input: FixtureTensor,
  extra: CreateModelOptions,
  precision: Precision = 'float32',
): Promise<LossAndGradsResult> {
  const model: Model = await createModel(c.name, {
    ...c.options,
    ...extra,
    pretrained: path.join(golden, `${c.stem}.weights.safetensors`),
  });
  try {
    return await model.lossAndGrads(input.data as Float32Array, { shape: input.shape, targets: c.targets, precision });
  } finally {
    model.dispose();
  }
}

describe.each(cases)('$stem', (c) => {
  const input = () => readFixtureSafetensors(path.join(golden, `${c.stem}.io.safetensors`)).get('input')!;

  test('gradient checkpointing gives the same gradients in float32', async () => {
    const plain = await gradsOf(c, input(), {});
    const checkpointed = await gradsOf(c, input(), { gradCheckpointing: true });
    expect(checkpointed.loss).toBe(plain.loss);
    expect(worstGradDiff(plain, checkpointed)).toBeLessThan(1e-6);
    expect(Object.keys(plain.grads)).toHaveLength(
      Object.keys(readFixtureJson<{ state_dict_keys: object }>(path.join(golden, `${c.stem}.json`)).state_dict_keys).length,
    );
  });

  test('gradient checkpointing recomputes under the forward autocast state (bf16)', async () => {
    const plain = await gradsOf(c, input(), {}, 'bfloat16');
    const checkpointed = await gradsOf(c, input(), { gradCheckpointing: true }, 'bfloat16');
    const fp32 = await gradsOf(c, input(), {});
    expect(worstGradDiff(plain, checkpointed)).toBeLessThan(1e-6);
    expect(worstGradDiff(plain, fp32)).toBeGreaterThan(1e-5); // bf16 really ran
  });
});

test('timm reference gradients of the EVA-02 base family', async () => {
  const c = cases[0];
  const io = readFixtureSafetensors(path.join(golden, `${c.stem}.io.safetensors`));
  const expected = readFixtureSafetensors(path.join(golden, `${c.stem}.grads.safetensors`));
  const got = await gradsOf(c, io.get('input')!, { gradCheckpointing: true });
  expect(Math.abs(got.loss - (expected.get('loss')!.data as Float32Array)[0])).toBeLessThan(1e-5);
  expect(
    maxDiff(got.grads['blocks.0.attn.k_proj.weight'].data, expected.get('grad.blocks.0.attn.k_proj.weight')!.data as Float32Array),
  ).toBeLessThan(1e-5);
  expect(maxDiff(got.gradInput.data, expected.get('grad_input')!.data as Float32Array)).toBeLessThan(1e-5);
});

test("ConvNeXt's depthwise convolutions: the CPU training backward gives ATen's gradients", async () => {
  const c = cases[2];
  const x = readFixtureSafetensors(path.join(golden, `${c.stem}.io.safetensors`)).get('input')!;
  const ours = await gradsOf(c, x, { channelsLast: true });
  useDepthwiseBackward(false);
  let aten: LossAndGradsResult;
  try {
    aten = await gradsOf(c, x, { channelsLast: true });
  } finally {
    useDepthwiseBackward(true);
  }
  expect(ours.loss).toBe(aten.loss);
  expect(worstGradDiff(ours, aten)).toBeLessThan(1e-5);
  // The conv_dw gradients are there, and not trivially equal.
  expect(maxDiff(ours.grads['stages.0.blocks.0.conv_dw.bias'].data, new Float32Array(16))).toBeGreaterThan(1e-3);
});

test('ConvNeXt gives the same outputs and gradients in channels-last', async () => {
  const c = cases[2];
  const x = readFixtureSafetensors(path.join(golden, `${c.stem}.io.safetensors`)).get('input')!;
  // The depthwise convolutions see channels-last memory either way (LayerNorm2d hands back NHWC memory) and take the
  // CPU training backward (test/native/depthwise_conv.test.ts checks it against float64); the stem and 1×1 convs differ.
  const plain = await gradsOf(c, x, { channelsLast: false });
  const channelsLast = await gradsOf(c, x, { channelsLast: true });
  expect(Math.abs(plain.loss - channelsLast.loss)).toBeLessThan(1e-6);
  expect(worstGradDiff(plain, channelsLast)).toBeLessThan(1e-5);
});
