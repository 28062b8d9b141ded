/**
 * Recipes: the named recipes' shapes, the fine-tuning block and its validation, old run folders' recipes, and the
 * keys --set and recipe files refuse.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { applyOverrides, kRecipes, recipeKeys, resolveRecipe, validateRecipe } from '../../../src/train/recipe';

test('demo-cpu fine-tunes ImageNet EfficientNet-Lite0; demo-cpu-scratch trains EVA-02 from scratch', () => {
  const demo = resolveRecipe('demo-cpu');
  expect(demo.model).toEqual({
    name: 'tf_efficientnet_lite0',
    pretrained: 'tf_efficientnet_lite0.in1k',
    imgSize: 128,
    numClasses: 2,
    overrides: {},
    gradCheckpointing: false,
  });
  expect({ epochs: demo.epochs, batchSize: demo.batchSize, lr: demo.optimizer.lr, min: demo.optimizer.warmdownMinLr }).toEqual({
    epochs: 5,
    batchSize: 32,
    lr: 1e-3,
    min: 5e-4,
  });
  expect(demo.finetune).toEqual({ headInit: 'reset', backboneLrScale: 1, freeze: [], freezeBatchNorm: false, headWarmupEpochs: 0 });
  const scratch = resolveRecipe('demo-cpu-scratch');
  expect(scratch.model).toMatchObject({ name: 'eva02_tiny_patch14_224', pretrained: null, imgSize: 64 });
  expect(scratch.epochs).toBe(27);
  // The pretraining path builds on the from-scratch model.
  expect(kRecipes['emoji-pretrain'].model.name).toBe('eva02_tiny_patch14_224');
  expect(kRecipes['demo-cpu-pretrained'].model.overrides).toEqual({ patchSize: 8, embedDim: 96, depth: 4, numHeads: 3 });
});

test('finetune keys are settable with --set, lists by commas', () => {
  expect(recipeKeys()).toEqual(
    expect.arrayContaining([
      'finetune.headInit',
      'finetune.backboneLrScale',
      'finetune.freeze',
      'finetune.freezeBatchNorm',
      'finetune.headWarmupEpochs',
    ]),
  );
  const r = resolveRecipe('demo-cpu', [
    'finetune.freeze=stem,blocks.0',
    'finetune.backboneLrScale=0.1',
    'finetune.headInit=model',
    'epochs=4',
    'finetune.headWarmupEpochs=1',
  ]);
  expect(r.finetune).toEqual({
    headInit: 'model',
    backboneLrScale: 0.1,
    freeze: ['stem', 'blocks.0'],
    freezeBatchNorm: false,
    headWarmupEpochs: 1,
  });
  expect(applyOverrides(r, ['finetune.freeze=']).finetune.freeze).toEqual([]);
});

test('model overrides take numbers, booleans and number lists (the family checks the keys)', () => {
  const r = resolveRecipe('demo-cpu', ['model.overrides.dropRate=0.2', 'model.overrides.dropPathRate=0.1']);
  expect(r.model.overrides).toEqual({ dropRate: 0.2, dropPathRate: 0.1 });
  expect(() => resolveRecipe('demo-cpu', ['model.overrides.dropRate=high'])).toThrow(
    'Expected a number, boolean or array of numbers for model.overrides.dropRate but received "high"',
  );
});

test.each([
  [['finetune.headInit=zero'], 'Expected one of reset, model for finetune.headInit but received "zero"'],
  [['finetune.backboneLrScale=-1'], 'Expected a number from 0 to 100 for finetune.backboneLrScale but received -1'],
  [['finetune.freezeBatchNorm=1'], 'Expected a boolean for finetune.freezeBatchNorm but received 1'],
  [['finetune.headWarmupEpochs=1.5'], 'finetune.headWarmupEpochs'],
  [['finetune.headWarmupEpochs=5'], 'Expected fewer than epochs (5) for finetune.headWarmupEpochs but received 5'],
  [['finetune.freeze=[1]'], 'Expected an array of parameter stage names for finetune.freeze but received an array of length 1'],
  [['finetune.lr=1'], 'Expected a recipe key (did you mean finetune.freeze?) for --set but received "finetune.lr"'],
])('refuses %p', (sets, message) => {
  expect(() => resolveRecipe('demo-cpu', sets)).toThrow(message);
});

test('a recipe.json written before fine-tuning options existed reads as one lr, nothing frozen', () => {
  const old = JSON.parse(JSON.stringify(kRecipes['demo-cpu-scratch'])) as Record<string, unknown>;
  delete old.finetune;
  expect(validateRecipe(old).finetune).toEqual({
    headInit: 'reset',
    backboneLrScale: 1,
    freeze: [],
    freezeBatchNorm: false,
    headWarmupEpochs: 0,
  });
  expect(() => validateRecipe({ ...old, finetune: { headInit: 'reset', freezeBatchNormStats: true } })).toThrow(
    'Expected a known key (did you mean freezeBatchNorm?) for finetune.freezeBatchNormStats but received "freezeBatchNormStats"',
  );
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
    expect(() => resolveRecipe(file)).toThrow(
      `${file}: refusing the key "model.overrides.__proto__" (no recipe key is named __proto__, constructor or prototype)`,
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

test('model.imgSize takes a side or [height, width]; recipe.json keeps the form it was given', () => {
  expect(resolveRecipe('demo-cpu', ['model.imgSize=[96,128]']).model.imgSize).toEqual([96, 128]);
  expect(resolveRecipe('demo-cpu', ['model.imgSize=112']).model.imgSize).toBe(112);
  expect(() => resolveRecipe('demo-cpu', ['model.imgSize=[96]'])).toThrow(
    'Expected an integer or [height, width] for model.imgSize but received an array of length 1',
  );
  expect(() => resolveRecipe('demo-cpu', ['model.imgSize=[96,4]'])).toThrow(
    'Expected an integer from 8 to 4096 for model.imgSize[1] but received 4',
  );
  expect(() => resolveRecipe('demo-cpu', ['model.imgSize=wide'])).toThrow(
    'Expected an integer or [height, width] for model.imgSize but received "wide"',
  );
});

test('amp takes torch dtype names, the one precision vocabulary; the older short names read as them', () => {
  expect(resolveRecipe('demo-cpu', ['amp=bfloat16']).amp).toBe('bfloat16');
  expect(resolveRecipe('demo-cpu', ['amp=fp32']).amp).toBe('float32');
  expect(resolveRecipe('demo-cpu', ['amp=fp16']).amp).toBe('float16');
  expect(resolveRecipe('seed-eva02', []).amp).toBe('auto');
  // The demo trains EfficientNet in float32: on a CPU its bf16 step is the slower one.
  expect(resolveRecipe('demo-cpu', []).amp).toBe('float32');
  expect(resolveRecipe('demo-cpu', ['amp=auto']).amp).toBe('auto');
  expect(() => resolveRecipe('demo-cpu', ['amp=fp8'])).toThrow(
    'Expected one of auto, float32, bfloat16, float16 for amp but received "fp8"',
  );
});

/** demo-cpu as a plain object with `key` (dotted) set to `value`, or removed when `value` is undefined. */
function demoWith(key: string, value: unknown): Record<string, unknown> {
  const recipe = JSON.parse(JSON.stringify(kRecipes['demo-cpu'])) as Record<string, unknown>;
  const parts = key.split('.');
  let at = recipe;
  for (const part of parts.slice(0, -1)) at = at[part] as Record<string, unknown>;
  if (value === undefined) delete at[parts[parts.length - 1]];
  else at[parts[parts.length - 1]] = value;
  return recipe;
}

// Every validation branch of validateRecipe, with the message a user reads.
test.each<[string, unknown, string]>([
  ['model', 'tiny', 'Expected an object for model but received "tiny"'],
  ['optimizer', [], 'Expected an object for optimizer but received an array of length 0'],
  ['augment', null, 'Expected an object for augment but received null'],
  ['finetune', 3, 'Expected an object for finetune but received 3'],
  ['model.overrides', 'none', 'Expected an object for model.overrides but received "none"'],
  ['optimizer.momentum', 0.9, 'Expected a known key (did you mean mode?) for optimizer.momentum but received "momentum"'],
  ['name', 'my recipe', 'Expected a name of letters, digits, ".", "_" or "-" for name but received "my recipe"'],
  ['model.name', 7, 'Expected a model name for model.name but received 7'],
  ['model.pretrained', 1, 'Expected a file path or null for model.pretrained but received 1'],
  ['model.imgSize', 4, 'Expected an integer from 8 to 4096 for model.imgSize but received 4'],
  ['model.numClasses', 1, 'Expected an integer from 2 to 100000 for model.numClasses but received 1'],
  ['model.gradCheckpointing', 'yes', 'Expected a boolean for model.gradCheckpointing but received "yes"'],
  ['finetune.freeze', 'stem', 'Expected an array of parameter stage names for finetune.freeze but received "stem"'],
  ['tta', 'hflip', 'Expected an array of hflip, vflip, rot90 for tta but received "hflip"'],
  ['tta', ['hflip', 'rot180'], 'Expected one of hflip, vflip, rot90 for tta[1] but received "rot180"'],
  ['device', 'gpu', 'Expected "cpu", "cuda" or "cuda:N" for device but received "gpu"'],
  ['folds', 1, 'Expected an integer from 2 to 100 for folds but received 1'],
  ['folds', '5', 'Expected a number for folds but received "5"'],
  ['optimizer.warmupIterations', -1, 'Expected an integer from 0 to 9007199254740991 for optimizer.warmupIterations but received -1'],
  ['foldSeed', 2 ** 32, 'Expected an integer from 0 to 4294967295 for foldSeed but received 4294967296'],
  ['foldGroups', 'colour', 'Expected one of none, style, emoji, family for foldGroups but received "colour"'],
  ['epochs', 0, 'Expected an integer from 1 to 100000 for epochs but received 0'],
  ['batchSize', 2.5, 'Expected an integer from 1 to 65536 for batchSize but received 2.5'],
  ['evalBatchSize', 0, 'Expected an integer from 1 to 65536 for evalBatchSize but received 0'],
  ['gradAccumulation', 2048, 'Expected an integer from 1 to 1024 for gradAccumulation but received 2048'],
  ['optimizer.name', 'adamw', 'Expected one of ranger21 for optimizer.name but received "adamw"'],
  ['optimizer.lr', 11, 'Expected a number from 0 to 10 for optimizer.lr but received 11'],
  ['optimizer.warmdownStartPct', 1.5, 'Expected a number from 0 to 1 for optimizer.warmdownStartPct but received 1.5'],
  ['optimizer.weightDecay', -0.1, 'Expected a number from 0 to 10 for optimizer.weightDecay but received -0.1'],
  ['optimizer.mode', 'paper', 'Expected one of corrected, legacy for optimizer.mode but received "paper"'],
  ['optimizer.warmdownMinLr', 0.01, 'Expected at most optimizer.lr (0.001) for optimizer.warmdownMinLr but received 0.01'],
  ['loss', 'focal', 'Expected one of cce, cce-2021, ce for loss but received "focal"'],
  ['labelSmoothing', 2, 'Expected a number from 0 to 1 for labelSmoothing but received 2'],
  ['amp', true, 'Expected one of auto, float32, bfloat16, float16 for amp but received true'],
  ['sampler', 'weighted', 'Expected one of imbalanced, shuffle for sampler but received "weighted"'],
  ['keepWeights', 'first', 'Expected one of best, last for keepWeights but received "first"'],
  ['augment.hflip', 2, 'Expected a number from 0 to 1 for augment.hflip but received 2'],
  ['augment.vflip', -1, 'Expected a number from 0 to 1 for augment.vflip but received -1'],
  ['augment.rotate90', 'half', 'Expected a number for augment.rotate90 but received "half"'],
  ['augment.grayscale', 1.1, 'Expected a number from 0 to 1 for augment.grayscale but received 1.1'],
  ['augment.hue', -0.5, 'Expected a number from 0 to 1 for augment.hue but received -0.5'],
  ['augment.outline', 3, 'Expected a number from 0 to 1 for augment.outline but received 3'],
  ['augment.fade', NaN, 'Expected a number for augment.fade but received NaN'],
  ['augment.affine', 5, 'Expected a number from 0 to 1 for augment.affine but received 5'],
  ['augment.scale', 0.5, 'Expected a number from 1 to 4 for augment.scale but received 0.5'],
  ['augment.shift', 0.75, 'Expected a number from 0 to 0.5 for augment.shift but received 0.75'],
  ['augment.rotate', 360, 'Expected a number from 0 to 180 for augment.rotate but received 360'],
  ['ttaMerge', 'median', 'Expected one of mean, gmean, max, sum for ttaMerge but received "median"'],
  ['ensemble', 'vote', 'Expected one of mean, rank for ensemble but received "vote"'],
  ['seed', -1, 'Expected an integer from 0 to 4294967295 for seed but received -1'],
  ['checkpointEvery', 0, 'Expected an integer from 1 to 9007199254740991 for checkpointEvery but received 0'],
  ['cacheImages', 1, 'Expected a boolean for cacheImages but received 1'],
  ['prefetch', 65, 'Expected an integer from 0 to 64 for prefetch but received 65'],
])('validateRecipe refuses %s = %p', (key, value, message) => {
  expect(() => validateRecipe(demoWith(key, value))).toThrow(message);
});

test('keys added after the first run folders read as their old behaviour when absent', () => {
  expect(validateRecipe(demoWith('keepWeights', undefined)).keepWeights).toBe('best');
  expect(validateRecipe(demoWith('augment.outline', undefined)).augment.outline).toBe(0);
  expect(validateRecipe(demoWith('augment.fade', undefined)).augment.fade).toBe(0);
});
