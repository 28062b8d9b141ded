/**
 * Recipes: the named recipes' shapes, the fine-tuning block and its validation, old run folders' recipes, and the
 * keys --set and recipe files refuse.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { applyOverrides, kRecipes, recipeKeys, resolveRecipe, validateRecipe } from '../../../src/train/recipe';

test('demo-cpu fine-tunes ImageNet EfficientNet-Lite0; demo-cpu-scratch trains EVA-02 from scratch', () => {
  const demo = resolveRecipe('demo-cpu');
  expect(demo.model).toEqual({ name: 'tf_efficientnet_lite0', pretrained: 'tf_efficientnet_lite0.in1k', imgSize: 128, numClasses: 2, overrides: {}, gradCheckpointing: false });
  expect({ epochs: demo.epochs, batchSize: demo.batchSize, lr: demo.optimizer.lr, min: demo.optimizer.warmdownMinLr }).toEqual({ epochs: 3, batchSize: 32, lr: 1e-3, min: 5e-4 });
  expect(demo.finetune).toEqual({ headInit: 'reset', backboneLrScale: 1, freeze: [], freezeBatchNorm: false, headWarmupEpochs: 0 });
  const scratch = resolveRecipe('demo-cpu-scratch');
  expect(scratch.model).toMatchObject({ name: 'eva02_tiny_patch14_224', pretrained: null, imgSize: 64 });
  expect(scratch.epochs).toBe(27);
  // The pretraining path builds on the from-scratch model.
  expect(kRecipes['emoji-pretrain'].model.name).toBe('eva02_tiny_patch14_224');
  expect(kRecipes['demo-cpu-pretrained'].model.overrides).toEqual({ patchSize: 8, embedDim: 96, depth: 4, numHeads: 3 });
});

test('finetune keys are settable with --set, lists by commas', () => {
  expect(recipeKeys()).toEqual(expect.arrayContaining(['finetune.headInit', 'finetune.backboneLrScale', 'finetune.freeze', 'finetune.freezeBatchNorm', 'finetune.headWarmupEpochs']));
  const r = resolveRecipe('demo-cpu', ['finetune.freeze=stem,blocks.0', 'finetune.backboneLrScale=0.1', 'finetune.headInit=model', 'epochs=4', 'finetune.headWarmupEpochs=1']);
  expect(r.finetune).toEqual({ headInit: 'model', backboneLrScale: 0.1, freeze: ['stem', 'blocks.0'], freezeBatchNorm: false, headWarmupEpochs: 1 });
  expect(applyOverrides(r, ['finetune.freeze=']).finetune.freeze).toEqual([]);
});

test('model overrides take numbers, booleans and number lists (the family checks the keys)', () => {
  const r = resolveRecipe('demo-cpu', ['model.overrides.dropRate=0.2', 'model.overrides.dropPathRate=0.1']);
  expect(r.model.overrides).toEqual({ dropRate: 0.2, dropPathRate: 0.1 });
  expect(() => resolveRecipe('demo-cpu', ['model.overrides.dropRate=high'])).toThrow('Expected a number, boolean or array of numbers for model.overrides.dropRate but received "high"');
});

test.each([
  [['finetune.headInit=zero'], 'Expected one of reset, model for finetune.headInit but received "zero"'],
  [['finetune.backboneLrScale=-1'], 'Expected a number from 0 to 100 for finetune.backboneLrScale but received -1'],
  [['finetune.freezeBatchNorm=1'], 'Expected a boolean for finetune.freezeBatchNorm but received 1'],
  [['finetune.headWarmupEpochs=1.5'], 'finetune.headWarmupEpochs'],
  [['finetune.headWarmupEpochs=3'], 'Expected fewer than epochs (3) for finetune.headWarmupEpochs but received 3'],
  [['finetune.freeze=[1]'], 'Expected an array of parameter stage names for finetune.freeze but received an array of length 1'],
  [['finetune.lr=1'], 'Expected a recipe key (did you mean finetune.freeze?) for --set but received "finetune.lr"'],
])('refuses %p', (sets, message) => {
  expect(() => resolveRecipe('demo-cpu', sets)).toThrow(message);
});

test('a recipe.json written before fine-tuning options existed reads as one lr, nothing frozen', () => {
  const old = JSON.parse(JSON.stringify(kRecipes['demo-cpu-scratch'])) as Record<string, unknown>;
  delete old.finetune;
  expect(validateRecipe(old).finetune).toEqual({ headInit: 'reset', backboneLrScale: 1, freeze: [], freezeBatchNorm: false, headWarmupEpochs: 0 });
  expect(() => validateRecipe({ ...old, finetune: { headInit: 'reset', freezeBatchNormStats: true } })).toThrow('Expected a known key (did you mean freezeBatchNorm?) for finetune.freezeBatchNormStats but received "freezeBatchNormStats"');
});

describe('--set refuses keys that reach Object.prototype', () => {
  afterEach(() => {
    // Clean up whatever a regression would have planted, so one failure does not cascade.
    for (const key of ['polluted', 'isAdmin']) delete (Object.prototype as Record<string, unknown>)[key];
  });

  test.each([
    'model.overrides.__proto__.polluted=1',
    'model.overrides.constructor.prototype.isAdmin=true',
    '__proto__.polluted=1',
    'constructor.prototype.isAdmin=true',
    'model.__proto__=1',
  ])('%s', (assignment) => {
    const key = assignment.slice(0, assignment.indexOf('='));
    expect(() => resolveRecipe('demo-cpu', [assignment])).toThrow(
      `Expected a recipe key with no part named __proto__, constructor or prototype for --set but received ${JSON.stringify(key)}`,
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
  });

  test('an architecture override is one key deep', () => {
    expect(() => resolveRecipe('demo-cpu', ['model.overrides.depth.x=1'])).toThrow(
      'Expected model.overrides.NAME (one architecture key, e.g. model.overrides.depth) for --set but received "model.overrides.depth.x"',
    );
    expect(resolveRecipe('demo-cpu', ['model.overrides.depth=3']).model.overrides).toEqual({ depth: 3 });
  });

  test('applyOverrides on a recipe object refuses them too', () => {
    const recipe = resolveRecipe('demo-cpu');
    expect(() => applyOverrides(recipe, ['model.overrides.__proto__.polluted=1'])).toThrow('for --set');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('recipe files', () => {
  test('a "__proto__" key is refused naming the file and the key', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'foldtorch-recipe-')), 'r.json');
    fs.writeFileSync(file, '{"extends": "demo-cpu", "model": {"overrides": {"__proto__": {"polluted": 1}}}}');
    expect(() => resolveRecipe(file)).toThrow(`${file}: refusing the key "model.overrides.__proto__" (no recipe key is named __proto__, constructor or prototype)`);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

test('model.imgSize takes a side or [height, width]; recipe.json keeps the form it was given', () => {
  expect(resolveRecipe('demo-cpu', ['model.imgSize=[96,128]']).model.imgSize).toEqual([96, 128]);
  expect(resolveRecipe('demo-cpu', ['model.imgSize=112']).model.imgSize).toBe(112);
  expect(() => resolveRecipe('demo-cpu', ['model.imgSize=[96]'])).toThrow('Expected an integer or [height, width] for model.imgSize but received an array of length 1');
  expect(() => resolveRecipe('demo-cpu', ['model.imgSize=[96,4]'])).toThrow('Expected an integer from 8 to 4096 for model.imgSize[1] but received 4');
  expect(() => resolveRecipe('demo-cpu', ['model.imgSize=wide'])).toThrow('Expected an integer or [height, width] for model.imgSize but received "wide"');
});

test('amp takes torch dtype names, the one precision vocabulary; the older short names read as them', () => {
  expect(resolveRecipe('demo-cpu', ['amp=bfloat16']).amp).toBe('bfloat16');
  expect(resolveRecipe('demo-cpu', ['amp=fp32']).amp).toBe('float32');
  expect(resolveRecipe('demo-cpu', ['amp=fp16']).amp).toBe('float16');
  expect(resolveRecipe('demo-cpu', []).amp).toBe('auto');
  expect(() => resolveRecipe('demo-cpu', ['amp=fp8'])).toThrow('Expected one of auto, float32, bfloat16, float16 for amp but received "fp8"');
});
