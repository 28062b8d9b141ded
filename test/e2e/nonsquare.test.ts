// A non-square model input end to end: a [24, 40] EfficientNet trains a fold with the seed's flips and quarter
// turns and predicts with rot90 TTA (transposed views); a fixed-size EVA-02 at [32, 48] with rot90 TTA is refused
// before the run folder gets anything.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readSafetensors } from '../../src/native/model';
import { crossValidate } from '../../src/train/crossValidate';
import { resolveRecipe } from '../../src/train/recipe';
import { trainFold } from '../../src/train/trainFold';
import { makeTinyDataset } from './fixtures';

let data: string;
let work: string;
beforeAll(async () => {
  data = await makeTinyDataset();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'foldtorch-nonsquare-'));
}, 120_000);
afterAll(() => {
  fs.rmSync(data, { recursive: true, force: true });
  fs.rmSync(work, { recursive: true, force: true });
});

const kTiny = ['folds=2', 'foldGroups=none', 'batchSize=8', 'evalBatchSize=16', 'amp=fp32', 'epochs=1'];

test('EfficientNet at [24, 40] trains a fold with quarter-turn augmentation and predicts with rot90 TTA', async () => {
  const recipe = resolveRecipe('demo-cpu', [...kTiny, 'name=wide', 'model.pretrained=null', 'model.imgSize=[24,40]', 'tta=hflip,rot90']);
  expect(recipe.model.imgSize).toEqual([24, 40]);
  expect(recipe.augment.rotate90).toBeGreaterThan(0);
  const run = path.join(work, 'wide');
  const result = await trainFold(0, recipe, { data, run });
  expect(result.epochs).toHaveLength(1);
  expect(Number.isFinite(result.epochs[0].trainLoss)).toBe(true);
  const saved = JSON.parse(fs.readFileSync(path.join(run, 'recipe.json'), 'utf8'));
  expect(saved.model.imgSize).toEqual([24, 40]);
  expect(result.oof.probabilities.length).toBeGreaterThan(0);
  expect(result.oof.probabilities.length).toBe(result.oof.labels.length);
  for (const p of result.oof.probabilities) expect(p >= 0 && p <= 1).toBe(true);
  expect(result.ttaNote).toBe('TTA: 8 views, all distinct.');
  const weights = await readSafetensors(path.join(run, 'fold-0', 'last.safetensors'));
  expect(weights.tensors['model.classifier.weight'].shape).toEqual([2, 1280]);
}, 300_000);

test('a fixed-size EVA-02 at [32, 48] with rot90 TTA is refused before the run folder is written', async () => {
  const recipe = resolveRecipe('demo-cpu-scratch', [
    ...kTiny,
    'name=eva-wide',
    'model.imgSize=[32,48]',
    'model.overrides.patchSize=8',
    'tta=hflip,rot90',
  ]);
  const run = path.join(work, 'eva-wide');
  await expect(crossValidate(recipe, { data, run })).rejects.toThrow(
    'Expected views without quarter turns for eva02_tiny_patch14_224 at imgSize [32, 48]: a quarter turn makes the input [48, 32]',
  );
  expect(fs.existsSync(path.join(run, 'recipe.json'))).toBe(false);
}, 120_000);
