/**
 * Ranger21 and loss options: validation, the reference's defaults, and the standalone native calls (a Ranger21
 * run over given tensors, its lr schedule, the losses with their gradient) that parity and tests use.
 */
import { invalidType, outOfRange, requireChoice, requireInteger, requireNumber } from '../errors';
import { loadAddon } from '../native/addon';
import type {
  CceVariantName,
  ClassificationLossResult,
  LossKindName,
  LossNativeOptions,
  Ranger21Mode,
  Ranger21NativeOptions,
  Ranger21ScheduleResult,
  Ranger21TraceOptions,
  Ranger21TraceResult,
} from '../native/types';

export const ranger21Modes = ['legacy', 'corrected'] as const satisfies readonly Ranger21Mode[];
export const lossKinds = ['cce', 'ce'] as const satisfies readonly LossKindName[];
export const cceVariants = ['head', 'v2021'] as const satisfies readonly CceVariantName[];

/** Ranger21's constructor defaults (lessw2020/Ranger21 @1a967772); the mode defaults to `corrected`. */
export const ranger21Defaults = {
  weightDecay: 1e-4,
  eps: 1e-8,
  betas: [0.9, 0.999] as [number, number],
  useWarmup: true,
  warmupPctDefault: 0.22,
  warmdownActive: true,
  warmdownStartPct: 0.72,
  warmdownMinLr: 3e-5,
  lookaheadActive: true,
  lookaheadMergeTime: 5,
  lookaheadBlendingAlpha: 0.5,
  softplus: true,
  betaSoftplus: 50,
  usingGc: true,
  usingNormGc: true,
  gcConvOnly: false,
  normlossActive: true,
  normlossFactor: 1e-4,
  useAdaptiveGradientClipping: true,
  agcClippingValue: 1e-2,
  agcEps: 1e-3,
  mode: 'corrected' as Ranger21Mode,
  foreach: true,
};

/** lr and the run length are required (the schedule is laid out over numEpochs × numBatchesPerEpoch optimizer steps). */
export type Ranger21Config = Ranger21NativeOptions;

const kBooleanKeys = [
  'useWarmup',
  'warmdownActive',
  'lookaheadActive',
  'softplus',
  'usingGc',
  'usingNormGc',
  'gcConvOnly',
  'normlossActive',
  'useAdaptiveGradientClipping',
  'foreach',
] as const;
const kNonNegativeKeys = ['weightDecay', 'eps', 'warmdownMinLr', 'normlossFactor', 'agcClippingValue', 'agcEps'] as const;
const kFractionKeys = ['warmupPctDefault', 'warmdownStartPct', 'lookaheadBlendingAlpha'] as const;
const kKnownKeys = new Set<string>([
  'lr',
  'numEpochs',
  'numBatchesPerEpoch',
  'betas',
  'numWarmupIterations',
  'betaSoftplus',
  'lookaheadMergeTime',
  'mode',
  ...kBooleanKeys,
  ...kNonNegativeKeys,
  ...kFractionKeys,
]);

/** Validates a Ranger21 config and returns it with every default filled in, keyed as the native parser reads it. */
export function resolveRanger21Options(
  config: unknown,
  name = 'optimizer',
): Required<Omit<Ranger21NativeOptions, 'numWarmupIterations'>> & Pick<Ranger21NativeOptions, 'numWarmupIterations'> {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) throw invalidType(name, 'an options object', config);
  const c = config as Record<string, unknown>;
  for (const key of Object.keys(c)) {
    if (!kKnownKeys.has(key)) throw outOfRange(`${name} key`, `one of ${[...kKnownKeys].join(', ')}`, key);
  }
  const out = { ...ranger21Defaults } as ReturnType<typeof resolveRanger21Options>;
  out.lr = requireNumber(`${name}.lr`, c.lr, 0, 10);
  out.numEpochs = requireInteger(`${name}.numEpochs`, c.numEpochs, 1);
  out.numBatchesPerEpoch = requireInteger(`${name}.numBatchesPerEpoch`, c.numBatchesPerEpoch, 1);
  for (const key of kBooleanKeys) {
    if (c[key] === undefined) continue;
    if (typeof c[key] !== 'boolean') throw invalidType(`${name}.${key}`, 'a boolean', c[key]);
    out[key] = c[key] as boolean;
  }
  for (const key of kNonNegativeKeys) if (c[key] !== undefined) out[key] = requireNumber(`${name}.${key}`, c[key], 0);
  for (const key of kFractionKeys) if (c[key] !== undefined) out[key] = requireNumber(`${name}.${key}`, c[key], 0, 1);
  if (c.betas !== undefined) {
    if (!Array.isArray(c.betas) || c.betas.length !== 2) throw invalidType(`${name}.betas`, 'an array [beta1, beta2]', c.betas);
    out.betas = [requireNumber(`${name}.betas[0]`, c.betas[0], 0, 0.999999), requireNumber(`${name}.betas[1]`, c.betas[1], 0, 0.999999)];
  }
  if (c.numWarmupIterations !== undefined)
    out.numWarmupIterations = requireInteger(`${name}.numWarmupIterations`, c.numWarmupIterations, 0);
  if (c.betaSoftplus !== undefined) out.betaSoftplus = requireNumber(`${name}.betaSoftplus`, c.betaSoftplus, Number.MIN_VALUE);
  if (c.lookaheadMergeTime !== undefined) out.lookaheadMergeTime = requireInteger(`${name}.lookaheadMergeTime`, c.lookaheadMergeTime, 1);
  if (c.mode !== undefined) out.mode = requireChoice(`${name}.mode`, c.mode, ranger21Modes);
  return out;
}

export interface LossConfig {
  /** `cce` (default) or plain cross-entropy `ce`. */
  kind?: LossKindName;
  /** `head` (cce.py, the default) or the paper-era `v2021`. For 2 classes head-CCE equals cross-entropy up to 1e-7. */
  variant?: CceVariantName;
  /** loss = CE − balancingFactor · S/(B·K); 1 as the authors use it. */
  balancingFactor?: number;
  labelSmoothing?: number;
}

export function resolveLossOptions(config: unknown = {}, name = 'loss'): Required<LossNativeOptions> {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) throw invalidType(name, 'an options object', config);
  const c = config as Record<string, unknown>;
  for (const key of Object.keys(c)) {
    if (!['kind', 'variant', 'balancingFactor', 'labelSmoothing'].includes(key)) {
      throw outOfRange(`${name} key`, 'one of kind, variant, balancingFactor, labelSmoothing', key);
    }
  }
  return {
    kind: c.kind === undefined ? 'cce' : requireChoice(`${name}.kind`, c.kind, lossKinds),
    variant: c.variant === undefined ? 'head' : requireChoice(`${name}.variant`, c.variant, cceVariants),
    balancingFactor: c.balancingFactor === undefined ? 1 : requireNumber(`${name}.balancingFactor`, c.balancingFactor, -100, 100),
    labelSmoothing: c.labelSmoothing === undefined ? 0 : requireNumber(`${name}.labelSmoothing`, c.labelSmoothing, 0, 1),
  };
}

/** Checks integer class labels against the number of classes; returns them as an Int32Array. */
export function validateLabels(name: string, labels: unknown, count: number, numClasses: number): Int32Array {
  if (!(labels instanceof Int32Array) && !Array.isArray(labels)) throw invalidType(name, 'an Int32Array or number[]', labels);
  if (labels.length !== count) throw outOfRange(`${name} length`, `${count} (one label per image)`, labels.length);
  const out = Int32Array.from(labels as ArrayLike<number>);
  for (let i = 0; i < labels.length; i++) {
    const label = (labels as ArrayLike<unknown>)[i];
    if (typeof label !== 'number' || !Number.isInteger(label)) throw invalidType(`${name}[${i}]`, 'an integer class label', label);
    if (label < 0 || label >= numClasses) throw outOfRange(`${name}[${i}]`, `a class label from 0 to ${numClasses - 1}`, label);
  }
  return out;
}

/** Runs a standalone Ranger21 over given parameters for `steps` steps, feeding the given gradients. */
export async function traceRanger21(
  options: Omit<Ranger21TraceOptions, 'optimizer'> & { optimizer: Ranger21Config },
): Promise<Ranger21TraceResult> {
  const optimizer = resolveRanger21Options(options.optimizer);
  const steps = requireInteger('steps', options.steps, 1);
  if (!Array.isArray(options.params) || !Array.isArray(options.grads) || options.params.length !== options.grads.length) {
    throw invalidType('params and grads', 'arrays of equal length', options.params);
  }
  options.params.forEach((p, i) => {
    const numel = p.shape.reduce((a, b) => a * b, 1);
    if (!(p.data instanceof Float32Array) || p.data.length !== numel)
      throw outOfRange(`params[${i}].data`, `a Float32Array of ${numel} values`, p.data);
    const grads = options.grads[i];
    if (!(grads instanceof Float32Array) || grads.length !== steps * numel) {
      throw outOfRange(`grads[${i}]`, `a Float32Array of ${steps * numel} values (steps × numel)`, grads);
    }
  });
  return loadAddon().ranger21Trace({ ...options, optimizer, steps });
}

/** The lr Ranger21 uses at steps 1..steps for a group whose lr is `groupLr` (default: optimizer.lr). */
export function ranger21Schedule(config: Ranger21Config, steps: number, groupLr?: number): Ranger21ScheduleResult {
  const optimizer = resolveRanger21Options(config);
  return loadAddon().ranger21Schedule({
    optimizer,
    steps: requireInteger('steps', steps, 1, 1e8),
    ...(groupLr === undefined ? {} : { groupLr: requireNumber('groupLr', groupLr, 0) }),
  });
}

/** The loss over [batch, classes] logits and d loss / d logits, computed by the training code path. */
export async function classificationLoss(
  logits: Float32Array,
  shape: [number, number],
  targets: Int32Array | number[],
  config: LossConfig = {},
): Promise<ClassificationLossResult> {
  if (!(logits instanceof Float32Array)) throw invalidType('logits', 'a Float32Array', logits);
  if (!Array.isArray(shape) || shape.length !== 2) throw invalidType('shape', 'an array [batch, classes]', shape);
  const batch = requireInteger('shape[0]', shape[0], 1);
  const classes = requireInteger('shape[1]', shape[1], 1);
  if (logits.length !== batch * classes) throw outOfRange('logits', `${batch * classes} values for shape [${batch}, ${classes}]`, logits);
  const loss = resolveLossOptions(config);
  if (loss.kind === 'cce' && classes < 2) throw outOfRange('shape[1]', 'at least 2 classes for complement cross entropy', classes);
  const labels = validateLabels('targets', targets, batch, classes);
  return loadAddon().classificationLoss({ logits, shape: [batch, classes], targets: labels, ...loss });
}
