/**
 * Shared machinery of the eva02 and convnext parity kinds: tolerances from the fixture folder's README, element
 * checks, and the fixture runs (model outputs + gradients, load-path resampling, registry mirroring), all driven
 * by each fixture's JSON so a folder with other seeds, shapes or configs is checked the same way.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { createModel, type Model } from '../native/model';
import type { HostTensor, ModelArchOverrides } from '../native/types';
import { readFixtureJson, readFixtureSafetensors, type FixtureTensor } from './fixture';
import type { ParityOptions, ParityResult } from './kind';

export interface Tolerance {
  atol: number;
  rtol: number;
}

/**
 * The "suggested check" of a row of the README's tolerance table ("| EVA-02 logits / pre_logits | … | atol 1e-5
 * (rtol 1e-5) |"), or `fallback` when the folder has no README or no such row.
 */
export function readmeTolerance(dir: string, label: string, fallback: Tolerance): Tolerance {
  const readme = path.join(dir, 'README.md');
  if (!existsSync(readme)) return fallback;
  for (const line of readFileSync(readme, 'utf8').split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length < 4 || cells[1] !== label) continue;
    const check = cells[cells.length - 2];
    const atol = /atol\s*([0-9.]+e?[-+]?[0-9]*)/.exec(check);
    const rtol = /rtol\s*([0-9.]+e?[-+]?[0-9]*)/.exec(check);
    if (atol) return { atol: Number(atol[1]), rtol: rtol ? Number(rtol[1]) : 0 };
  }
  return fallback;
}

type Numeric = ArrayLike<number>;

function toNumbers(data: FixtureTensor['data'] | Float32Array): Numeric {
  return data instanceof BigInt64Array ? Array.from(data, Number) : (data as Numeric);
}

/** |actual − expected| ≤ atol + rtol·|expected| everywhere; maxError is the largest absolute difference. */
export function compareTensor(
  fixture: string,
  check: string,
  actual: HostTensor | undefined,
  expected: FixtureTensor,
  tol: Tolerance,
): ParityResult {
  const base = { fixture, check, tolerance: tol.atol };
  if (!actual) return { ...base, pass: false, maxError: Infinity, detail: 'not produced by the implementation' };
  if (actual.shape.join(',') !== expected.shape.join(',')) {
    return { ...base, pass: false, maxError: Infinity, detail: `shape [${actual.shape}] vs expected [${expected.shape}]` };
  }
  const want = toNumbers(expected.data);
  let maxError = 0;
  let pass = true;
  for (let i = 0; i < want.length; i++) {
    const diff = Math.abs(actual.data[i] - want[i]);
    if (!(diff <= tol.atol + tol.rtol * Math.abs(want[i]))) pass = false;
    if (!(diff <= maxError)) maxError = Number.isNaN(diff) ? Infinity : diff;
  }
  return { ...base, pass, maxError };
}

/** A structural check: passes when there are no problems; maxError counts them. */
export function structuralResult(fixture: string, check: string, problems: string[]): ParityResult {
  return {
    fixture,
    check,
    pass: problems.length === 0,
    maxError: problems.length,
    tolerance: 0,
    detail: problems.length ? problems.slice(0, 3).join('; ') + (problems.length > 3 ? `; … ${problems.length - 3} more` : '') : undefined,
  };
}

interface CreateModelJson {
  model_name: string;
  kwargs: Record<string, unknown>;
}

/** timm's keyword (embed_dim) → createModel's arch key (embedDim). */
function camelCase(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_, ch: string) => ch.toUpperCase());
}

/**
 * timm create_model kwargs → createModel options. createModel checks each key against the keys the model's family
 * declares, so a fixture of an unsupported configuration fails loudly instead of being checked against the wrong model.
 */
export function createOptionsFromKwargs(kwargs: Record<string, unknown>) {
  const arch: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(kwargs)) {
    if (key === 'num_classes' || key === 'img_size') continue;
    arch[camelCase(key)] = value;
  }
  return {
    numClasses: kwargs.num_classes as number | undefined,
    imgSize: kwargs.img_size as number | [number, number] | undefined,
    arch: arch as ModelArchOverrides,
  };
}

/** Which README tolerance applies to an output of a family. */
export type ToleranceFor = (output: string) => Tolerance;

/**
 * The fixtures of a model family in a golden folder: `<stem>.<input>.safetensors` with its `<stem>.io.safetensors`
 * and `<stem>.json` for each input kind (`weights`; EVA-02 also `checkpoint`, the resample cases), plus the
 * family's timm registry dump. Sorted stems.
 */
export function modelFixtureStems(fileNames: readonly string[], family: string, inputs: readonly string[] = ['weights']): string[] {
  const files = new Set(fileNames);
  const stems: string[] = [];
  for (const file of fileNames) {
    if (!file.startsWith(`${family}_`)) continue;
    for (const input of inputs) {
      const stem = file.endsWith(`.${input}.safetensors`) ? file.slice(0, -`.${input}.safetensors`.length) : null;
      if (stem && files.has(`${stem}.io.safetensors`) && files.has(`${stem}.json`)) stems.push(stem);
    }
    if (file === `${family}_timm_registry.json`) stems.push(`${family}_timm_registry`);
  }
  return stems.sort();
}

function outputsByName(out: Awaited<ReturnType<Model['forwardFloat']>>): Record<string, HostTensor> {
  return { ...out.intermediates, logits: out.logits, pre_logits: out.preLogits, features: out.features };
}

export async function checkStateDictOrder(
  fixture: string,
  model: Model,
  keys: Record<string, number[]> | undefined,
): Promise<ParityResult[]> {
  if (!keys) return [];
  const ours = await model.parameters();
  const expected = Object.entries(keys);
  const problems: string[] = [];
  if (ours.length !== expected.length) problems.push(`${ours.length} parameters vs ${expected.length} expected`);
  expected.forEach(([name, shape], i) => {
    const got = ours[i];
    if (!got || got.name !== name || got.shape.join(',') !== shape.join(',')) {
      problems.push(`#${i}: ${got ? `${got.name} [${got.shape}]` : 'none'} vs ${name} [${shape}]`);
    }
  });
  return [structuralResult(fixture, 'state_dict keys, order and shapes', problems)];
}

/** A model fixture: <stem>.json + .weights + .io (+ .grads) safetensors. */
export async function runModelFixture(
  dir: string,
  stem: string,
  options: ParityOptions,
  tolFor: ToleranceFor,
  extra: { channelsLast?: boolean } = {},
): Promise<ParityResult[]> {
  const json = readFixtureJson<{
    create_model: CreateModelJson;
    state_dict_keys?: Record<string, number[]>;
    grads?: { targets: number[] };
  }>(path.join(dir, `${stem}.json`));
  const model = await createModel(json.create_model.model_name, {
    ...createOptionsFromKwargs(json.create_model.kwargs),
    pretrained: path.join(dir, `${stem}.weights.safetensors`),
    device: options.device,
    channelsLast: extra.channelsLast,
  });
  try {
    const results = await checkStateDictOrder(stem, model, json.state_dict_keys);
    const io = readFixtureSafetensors(path.join(dir, `${stem}.io.safetensors`));
    const input = io.get('input')!;
    const outputs = outputsByName(await model.forwardFloat(input.data as Float32Array, { shape: input.shape, intermediates: true }));
    for (const [name, expected] of io) {
      if (name === 'input' || name.endsWith('_fp64')) continue;
      results.push(compareTensor(stem, name, outputs[name], expected, tolFor(name)));
    }
    const gradsFile = path.join(dir, `${stem}.grads.safetensors`);
    if (json.grads && existsSync(gradsFile))
      results.push(...(await checkGrads(stem, model, input, json.grads.targets, gradsFile, tolFor('grads'))));
    return results;
  } finally {
    model.dispose();
  }
}

async function checkGrads(
  stem: string,
  model: Model,
  input: FixtureTensor,
  targets: number[],
  file: string,
  tol: Tolerance,
): Promise<ParityResult[]> {
  const expected = readFixtureSafetensors(file);
  const got = await model.lossAndGrads(input.data as Float32Array, { shape: input.shape, targets });
  const results: ParityResult[] = [];
  const loss = expected.get('loss');
  if (loss) results.push(compareTensor(stem, 'grads.loss', { shape: loss.shape, data: new Float32Array([got.loss]) }, loss, tol));
  for (const [name, tensor] of expected) {
    if (name.startsWith('grad.')) results.push(compareTensor(stem, name, got.grads[name.slice(5)], tensor, tol));
  }
  const gradInput = expected.get('grad_input');
  if (gradInput) results.push(compareTensor(stem, 'grad_input', got.gradInput, gradInput, tol));
  return results;
}
