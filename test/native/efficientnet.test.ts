/**
 * The EfficientNet-Lite family through the Model API: input rules, parameter stages, heads, BatchNorm semantics
 * (train vs eval, frozen statistics, saved and reloaded with the weights), dropout, and its refusals.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createModel, listModels, readSafetensors } from '../../src/native/model';
import { readFixtureSafetensors } from '../../src/parity/fixture';

const golden = process.env.FOLDTORCH_GOLDEN ?? path.resolve(__dirname, '..', '..', '..', 'shared', 'golden');
const weights = path.join(golden, 'efficientnet_lite0_random.weights.safetensors');
const io = path.join(golden, 'efficientnet_lite0_random.io.safetensors');

let dir: string;
beforeAll(() => {
  if (!existsSync(weights)) throw new Error(`golden fixtures not found at ${golden} (set FOLDTORCH_GOLDEN)`);
  dir = mkdtempSync(path.join(tmpdir(), 'foldtorch-effnet-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true }); // unset when the fixtures are missing
});

function maxAbs(a: ArrayLike<number>, b?: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - (b ? b[i] : 0)));
  return worst;
}

/** The fixture's first input (2 × 3 × 64 × 64, normalised). */
function input(): { data: Float32Array; shape: number[] } {
  const t = readFixtureSafetensors(io).get('in0.input')!;
  return { data: t.data as Float32Array, shape: t.shape };
}

test('registers lite0…lite4 with their pretrained tags (mean = std = 0.5; lite3/4 bilinear)', () => {
  const entries = listModels().filter((m) => m.family === 'efficientnet');
  expect(entries.map((e) => `${e.name} ${e.tags[0].imgSize} ${e.tags[0].interpolation}`)).toEqual([
    'tf_efficientnet_lite0 224 bicubic',
    'tf_efficientnet_lite1 240 bicubic',
    'tf_efficientnet_lite2 260 bicubic',
    'tf_efficientnet_lite3 300 bilinear',
    'tf_efficientnet_lite4 380 bilinear',
  ]);
  expect(entries[0].tags[0]).toMatchObject({
    tag: 'tf_efficientnet_lite0.in1k',
    mean: [0.5, 0.5, 0.5],
    std: [0.5, 0.5, 0.5],
    cropPct: 0.875,
  });
});

test('lite4 scales channels and depths as timm (stem 32 and head 1280 fixed)', async () => {
  const model = await createModel('tf_efficientnet_lite4', { numClasses: 0 });
  const shapes = Object.fromEntries((await model.parameters()).map((p) => [p.name, p.shape]));
  expect(shapes['conv_stem.weight']).toEqual([32, 3, 3, 3]);
  expect(shapes['blocks.0.0.conv_pw.weight']).toEqual([24, 32, 1, 1]);
  expect(shapes['blocks.6.0.conv_pwl.weight']).toEqual([448, 1632, 1, 1]);
  expect(shapes['conv_head.weight']).toEqual([1280, 448, 1, 1]);
  const depths = [0, 1, 2, 3, 4, 5, 6].map(
    (s) =>
      new Set(
        Object.keys(shapes)
          .filter((k) => k.startsWith(`blocks.${s}.`))
          .map((k) => k.split('.')[2]),
      ).size,
  );
  expect(depths).toEqual([1, 4, 4, 6, 6, 8, 1]);
  expect(shapes['classifier.weight']).toBeUndefined();
  model.dispose();
});

test('takes any input size (TF SAME padding) and states it, preferring channels-last', async () => {
  const model = await createModel('tf_efficientnet_lite0', { numClasses: 2, imgSize: [57, 71], pretrained: weights, channelsLast: 'auto' });
  expect(model.imgSize).toEqual([57, 71]);
  expect(model.input).toEqual({ size: [57, 71], fixedSize: false, minSize: 1, sizeMultiple: 1, channelsLast: true });
  expect(model.native.info().channelsLast).toBe(true);
  expect(model.parameterStages.map((s) => s.name)).toEqual([
    'stem',
    'blocks.0',
    'blocks.1',
    'blocks.2',
    'blocks.3',
    'blocks.4',
    'blocks.5',
    'blocks.6',
    'head',
    'classifier',
  ]);
  const t = readFixtureSafetensors(io);
  const out = await model.forwardFloat(t.get('in1.input')!.data as Float32Array, { shape: t.get('in1.input')!.shape });
  expect(maxAbs(out.logits.data, t.get('in1.logits')!.data as Float32Array)).toBeLessThan(2e-4);
  model.dispose();
});

test('BatchNorm: eval uses the running statistics; a train-mode pass uses the batch and updates them; frozen keeps them', async () => {
  const x = input();
  const model = await createModel('tf_efficientnet_lite0', { numClasses: 2, pretrained: weights });
  const before = await model.getTensors(['bn2.running_var', 'bn2.num_batches_tracked']);
  expect(Array.from(before['bn2.num_batches_tracked'].data)).toEqual([0]);
  const evalLogits = (await model.forwardFloat(x.data, { shape: x.shape })).logits;
  const train = await model.lossAndGrads(x.data, { shape: x.shape, targets: [0, 1], train: true });
  expect(maxAbs(train.logits.data, evalLogits.data)).toBeGreaterThan(0.1);
  const after = await model.getTensors(['bn2.running_var', 'bn2.num_batches_tracked']);
  expect(Array.from(after['bn2.num_batches_tracked'].data)).toEqual([1]);
  expect(maxAbs(after['bn2.running_var'].data, before['bn2.running_var'].data)).toBeGreaterThan(1e-3);
  // Eval again: the moved statistics change the output; the call restored eval mode.
  const evalAgain = (await model.forwardFloat(x.data, { shape: x.shape })).logits;
  expect(maxAbs(evalAgain.data, evalLogits.data)).toBeGreaterThan(1e-4);

  // The running statistics travel with the weights, num_batches_tracked as I64.
  const file = path.join(dir, 'after-train.safetensors');
  await model.saveWeights(file);
  const saved = await readSafetensors(file);
  expect(saved.tensors['bn2.num_batches_tracked']).toMatchObject({ dtype: 'I64', shape: [] });
  expect(maxAbs(saved.tensors['bn2.running_var'].data, after['bn2.running_var'].data)).toBe(0);
  const reloaded = await createModel('tf_efficientnet_lite0', { numClasses: 2, pretrained: file });
  expect(maxAbs((await reloaded.forwardFloat(x.data, { shape: x.shape })).logits.data, evalAgain.data)).toBe(0);
  model.dispose();
  reloaded.dispose();

  const frozen = await createModel('tf_efficientnet_lite0', { numClasses: 2, pretrained: weights, freezeBatchNorm: true });
  const frozenTrain = await frozen.lossAndGrads(x.data, { shape: x.shape, targets: [0, 1], train: true });
  expect(maxAbs(frozenTrain.logits.data, evalLogits.data)).toBeLessThan(1e-5);
  const untouched = await frozen.getTensors(['bn2.running_var', 'bn2.num_batches_tracked']);
  expect(Array.from(untouched['bn2.num_batches_tracked'].data)).toEqual([0]);
  expect(maxAbs(untouched['bn2.running_var'].data, before['bn2.running_var'].data)).toBe(0);
  frozen.dispose();
});

/** One train-mode step of the fixture input: loss, logits and gradients, and every BatchNorm's running statistics. */
async function trainStep(channelsLast: boolean, precision: 'float32' | 'bfloat16' = 'float32') {
  const x = input();
  const model = await createModel('tf_efficientnet_lite0', { numClasses: 2, pretrained: weights, channelsLast });
  const result = await model.lossAndGrads(x.data, { shape: x.shape, targets: [0, 1], train: true, precision });
  const names = (await model.parameters()).map((p) => p.name);
  const stats = await model.getTensors(
    names
      .filter((n) => /(^|\.)bn\d\.weight$/.test(n))
      .flatMap((n) => [n.replace(/weight$/, 'running_mean'), n.replace(/weight$/, 'running_var')]),
  );
  model.dispose();
  return { result, stats };
}

test('a channels-last train step (the fused CPU BatchNorm + ReLU6) matches the NCHW one (ATen batch_norm → hardtanh_)', async () => {
  const nchw = await trainStep(false);
  const fused = await trainStep(true);
  // Forward: fp32 noise through 49 BatchNorms, to the golden train-step tolerances.
  expect(Math.abs(fused.result.loss - nchw.result.loss)).toBeLessThan(1e-4);
  expect(maxAbs(fused.result.logits.data, nchw.result.logits.data)).toBeLessThan(2e-4);
  // Running statistics: momentum 0.1 and the unbiased batch variance, as ATen (values up to ~260).
  expect(Object.keys(fused.stats)).toHaveLength(98);
  for (const [name, t] of Object.entries(nchw.stats))
    expect(maxAbs(fused.stats[name].data, t.data)).toBeLessThan(1e-5 * Math.max(1, maxAbs(t.data)));
  // Gradients: the head's (nearest the loss) to 1e-4 of their largest; all to the golden tolerance, 3e-3 of the
  // largest gradient, as a pre-activation within ~1e-6 of 0 or 6 may take the other side of ReLU6's kink.
  const grads = (r: typeof fused.result, name: string) => r.grads[name].data;
  for (const name of ['classifier.weight', 'bn2.weight', 'bn2.bias', 'conv_head.weight']) {
    expect(maxAbs(grads(fused.result, name), grads(nchw.result, name))).toBeLessThan(1e-4 * maxAbs(grads(nchw.result, name)));
  }
  const largest = Math.max(...Object.values(nchw.result.grads).map((t) => maxAbs(t.data)));
  for (const name of Object.keys(nchw.result.grads))
    expect(maxAbs(grads(fused.result, name), grads(nchw.result, name))).toBeLessThan(3e-3 * largest);
  expect(maxAbs(fused.result.gradInput.data, nchw.result.gradInput.data)).toBeLessThan(3e-3 * maxAbs(nchw.result.gradInput.data));
});

test('dropRate drops pre-logits in training only', async () => {
  const x = input();
  const plain = await createModel('tf_efficientnet_lite0', { numClasses: 2, pretrained: weights, freezeBatchNorm: true });
  const dropped = await createModel('tf_efficientnet_lite0', {
    numClasses: 2,
    pretrained: weights,
    freezeBatchNorm: true,
    arch: { dropRate: 0.5 },
  });
  const evalPlain = (await plain.forwardFloat(x.data, { shape: x.shape })).logits;
  expect(maxAbs((await dropped.forwardFloat(x.data, { shape: x.shape })).logits.data, evalPlain.data)).toBe(0);
  const trainDropped = await dropped.lossAndGrads(x.data, { shape: x.shape, targets: [0, 1], train: true });
  expect(maxAbs(trainDropped.logits.data, evalPlain.data)).toBeGreaterThan(1e-3);
  plain.dispose();
  dropped.dispose();
});

test('the classifier: the family init (U(±1/√classes)) or a fresh one as reset_classifier makes it (U(±1/√1280))', async () => {
  const own = await createModel('tf_efficientnet_lite0', { numClasses: 2 });
  const ownHead = (await own.getTensors(['classifier.weight']))['classifier.weight'].data;
  expect(maxAbs(ownHead)).toBeGreaterThan(0.3);
  expect(maxAbs(ownHead)).toBeLessThanOrEqual(1 / Math.sqrt(2));
  const fresh = await createModel('tf_efficientnet_lite0', { numClasses: 2, resetClassifier: true });
  const freshHead = await fresh.getTensors(['classifier.weight', 'classifier.bias']);
  expect(maxAbs(freshHead['classifier.weight'].data)).toBeLessThanOrEqual(1 / Math.sqrt(1280));
  expect(maxAbs(freshHead['classifier.weight'].data)).toBeGreaterThan(0.02);
  expect(maxAbs(freshHead['classifier.bias'].data)).toBeGreaterThan(0);
  own.dispose();
  fresh.dispose();
});

test.each([
  [{ arch: { dropRate: 1.5 } }, 'efficientnet: drop_rate and drop_path_rate must be in [0, 1) (got 1.5, 0)'],
  [{ arch: { dropRate: -0.1 } }, 'Expected a non-negative number for arch.dropRate but received -0.1'],
  [
    { arch: { embedDim: 8 } },
    'Expected only the keys channelMultiplier, depthMultiplier, dropRate, dropPathRate (efficientnet) for arch but received "embedDim"',
  ],
  [
    { gradCheckpointing: true },
    'efficientnet: gradient checkpointing is not supported (recomputing a block would update its BatchNorm running statistics twice)',
  ],
])('refuses %p', async (options, message) => {
  await expect(createModel('tf_efficientnet_lite0', options as never)).rejects.toThrow(message);
});
