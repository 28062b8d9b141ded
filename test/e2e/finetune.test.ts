// Fine-tuning end to end on a tiny generated dataset: ImageNet EfficientNet-Lite0 with a head warm-up, a frozen
// stage, a lower backbone learning rate and frozen BatchNorm statistics, checked in the checkpoints' tensors.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readSafetensors } from '../../src/native/model';
import { crossValidate, weightsNote } from '../../src/train/crossValidate';
import { resolveRecipe } from '../../src/train/recipe';
import { TrainingInterrupted, trainFold } from '../../src/train/trainFold';
import { resolvePretrained } from '../../src/weights/fetchWeights';
import { makeTinyDataset } from './fixtures';

let data: string;
let work: string;
let weights: string | null = null;

beforeAll(async () => {
  data = await makeTinyDataset();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'foldtorch-finetune-'));
  try {
    weights = await resolvePretrained('tf_efficientnet_lite0.in1k');
  } catch (error) {
    console.warn(`skipping fine-tuning end-to-end tests: ${(error as Error).message}`);
  }
}, 120_000);

afterAll(() => {
  fs.rmSync(data, { recursive: true, force: true });
  fs.rmSync(work, { recursive: true, force: true });
});

const kTiny = [
  'name=tiny-finetune',
  'folds=2',
  'foldGroups=none',
  'batchSize=8',
  'evalBatchSize=16',
  'model.imgSize=32',
  'amp=fp32',
  'tta=hflip',
];

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

const maybe = (name: string, fn: () => Promise<void>) =>
  test(name, async () => {
    if (!weights) return console.warn(`skipped: ${name} (no pretrained weights; run: foldtorch weights fetch tf_efficientnet_lite0.in1k)`);
    await fn();
  }, 300_000);

maybe('head warm-up trains the classifier alone; then the frozen stage and BatchNorm statistics stay, the rest moves', async () => {
  const recipe = resolveRecipe('demo-cpu', [
    ...kTiny,
    'epochs=2',
    'finetune.headWarmupEpochs=1',
    'finetune.freeze=stem',
    'finetune.freezeBatchNorm=true',
    'finetune.backboneLrScale=0.1',
    'checkpointEvery=1000',
  ]);
  const run = path.join(work, 'warmup');
  const pretrained = (await readSafetensors(weights!)).tensors;
  let firstEpochDone = false;
  const options = {
    data,
    run,
    progress: (e: { type: string }) => {
      if (e.type === 'epoch-end') firstEpochDone = true;
    },
    shouldStop: () => firstEpochDone,
  };
  await expect(trainFold(0, recipe, options)).rejects.toThrow(TrainingInterrupted);
  const afterWarmup = (await readSafetensors(path.join(run, 'fold-0', 'last.safetensors'))).tensors;
  const moved = (name: string, from: Record<string, { data: Float32Array }>, to: Record<string, { data: Float32Array }>) =>
    maxDiff(from[name].data, to[`model.${name}`].data);
  expect(moved('conv_stem.weight', pretrained, afterWarmup)).toBe(0);
  expect(moved('blocks.3.1.conv_dw.weight', pretrained, afterWarmup)).toBe(0);
  expect(moved('conv_head.weight', pretrained, afterWarmup)).toBe(0);
  expect(moved('bn2.running_var', pretrained, afterWarmup)).toBe(0);
  expect(afterWarmup['model.classifier.weight'].shape).toEqual([2, 1280]);

  firstEpochDone = false;
  const result = await trainFold(0, recipe, { data, run, shouldStop: () => false });
  expect(result.epochs).toHaveLength(2);
  const final = (await readSafetensors(path.join(run, 'fold-0', 'last.safetensors'))).tensors;
  expect(moved('conv_stem.weight', pretrained, final)).toBe(0);
  expect(moved('bn1.weight', pretrained, final)).toBe(0);
  expect(moved('blocks.3.1.conv_dw.weight', pretrained, final)).toBeGreaterThan(0);
  expect(moved('bn2.running_mean', pretrained, final)).toBe(0);
  expect(maxDiff(afterWarmup['model.classifier.weight'].data, final['model.classifier.weight'].data)).toBeGreaterThan(0);
});

maybe('a fine-tuning run reports its weights, licence and head initialisation', async () => {
  const recipe = resolveRecipe('demo-cpu', [...kTiny, 'epochs=1']);
  expect(weightsNote(recipe)).toMatch(
    /^Weights: tf_efficientnet_lite0\.in1k \(tf_efficientnet_lite0, 1000 ImageNet classes\): weights by ML Illustrated, licence Apache-2\.0 .* The 2-class head is a fresh classifier as timm's reset_classifier makes it\.$/,
  );
  const run = path.join(work, 'report');
  await crossValidate(recipe, { data, run });
  const html = fs.readFileSync(path.join(run, 'report.html'), 'utf8');
  expect(html).toContain('tf_efficientnet_lite0.in1k');
  expect(html).toContain('Apache-2.0');
  expect(weightsNote(resolveRecipe('demo-cpu-scratch', []))).toBe(
    'Weights: eva02_tiny_patch14_224 trained from scratch (random initialisation).',
  );
});

test('fine-tuning options are checked against the model and the recipe', async () => {
  expect(() => resolveRecipe('demo-cpu', ['finetune.headInit=zero'])).toThrow(
    'Expected one of reset, model for finetune.headInit but received "zero"',
  );
  expect(() => resolveRecipe('demo-cpu', ['finetune.headWarmupEpochs=5'])).toThrow(
    'Expected fewer than epochs (5) for finetune.headWarmupEpochs but received 5',
  );
  expect(() => resolveRecipe('demo-cpu', ['finetune.backboneLrScal=0.1'])).toThrow('did you mean finetune.backboneLrScale?');
  if (!weights) return;
  const recipe = resolveRecipe('demo-cpu', [...kTiny, 'epochs=1', 'finetune.freeze=blocks.9']);
  await expect(trainFold(0, recipe, { data, run: path.join(work, 'bad-stage') })).rejects.toThrow(
    'Expected a parameter stage of tf_efficientnet_lite0 (stem, blocks.0, blocks.1, blocks.2, blocks.3, blocks.4, blocks.5, blocks.6, head, classifier) for finetune.freeze[0] but received "blocks.9"',
  );
}, 120_000);
