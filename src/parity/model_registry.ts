/**
 * Parity of the model registry against a timm registry dump (<family>_timm_registry.json): every in-scope name
 * is registered, its model_args and pretrained tags match, and the full-size models' state_dict shapes and
 * parameter counts match.
 */
import * as path from 'node:path';
import { createModel, listModels } from '../native/model';
import type { RegistryEntry } from '../native/types';
import { readFixtureJson } from './fixture';
import type { ParityOptions, ParityResult } from './kind';
import { structuralResult } from './model_common';

interface TimmTag {
  num_classes: number;
  input_size: number[];
  crop_pct: number;
  crop_mode?: string;
  interpolation: string;
  mean: number[];
  std: number[];
}

interface TimmRegistry {
  models: Record<string, { model_args: Record<string, unknown>; pretrained_tags: Record<string, TimmTag> }>;
  state_dict_shapes?: Record<string, Record<string, number[]>>;
  num_params?: Record<string, number>;
}

function sameValue(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));
  return JSON.stringify(a) === JSON.stringify(b);
}

function argProblems(ours: RegistryEntry, args: Record<string, unknown>): string[] {
  return Object.entries(args)
    .filter(([key, value]) => !sameValue(ours.args[key], value))
    .map(([key, value]) => `${ours.name}.${key}: ${JSON.stringify(ours.args[key])} vs ${JSON.stringify(value)}`);
}

function tagProblems(ours: RegistryEntry, tags: Record<string, TimmTag>): string[] {
  const problems: string[] = [];
  for (const [tagName, timm] of Object.entries(tags)) {
    const tag = ours.tags.find((t) => t.tag === tagName);
    if (!tag) {
      problems.push(`${tagName}: not registered`);
      continue;
    }
    const pairs: [string, unknown, unknown][] = [
      ['num_classes', tag.numClasses, timm.num_classes],
      ['input_size', tag.imgSize, timm.input_size[1]],
      ['crop_pct', tag.cropPct, timm.crop_pct],
      ['crop_mode', tag.cropMode, timm.crop_mode ?? 'center'],
      ['interpolation', tag.interpolation, timm.interpolation],
      ['mean', tag.mean, timm.mean],
      ['std', tag.std, timm.std],
    ];
    for (const [key, mine, theirs] of pairs) {
      const same = Array.isArray(theirs)
        ? Array.isArray(mine) && mine.length === theirs.length && theirs.every((v, i) => sameValue(mine[i], v))
        : sameValue(mine, theirs);
      if (!same) problems.push(`${tagName}.${key}: ${JSON.stringify(mine)} vs ${JSON.stringify(theirs)}`);
    }
  }
  return problems;
}

/** "eva02_base_patch14_448(num_classes=2,img_size=224)" → name and createModel options. */
function parseVariant(key: string): { name: string; numClasses?: number; imgSize?: number } {
  const match = /^([^(]+)\((.*)\)$/.exec(key);
  if (!match) return { name: key };
  const args = Object.fromEntries(match[2].split(',').map((kv) => kv.split('=').map((s) => s.trim())));
  return {
    name: match[1],
    numClasses: args.num_classes === undefined ? undefined : Number(args.num_classes),
    imgSize: args.img_size === undefined ? undefined : Number(args.img_size),
  };
}

async function shapeProblems(
  key: string,
  expected: Record<string, number[]>,
  numParams: number | undefined,
  device: string,
): Promise<string[]> {
  const variant = parseVariant(key);
  const model = await createModel(variant.name, { numClasses: variant.numClasses, imgSize: variant.imgSize, device });
  try {
    const ours = await model.parameters();
    const problems: string[] = [];
    const expectedKeys = Object.keys(expected);
    if (ours.length !== expectedKeys.length) problems.push(`${ours.length} tensors vs ${expectedKeys.length}`);
    for (const p of ours) {
      const want = expected[p.name];
      if (!want) problems.push(`${p.name}: not in timm's state_dict`);
      else if (want.join(',') !== p.shape.join(',')) problems.push(`${p.name}: [${p.shape}] vs [${want}]`);
    }
    const count = ours.filter((p) => !p.buffer).reduce((sum, p) => sum + p.shape.reduce((a, b) => a * b, 1), 0);
    if (numParams !== undefined && count !== numParams) problems.push(`${count} parameters vs ${numParams}`);
    return problems;
  } finally {
    model.dispose();
  }
}

/** Runs the registry checks for the models of `family` whose names match `inScope`. */
export async function runRegistryFixture(dir: string, stem: string, options: ParityOptions, inScope: RegExp): Promise<ParityResult[]> {
  const timm = readFixtureJson<TimmRegistry>(path.join(dir, `${stem}.json`));
  const registry = new Map(listModels().map((entry) => [entry.name, entry]));
  const names = Object.keys(timm.models).filter((name) => inScope.test(name));
  const missing = names.filter((name) => !registry.has(name)).map((name) => `${name}: not registered`);
  const results = [structuralResult(stem, `registered names (${names.length} in scope)`, missing)];
  const present = names.filter((name) => registry.has(name));
  results.push(
    structuralResult(
      stem,
      'model_args',
      present.flatMap((name) => argProblems(registry.get(name)!, timm.models[name].model_args)),
    ),
  );
  results.push(
    structuralResult(
      stem,
      'pretrained tags',
      present.flatMap((name) => tagProblems(registry.get(name)!, timm.models[name].pretrained_tags)),
    ),
  );
  for (const [key, shapes] of Object.entries(timm.state_dict_shapes ?? {})) {
    results.push(
      structuralResult(stem, `state_dict shapes of ${key}`, await shapeProblems(key, shapes, timm.num_params?.[key], options.device)),
    );
  }
  return results;
}
