/** Parity kind `ttach`: TTA view order, per-view pixels and merged outputs against ttach's own (ttach.json/.safetensors). */
import { join } from 'node:path';
import { mergeTta, planTta, ttachClassNames, ttachViews, type TtaSpec, type TtaTransform } from '../predict/tta';
import { applyViewToImage } from '../predict/dihedral';
import { maxAbsDiff, readFixtureJson, readFixtureSafetensors, type FixtureTensor } from './fixture';
import type { ParityKind, ParityResult } from './kind';

/** README: merged outputs are exact up to float32 summation order (≤ 5e-7). */
const kMergeTolerance = 1e-6;

interface ComposeCase {
  constructor: string;
  num_views: number;
  views_in_order: Record<string, boolean | number>[];
  index_image_per_view: number[][][];
  merged_mean: number[][];
}

interface TtachFixture {
  composes: Record<string, ComposeCase>;
}

/** Reads ttach's constructor text, e.g. `Compose([HorizontalFlip(), Rotate90(angles=[0,90])])`, into a spec. */
export function specFromTtachConstructor(text: string): TtaSpec {
  const code = text.split('#')[0].trim();
  const inner = /^Compose\(\[(.*)\]\)$/s.exec(code);
  if (!inner) throw new Error(`ttach: cannot read the Compose constructor (got ${JSON.stringify(text)})`);
  const items = inner[1].match(/\w+\([^()]*\)/g) ?? [];
  return items.map((item): TtaTransform => {
    const name = item.slice(0, item.indexOf('('));
    if (name === 'HorizontalFlip') return { type: 'hflip' };
    if (name === 'VerticalFlip') return { type: 'vflip' };
    const angles = /^Rotate90\((?:angles=)?\[([^\]]*)\]\)$/.exec(item);
    if (!angles) throw new Error(`ttach: unsupported transform (got ${JSON.stringify(item)})`);
    return {
      type: 'rot90',
      angles: angles[1]
        .split(',')
        .filter((a) => a.trim() !== '')
        .map(Number),
    };
  });
}

function tensor(tensors: Map<string, FixtureTensor>, name: string): FixtureTensor {
  const t = tensors.get(name);
  if (!t) throw new Error(`ttach: tensor '${name}' missing from the fixture`);
  return t;
}

function result(check: string, maxError: number, tolerance: number, detail?: string): ParityResult {
  return { fixture: 'ttach', check, pass: maxError <= tolerance, maxError, tolerance, ...(detail ? { detail } : {}) };
}

function checkViewOrder(name: string, spec: TtaSpec, c: ComposeCase): ParityResult {
  const ours = ttachViews(spec).map((v) => Object.fromEntries(spec.map((t, i) => [ttachClassNames[t.type], v.params[i]])));
  const wrong =
    c.views_in_order.length !== ours.length
      ? Math.max(ours.length, c.views_in_order.length)
      : ours.filter((v, i) => JSON.stringify(v) !== JSON.stringify(c.views_in_order[i])).length;
  return result(`${name}.views_in_order`, wrong, 0, `${ours.length} views (fixture ${c.num_views}); maxError = views that differ`);
}

/** Where each pixel goes: ttach's op order and the native fixed order must both give the fixture's index images. */
function checkIndexImages(name: string, spec: TtaSpec, c: ComposeCase, index: FixtureTensor): ParityResult {
  let worst = 0;
  ttachViews(spec).forEach((v, i) => {
    const expected = c.index_image_per_view[i]?.flat() ?? [];
    for (const how of [v.ops, v.view]) {
      const got = applyViewToImage(index.data as Float32Array, index.shape, how).data;
      worst = Math.max(worst, got.length === expected.length ? maxAbsDiff(got, expected) : Infinity);
    }
  });
  return result(`${name}.index_image_per_view`, worst, 0);
}

function checkAugmentedInputs(name: string, spec: TtaSpec, tensors: Map<string, FixtureTensor>): ParityResult {
  const input = tensor(tensors, 'input');
  let worst = 0;
  ttachViews(spec).forEach((v, i) => {
    const expected = tensor(tensors, `${name}.view${String(i).padStart(2, '0')}.augmented_input`);
    const got = applyViewToImage(input.data as Float32Array, input.shape, v.view);
    const sameShape = got.shape.join() === expected.shape.join();
    worst = Math.max(worst, sameShape ? maxAbsDiff(got.data, expected.data as Float32Array) : Infinity);
  });
  return result(`${name}.augmented_input`, worst, 0);
}

/** ttach's merge over the fixture's per-view outputs, all views and the deduplicated plan. */
function checkMerged(name: string, spec: TtaSpec, c: ComposeCase, tensors: Map<string, FixtureTensor>): ParityResult[] {
  const expected = tensor(tensors, `${name}.merged_mean`).data as Float32Array;
  const outputOf = (i: number) => tensor(tensors, `${name}.view${String(i).padStart(2, '0')}.output`).data as Float32Array;
  const full = planTta(spec, { dedup: false });
  const dedup = planTta(spec);
  const mergedFull = mergeTta(
    full.map((e) => outputOf(e.ttachViews[0])),
    full,
    'mean',
  );
  const mergedDedup = mergeTta(
    dedup.map((e) => outputOf(e.ttachViews[0])),
    dedup,
    'mean',
  );
  // Views that are the same symmetry feed the model identical tensors, so their outputs must be identical.
  const sameSymmetry = Math.max(0, ...dedup.flatMap((e) => e.ttachViews.map((i) => maxAbsDiff(outputOf(i), outputOf(e.ttachViews[0])))));
  return [
    result(`${name}.duplicate_view_outputs`, sameSymmetry, 0),
    result(`${name}.merged_mean`, maxAbsDiff(mergedFull, expected), kMergeTolerance),
    result(`${name}.merged_mean_json`, maxAbsDiff(mergedFull, c.merged_mean.flat()), kMergeTolerance),
    result(
      `${name}.merged_mean_dedup`,
      maxAbsDiff(mergedDedup, expected),
      kMergeTolerance,
      `${dedup.length} distinct views for ${full.length}`,
    ),
  ];
}

/** Runs every check of one fixture; a compose that cannot be read fails with the reason instead of stopping the rest. */
export function runTtachParity(dir: string, stem: string): ParityResult[] {
  const json = readFixtureJson<TtachFixture>(join(dir, `${stem}.json`));
  const tensors = readFixtureSafetensors(join(dir, `${stem}.safetensors`));
  const index = tensor(tensors, 'index_image');
  const results: ParityResult[] = [];
  for (const [name, c] of Object.entries(json.composes)) {
    try {
      const spec = specFromTtachConstructor(c.constructor);
      results.push(
        checkViewOrder(name, spec, c),
        checkIndexImages(name, spec, c, index),
        checkAugmentedInputs(name, spec, tensors),
        ...checkMerged(name, spec, c, tensors),
      );
    } catch (e) {
      results.push({ ...result(name, Infinity, 0, (e as Error).message), fixture: stem });
    }
  }
  return results.map((r) => ({ ...r, fixture: stem }));
}

export const ttachParity: ParityKind = {
  name: 'ttach',
  fixtures: (fileNames) =>
    fileNames
      .filter((f) => /^ttach.*\.json$/.test(f) && fileNames.includes(f.replace(/\.json$/, '.safetensors')))
      .map((f) => f.replace(/\.json$/, '')),
  run: async (dir, fixture) => runTtachParity(dir, fixture),
};
