/**
 * Parity kind `ranger21`: the native Ranger21 in legacy mode against the reference's recorded runs (every step's
 * parameters, rewritten gradients, lr and variance) and its lr schedule over realistic run lengths.
 */
import { join } from 'node:path';
import type { Ranger21NativeOptions } from '../native/types';
import { ranger21Schedule, traceRanger21, type Ranger21Config } from '../train/optimizer';
import { maxAbsDiff, readFixtureJson, readFixtureSafetensors, type FixtureTensor } from './fixture';
import type { ParityKind, ParityResult } from './kind';

/** README: libtorch versions differ by an ulp here and there (skipping the 2nd GC/GN moves params ≤ 1.8e-7). */
const kTensorTolerance = 1e-6;
/** The schedule is double arithmetic in the same order as the reference's Python. */
const kLrTolerance = 1e-15;

interface TraceFixture {
  constructor_kwargs: Record<string, unknown>;
  param_list_order: string[];
  param_groups: { params: string[]; [key: string]: unknown }[] | null;
  n_steps: number;
  derived?: { num_warmup_iters?: number; start_warm_down?: number; total_iterations?: number };
}

interface ScheduleCase {
  num_epochs: number;
  num_batches_per_epoch: number;
  lr: number;
  warmdown_min_lr?: number;
  n_steps: number;
  num_warmup_iters?: number;
  start_warm_down?: number;
  lr_at?: Record<string, number>;
}

// Reference constructor argument → native option; the second list is accepted and has no effect in the reference.
const kKwargNames: Record<string, keyof Ranger21NativeOptions> = {
  lr: 'lr',
  num_epochs: 'numEpochs',
  num_batches_per_epoch: 'numBatchesPerEpoch',
  weight_decay: 'weightDecay',
  eps: 'eps',
  betas: 'betas',
  use_warmup: 'useWarmup',
  num_warmup_iterations: 'numWarmupIterations',
  warmup_pct_default: 'warmupPctDefault',
  warmdown_active: 'warmdownActive',
  warmdown_start_pct: 'warmdownStartPct',
  warmdown_min_lr: 'warmdownMinLr',
  lookahead_active: 'lookaheadActive',
  lookahead_mergetime: 'lookaheadMergeTime',
  lookahead_blending_alpha: 'lookaheadBlendingAlpha',
  softplus: 'softplus',
  beta_softplus: 'betaSoftplus',
  using_gc: 'usingGc',
  using_normgc: 'usingNormGc',
  gc_conv_only: 'gcConvOnly',
  normloss_active: 'normlossActive',
  normloss_factor: 'normlossFactor',
  use_adaptive_gradient_clipping: 'useAdaptiveGradientClipping',
  agc_clipping_value: 'agcClippingValue',
  agc_eps: 'agcEps',
};
// Stored by the reference but never read by its AdamW step (decay_type included: every value decays the same way).
const kIgnoredKwargs = new Set(['momentum', 'pnm_momentum_factor', 'logging_active', 'decay_type']);
// Reference features this reimplementation does not provide, with the value that means "off".
const kUnsupportedUnless: Record<string, unknown> = {
  use_madgrad: false,
  use_adabelief: false,
  use_cheb: false,
  momentum_type: 'pnm',
  lookahead_load_at_validation: false,
};

/** Maps the reference's constructor kwargs to a legacy-mode config; throws on a feature it does not implement. */
export function configFromKwargs(kwargs: Record<string, unknown>): Ranger21Config {
  const config: Record<string, unknown> = { mode: 'legacy' };
  for (const [key, value] of Object.entries(kwargs)) {
    if (key === 'warmup_type') {
      // None turns the warmup off (warmup_dampening returns lr untouched); anything but linear raises there.
      if (value === null) config.useWarmup = false;
      else if (value !== 'linear') throw new Error(`ranger21: warmup_type=${JSON.stringify(value)} is not implemented`);
    } else if (key in kKwargNames) config[kKwargNames[key]] = value === null ? undefined : value;
    else if (key in kUnsupportedUnless) {
      if (value !== kUnsupportedUnless[key]) throw new Error(`ranger21: ${key}=${JSON.stringify(value)} is not implemented`);
    } else if (!kIgnoredKwargs.has(key)) {
      throw new Error(`ranger21: unknown constructor argument ${key}`);
    }
  }
  return config as unknown as Ranger21Config;
}

/** max |a − b| / max(1, |b|): normalised gradients reach several units, where one float32 ulp is ~5e-7. */
function maxScaledDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i]));
    if (!(d <= worst)) worst = Number.isNaN(d) ? Infinity : d;
  }
  return worst;
}

function tensor(tensors: Map<string, FixtureTensor>, name: string): FixtureTensor {
  const t = tensors.get(name);
  if (!t) throw new Error(`ranger21: tensor '${name}' missing from the fixture`);
  return t;
}

function check(fixture: string, name: string, maxError: number, tolerance: number, detail?: string): ParityResult {
  return { fixture, check: name, pass: maxError <= tolerance, maxError, tolerance, ...(detail ? { detail } : {}) };
}

async function runTrace(dir: string, stem: string, json: TraceFixture): Promise<ParityResult[]> {
  const tensors = readFixtureSafetensors(join(dir, `${stem}.safetensors`));
  const order = json.param_list_order;
  const config = configFromKwargs(json.constructor_kwargs);
  const groups = json.param_groups?.map((g) => ({
    params: g.params.map((name) => order.indexOf(name)),
    ...(g.lr !== undefined ? { lr: g.lr as number } : {}),
    ...(g.weight_decay !== undefined ? { weightDecay: g.weight_decay as number } : {}),
    ...(g.eps !== undefined ? { eps: g.eps as number } : {}),
  }));
  const trace = await traceRanger21({
    optimizer: config,
    steps: json.n_steps,
    params: order.map((name) => ({
      shape: tensor(tensors, `${name}.init`).shape,
      data: tensor(tensors, `${name}.init`).data as Float32Array,
    })),
    grads: order.map((name) => tensor(tensors, `${name}.grads`).data as Float32Array),
    ...(groups ? { groups } : {}),
  });
  let params = 0;
  let grads = 0;
  order.forEach((name, i) => {
    params = Math.max(params, maxAbsDiff(trace.params[i].data, tensor(tensors, `${name}.params_after_step`).data as Float32Array));
    grads = Math.max(grads, maxScaledDiff(trace.grads[i].data, tensor(tensors, `${name}.grad_after_step`).data as Float32Array));
  });
  const schedule = ranger21Schedule(config, json.n_steps);
  const derived = json.derived ?? {};
  const derivedErrors = [
    derived.num_warmup_iters === undefined ? 0 : Math.abs(derived.num_warmup_iters - schedule.warmupIterations),
    derived.start_warm_down === undefined ? 0 : Math.abs(derived.start_warm_down - schedule.warmdownStart),
    derived.total_iterations === undefined ? 0 : Math.abs(derived.total_iterations - schedule.totalIterations),
  ];
  return [
    check(stem, 'params_after_step', params, kTensorTolerance, `${order.length} params x ${json.n_steps} steps`),
    check(stem, 'grad_after_step', grads, kTensorTolerance, 'error / max(1, |value|)'),
    check(stem, 'lr_per_step', maxAbsDiff(trace.lrs, tensor(tensors, 'lr_per_step').data as Float64Array), kLrTolerance),
    check(
      stem,
      'variance_normalized_per_step',
      maxAbsDiff(trace.varianceNormalized, tensor(tensors, 'variance_normalized_per_step').data as Float64Array),
      kTensorTolerance,
    ),
    check(
      stem,
      'derived_schedule',
      Math.max(...derivedErrors),
      0,
      `warmup ${schedule.warmupIterations}, warmdown from ${schedule.warmdownStart} of ${schedule.totalIterations}`,
    ),
  ];
}

function runSchedules(dir: string, stem: string, json: Record<string, ScheduleCase | unknown>): ParityResult[] {
  const tensors = readFixtureSafetensors(join(dir, `${stem}.safetensors`));
  const results: ParityResult[] = [];
  for (const [name, value] of Object.entries(json)) {
    if (typeof value !== 'object' || value === null || !('num_epochs' in value)) continue;
    const c = value as ScheduleCase;
    const config = configFromKwargs({
      lr: c.lr,
      num_epochs: c.num_epochs,
      num_batches_per_epoch: c.num_batches_per_epoch,
      ...(c.warmdown_min_lr !== undefined ? { warmdown_min_lr: c.warmdown_min_lr } : {}),
    });
    const schedule = ranger21Schedule(config, c.n_steps);
    const lrAt = Object.entries(c.lr_at ?? {}).map(([step, lr]) => Math.abs(schedule.lrs[Number(step) - 1] - lr));
    const derived = Math.max(
      Math.abs((c.num_warmup_iters ?? schedule.warmupIterations) - schedule.warmupIterations),
      Math.abs((c.start_warm_down ?? schedule.warmdownStart) - schedule.warmdownStart),
    );
    results.push(
      check(
        stem,
        `${name}.lr_per_step`,
        maxAbsDiff(schedule.lrs, tensor(tensors, name).data as Float64Array),
        kLrTolerance,
        `${c.n_steps} steps`,
      ),
      check(stem, `${name}.lr_at`, Math.max(0, ...lrAt), kLrTolerance),
      check(stem, `${name}.derived_schedule`, derived, 0, `warmup ${schedule.warmupIterations}, warmdown from ${schedule.warmdownStart}`),
    );
  }
  return results;
}

export async function runRanger21Parity(dir: string, stem: string): Promise<ParityResult[]> {
  const json = readFixtureJson<Record<string, unknown>>(join(dir, `${stem}.json`));
  if ('constructor_kwargs' in json) return runTrace(dir, stem, json as unknown as TraceFixture);
  return runSchedules(dir, stem, json);
}

export const ranger21Parity: ParityKind = {
  name: 'ranger21',
  fixtures: (fileNames) =>
    fileNames
      .filter((f) => /^ranger21_.*\.json$/.test(f) && fileNames.includes(f.replace(/\.json$/, '.safetensors')))
      .map((f) => f.replace(/\.json$/, '')),
  run: (dir, fixture) => runRanger21Parity(dir, fixture),
};
