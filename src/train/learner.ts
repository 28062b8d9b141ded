/**
 * The Learner: a Model with its Ranger21 optimizer, loss, autocast and loss scaler on the model's device.
 * `trainStep` / `evalStep` run on the device's native compute thread; freezing by parameter-name pattern,
 * gradient accumulation and resumable checkpoints (model + optimizer + scaler + counters + RNG).
 */
import * as fs from 'node:fs';
import { disposedError, invalidData, invalidType, outOfRange, requireInteger, requireNumber } from '../errors';
import { loadAddon } from '../native/addon';
import { checkPrecision, describeInput, fitsInput, readSafetensorsHeader, type Model } from '../native/model';
import { checkBatchAugment, validateImageBatch } from '../native/runtime';
import { checkCheckpointDocument, type CheckpointDocument } from './checkpointSchema';
import { resolveLossOptions, resolveRanger21Options, validateLabels, type LossConfig, type Ranger21Config } from './optimizer';
import type {
  BatchAugment,
  HostTensor,
  LearnerCounters,
  LearnerNativeOptions,
  LearnerParameterInfo,
  NativeLearner,
  Precision,
  TrainStepResult,
} from '../native/types';

export interface TrainStepOptions {
  /** [batch, height, width, 3] of the uint8 NHWC pixels. */
  shape: readonly number[];
  /** The batch's style augmentations (planBatch() in src/data/colour.ts), applied natively before normalising. */
  augment?: BatchAugment;
  /** Also return this micro-batch's logits (for a running train AUC). */
  returnLogits?: boolean;
}

export interface GradScalerConfig {
  /** 65536 */
  initScale?: number;
  /** ×2 after `growthInterval` clean steps */
  growthFactor?: number;
  /** ×0.5 on inf/NaN */
  backoffFactor?: number;
  /** 2000 */
  growthInterval?: number;
}

export interface LearnerOptions {
  /** lr, numEpochs and numBatchesPerEpoch (in optimizer steps) are required; everything else has Ranger21's defaults. */
  optimizer: Ranger21Config;
  loss?: LossConfig;
  /** float32 (default); bfloat16 autocast on CPU or CUDA; float16 autocast + dynamic loss scaling on CUDA. */
  precision?: Precision;
  /** Micro-batches per optimizer step (default 1). */
  accumulationSteps?: number;
  /** Seeds the default generators when the Learner is made. */
  seed?: number;
  gradScaler?: GradScalerConfig;
  /** Own optimizer groups for matching parameter names (glob string or RegExp); the first match wins. */
  paramGroups?: { pattern: string | RegExp; lr?: number; weightDecay?: number }[];
  /** Per-channel normalisation of the uint8 images; default: the model's pretrained mean/std. */
  normalize?: { mean: number[]; std: number[] };
  /** Train data-parallel in the process group joined by joinProcessGroup (rank 0's weights are broadcast first). */
  dataParallel?: boolean;
}

/** The JSON document stored with every checkpoint. */
export interface CheckpointInfo {
  /** The .safetensors file (the JSON copy sits beside it). */
  path: string;
  step: number;
  document: CheckpointDocument;
}

/** A glob over parameter names (`*` any run of characters, `?` one) → an anchored regex source. */
export function globToRegExpSource(glob: string): string {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return `^${body}$`;
}

function patternSource(name: string, pattern: unknown): string {
  if (pattern instanceof RegExp) return pattern.source;
  if (typeof pattern !== 'string' || pattern.length === 0) throw invalidType(name, 'a glob string or RegExp', pattern);
  return globToRegExpSource(pattern);
}

/** `prefix` without a trailing .safetensors / .json. */
function checkpointPrefix(prefix: unknown): string {
  if (typeof prefix !== 'string' || prefix.length === 0) throw invalidType('path', 'a checkpoint path', prefix);
  return prefix.replace(/\.(safetensors|json)$/, '');
}

function resolveLearnerOptions(model: Model, options: LearnerOptions): LearnerNativeOptions {
  if (typeof options !== 'object' || options === null) throw invalidType('options', 'an object', options);
  const scaler = options.gradScaler ?? {};
  if (typeof scaler !== 'object' || scaler === null) throw invalidType('gradScaler', 'an object', scaler);
  const normalize = options.normalize ?? { mean: model.pretrainedConfig.mean, std: model.pretrainedConfig.std };
  for (const key of ['mean', 'std'] as const) {
    const values: unknown = normalize?.[key];
    if (!Array.isArray(values) || values.length !== 3 || values.some((v) => typeof v !== 'number' || !Number.isFinite(v))) {
      throw invalidType(`normalize.${key}`, 'an array of 3 finite numbers', values);
    }
    if (key === 'std' && values.some((v) => v <= 0)) throw outOfRange('normalize.std', 'positive numbers', values);
  }
  const groups = options.paramGroups ?? [];
  if (!Array.isArray(groups)) throw invalidType('paramGroups', 'an array', groups);
  if (options.dataParallel !== undefined && typeof options.dataParallel !== 'boolean')
    throw invalidType('dataParallel', 'a boolean', options.dataParallel);
  // A test hook (src/testing.ts), absent from the public LearnerOptions.
  const { forceGradScaler } = options as { forceGradScaler?: unknown };
  if (forceGradScaler !== undefined && typeof forceGradScaler !== 'boolean') {
    throw invalidType('forceGradScaler', 'a boolean', forceGradScaler);
  }
  const precision = checkPrecision(options.precision) ?? 'float32';
  if (precision === 'float16' && !model.device.startsWith('cuda')) {
    throw outOfRange('precision', 'float32 or bfloat16 on CPU (float16 autocast needs CUDA)', precision);
  }
  return {
    optimizer: resolveRanger21Options(options.optimizer),
    loss: resolveLossOptions(options.loss ?? {}),
    precision,
    accumulationSteps:
      options.accumulationSteps === undefined ? 1 : requireInteger('accumulationSteps', options.accumulationSteps, 1, 4096),
    ...(options.seed === undefined ? {} : { seed: requireInteger('seed', options.seed, 0) }),
    gradScaler: {
      initScale: requireNumber('gradScaler.initScale', scaler.initScale ?? 65536, Number.MIN_VALUE, 3.4e38),
      growthFactor: requireNumber('gradScaler.growthFactor', scaler.growthFactor ?? 2, 1.000001),
      backoffFactor: requireNumber('gradScaler.backoffFactor', scaler.backoffFactor ?? 0.5, Number.MIN_VALUE, 0.999999),
      growthInterval: requireInteger('gradScaler.growthInterval', scaler.growthInterval ?? 2000, 1),
    },
    forceGradScaler: forceGradScaler ?? false,
    ...(options.dataParallel ? { dataParallel: true } : {}),
    paramGroups: groups.map((g, i) => ({
      pattern: patternSource(`paramGroups[${i}].pattern`, g?.pattern),
      ...(g.lr === undefined ? {} : { lr: requireNumber(`paramGroups[${i}].lr`, g.lr, 0, 10) }),
      ...(g.weightDecay === undefined ? {} : { weightDecay: requireNumber(`paramGroups[${i}].weightDecay`, g.weightDecay, 0) }),
    })),
    mean: [...normalize.mean],
    std: [...normalize.std],
    channelsLast: model.native.info().channelsLast,
  };
}

/** Makes a Learner for `model` (which it trains in place). */
export async function createLearner(model: Model, options: LearnerOptions): Promise<Learner> {
  if (typeof model !== 'object' || model === null || typeof (model as Model).native !== 'object') {
    throw invalidType('model', 'a Model from createModel', model);
  }
  const native = await loadAddon().createLearner(model.native, resolveLearnerOptions(model, options));
  return new Learner(model, native);
}

/** Seeds the default CPU (and CUDA) generators: call before createModel for a reproducible initialisation. */
export function manualSeed(seed: number): void {
  loadAddon().manualSeed(requireInteger('seed', seed, 0));
}

export class Learner {
  private handle: NativeLearner | undefined;

  constructor(
    readonly model: Model,
    native: NativeLearner,
  ) {
    this.handle = native;
  }

  private get native(): NativeLearner {
    if (!this.handle || this.model.disposed) throw disposedError('Learner');
    return this.handle;
  }

  private checkImages(images: unknown, shape: unknown): number[] {
    const checked = validateImageBatch('images', images, shape);
    const [, height, width, channels] = checked;
    if (channels !== 3 || !fitsInput(this.model.input, height, width)) {
      throw outOfRange('images shape', `[batch, ${describeInput(this.model.input)}, 3]`, `[${checked.join(', ')}]`);
    }
    return checked;
  }

  /** One micro-batch: forward (autocast), loss, backward; every `accumulationSteps`-th call also steps the optimizer. */
  async trainStep(images: Uint8Array, labels: Int32Array | readonly number[], options: TrainStepOptions): Promise<TrainStepResult> {
    const shape = this.checkImages(images, options?.shape);
    const checked = validateLabels('labels', labels, shape[0], this.model.numClasses);
    const { returnLogits } = options;
    const augment = checkBatchAugment('augment', options.augment, shape[0]);
    if (returnLogits !== undefined && typeof returnLogits !== 'boolean') throw invalidType('returnLogits', 'a boolean', returnLogits);
    return this.native.trainStep(images, checked, { shape, ...(augment ? { augment } : {}), ...(returnLogits ? { returnLogits } : {}) });
  }

  /** Logits [batch, classes] as float32 (eval mode, no gradients, the training precision's autocast). */
  async evalStep(images: Uint8Array, options: { shape: readonly number[] }): Promise<HostTensor> {
    return this.native.evalStep(images, { shape: this.checkImages(images, options?.shape) });
  }

  /** Stops training the parameters whose name matches (glob such as `blocks.*` or a RegExp); the count. */
  async freeze(pattern: string | RegExp): Promise<number> {
    return this.native.setTrainable(patternSource('pattern', pattern), false);
  }

  async unfreeze(pattern: string | RegExp): Promise<number> {
    return this.native.setTrainable(patternSource('pattern', pattern), true);
  }

  async parameterInfo(): Promise<LearnerParameterInfo[]> {
    return this.native.parameterInfo();
  }

  async counters(): Promise<LearnerCounters> {
    return this.native.counters();
  }

  /**
   * Writes `<prefix>.safetensors` (atomically) and its readable copy `<prefix>.json`. Refused mid-accumulation
   * and when a parameter is NaN/inf, leaving the previous checkpoint as it was. `user` is stored as JSON.
   */
  async save(prefix: string, user: unknown = null): Promise<CheckpointInfo> {
    const path = checkpointPrefix(prefix);
    const userJson = JSON.stringify(user ?? null);
    if (userJson === undefined) throw invalidType('user', 'a JSON-serialisable value', user);
    const info = await this.native.save(path, userJson);
    return { path: info.path, step: info.step, document: checkCheckpointDocument(JSON.parse(info.document), info.path) };
  }

  /** Restores everything `save` wrote; checks it all first, so a mismatching or torn file changes nothing. */
  async load(prefix: string): Promise<CheckpointInfo> {
    const path = checkpointPrefix(prefix);
    const info = await this.native.load(path);
    return { path: info.path, step: info.step, document: checkCheckpointDocument(JSON.parse(info.document), info.path) };
  }

  get disposed(): boolean {
    return this.handle === undefined || this.model.disposed;
  }

  dispose(): void {
    this.handle?.dispose();
    this.handle = undefined;
  }
}

function parseJson(file: string, what: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw invalidData(file, `Expected JSON in the ${what} but it does not parse (${(error as Error).message})`);
  }
}

/** A checkpoint's document, read from the .safetensors header alone (no tensors are loaded). */
export function readCheckpointInfo(prefix: string): CheckpointInfo {
  const path = `${checkpointPrefix(prefix)}.safetensors`;
  if (!fs.existsSync(path)) throw outOfRange('path', 'an existing checkpoint', path);
  const text = readSafetensorsHeader(path).metadata['foldtorch.checkpoint'];
  if (typeof text !== 'string') throw invalidData(path, 'not a foldtorch training checkpoint (no foldtorch.checkpoint metadata)');
  const document = checkCheckpointDocument(parseJson(path, 'foldtorch.checkpoint metadata', text), path);
  return { path, step: document.counters.step, document };
}

/** For src/testing.ts only: the next backward's first gradient becomes inf. */
export function injectNonFiniteGradientInto(learner: Learner): void {
  // biome-ignore lint/complexity/useLiteralKeys: the element access reaches the private handle, for this hook only
  learner['native'].injectNonFiniteGradient();
}
