/**
 * Test-time augmentation with ttach's semantics (views = Cartesian product of the transforms in Compose order, merged
 * over raw logits), plus a plan that runs each distinct dihedral view once, weighted, for the same merged result.
 */
import { closestNames, invalidType, outOfRange, isTypedArrayOf } from '../errors';
import {
  dihedralKey,
  dihedralOfOps,
  opsOfView,
  viewOfDihedral,
  type Dihedral,
  type QuarterTurns,
  type TtaOp,
  type TtaView,
} from './dihedral';

export const ttaTransformTypes = ['hflip', 'vflip', 'rot90'] as const;
export type TtaTransformType = (typeof ttaTransformTypes)[number];

/** One entry of a ttach Compose list: HorizontalFlip(), VerticalFlip(), Rotate90(angles). */
export type TtaTransform = { type: 'hflip' } | { type: 'vflip' } | { type: 'rot90'; angles: readonly number[] };
/** The Compose list, in order; [] means no TTA (one identity view). */
export type TtaSpec = readonly TtaTransform[];

/** ttach's merge modes; all act elementwise on the raw model outputs (logits). */
export const ttaMergeModes = ['mean', 'gmean', 'sum', 'max', 'min', 'tsharpen'] as const;
export type TtaMergeMode = (typeof ttaMergeModes)[number];

/** The seed's TTA: Compose([HorizontalFlip(), VerticalFlip(), Rotate90(angles=[0, 90, 180, 270])]), 16 views. */
export const seedTtaSpec: TtaSpec = Object.freeze([
  { type: 'hflip' },
  { type: 'vflip' },
  { type: 'rot90', angles: Object.freeze([0, 90, 180, 270]) },
]);

/** ttach's class name of each transform, as in its views' parameter records. */
export const ttachClassNames: Record<TtaTransformType, string> = {
  hflip: 'HorizontalFlip',
  vflip: 'VerticalFlip',
  rot90: 'Rotate90',
};

/** One view exactly as ttach enumerates it. */
export interface TtachView {
  /** The parameter of each transform, in Compose order: a flip's boolean or a rotation's angle in degrees. */
  params: (boolean | number)[];
  /** The ops ttach applies, in Compose order. */
  ops: TtaOp[];
  /** The same pixels in the native side's fixed order (hflip → vflip → rot). */
  view: TtaView;
  element: Dihedral;
}

export interface TtaPlanEntry {
  /** What the native side applies (fixed order hflip → vflip → rot); `ops` spells it out. */
  view: TtaView;
  ops: TtaOp[];
  /** How many of ttach's views this one stands for. */
  weight: number;
  element: Dihedral;
  /** Indices of those views in ttach's order. */
  ttachViews: number[];
}

export interface TtaPlanOptions {
  /** Merge views that are the same symmetry (default true); false reproduces ttach's view list one to one. */
  dedup?: boolean;
}

function checkAngles(value: unknown, name: string): number[] {
  if (!Array.isArray(value) || value.length === 0) throw invalidType(name, 'a non-empty array of angles', value);
  return value.map((angle, i) => {
    if (typeof angle !== 'number' || !Number.isInteger(angle) || angle % 90 !== 0) {
      throw outOfRange(`${name}[${i}]`, 'a multiple of 90 degrees', angle);
    }
    return angle;
  });
}

/** Validates a spec and applies ttach's rule that Rotate90 prepends angle 0 when it is missing. */
export function normalizeTtaSpec(spec: unknown): TtaTransform[] {
  if (typeof spec === 'string') return parseTtaSpec(spec);
  if (!Array.isArray(spec)) throw invalidType('tta', 'an array of transforms or a string such as "hflip,vflip,rot90"', spec);
  return spec.map((t: unknown, i): TtaTransform => {
    const type = (t as { type?: unknown } | null)?.type;
    if (typeof type !== 'string' || !(ttaTransformTypes as readonly string[]).includes(type)) {
      throw outOfRange(`tta[${i}].type`, `one of ${ttaTransformTypes.join(', ')}`, type);
    }
    if (type !== 'rot90') return { type } as TtaTransform;
    const angles = checkAngles((t as { angles?: unknown }).angles, `tta[${i}].angles`);
    // ttach's Rotate90 prepends its identity angle when it is missing.
    return { type, angles: angles.includes(0) ? angles : [0, ...angles] };
  });
}

/**
 * Parses the CLI form: comma-separated `hflip`, `vflip`, `rot90` (= angles 0/90/180/270, as the seed) or
 * `rot90=90/180`; `none` or an empty string means no TTA.
 */
export function parseTtaSpec(text: string): TtaTransform[] {
  if (typeof text !== 'string') throw invalidType('tta', 'a string such as "hflip,vflip,rot90"', text);
  const trimmed = text.trim();
  if (trimmed === '' || trimmed === 'none') return [];
  return trimmed.split(',').map((item, i) => {
    const [name, angles] = item.trim().split('=');
    if (!(ttaTransformTypes as readonly string[]).includes(name)) {
      const hint = closestNames(name, ttaTransformTypes, 1)[0];
      throw outOfRange(`tta item ${i + 1}`, `one of ${ttaTransformTypes.join(', ')} (did you mean ${hint}?)`, item.trim());
    }
    if (name !== 'rot90') {
      if (angles !== undefined) throw outOfRange(`tta item ${i + 1}`, `${name} without a value`, item.trim());
      return { type: name } as TtaTransform;
    }
    const list =
      angles === undefined
        ? [0, 90, 180, 270]
        : checkAngles(
            angles.split('/').map((a) => (a.trim() === '' ? NaN : Number(a))),
            `tta item ${i + 1} angles`,
          );
    return { type: 'rot90', angles: list.includes(0) ? list : [0, ...list] };
  });
}

/** The CLI form of a spec (inverse of parseTtaSpec for normalised specs). */
export function formatTtaSpec(spec: TtaSpec): string {
  if (spec.length === 0) return 'none';
  return spec.map((t) => (t.type === 'rot90' ? `rot90=${t.angles.join('/')}` : t.type)).join(',');
}

function quarterTurns(angle: number): QuarterTurns {
  return ((((angle / 90) % 4) + 4) % 4) as QuarterTurns;
}

/** True when the Compose order is a subsequence of hflip, vflip, rot90: then ttach's params are the fixed-order view. */
function inFixedOrder(spec: TtaSpec): boolean {
  const ranks = spec.map((t) => ttaTransformTypes.indexOf(t.type));
  return ranks.every((rank, i) => i === 0 || rank > ranks[i - 1]);
}

/** ttach's views in its order: itertools.product of the transforms' parameters, the first transform varying slowest. */
export function ttachViews(tta: TtaSpec | string): TtachView[] {
  const spec = normalizeTtaSpec(tta);
  const choices = spec.map((t) => (t.type === 'rot90' ? [...t.angles] : [false, true]));
  let product: (boolean | number)[][] = [[]];
  for (const options of choices) product = product.flatMap((prefix) => options.map((p) => [...prefix, p]));
  const fixed = inFixedOrder(spec);
  return product.map((params) => {
    const ops: TtaOp[] = [];
    spec.forEach((t, i) => {
      const p = params[i];
      if (t.type === 'rot90') {
        const k = quarterTurns(p as number);
        if (k !== 0) ops.push({ op: 'rot90', k });
      } else if (p) {
        ops.push({ op: t.type });
      }
    });
    const element = dihedralOfOps(ops);
    const view: TtaView = fixed
      ? {
          hflip: params[spec.findIndex((t) => t.type === 'hflip')] === true,
          vflip: params[spec.findIndex((t) => t.type === 'vflip')] === true,
          rot: quarterTurns((params[spec.findIndex((t) => t.type === 'rot90')] as number | undefined) ?? 0),
        }
      : viewOfDihedral(element);
    return { params, ops, view, element };
  });
}

/**
 * The views to compute. With dedup (default) views that are the same symmetry (e.g. hflip∘vflip and rot180) are
 * computed once, represented by their first occurrence in ttach's order and weighted by their count.
 */
export function planTta(tta: TtaSpec | string, options: TtaPlanOptions = {}): TtaPlanEntry[] {
  const views = ttachViews(tta);
  const dedup = options.dedup ?? true;
  const entries: TtaPlanEntry[] = [];
  const byKey = new Map<string, TtaPlanEntry>();
  views.forEach((v, index) => {
    const key = dihedralKey(v.element);
    const seen = dedup ? byKey.get(key) : undefined;
    if (seen) {
      seen.weight += 1;
      seen.ttachViews.push(index);
      return;
    }
    const entry = { view: v.view, ops: opsOfView(v.view), weight: 1, element: v.element, ttachViews: [index] };
    byKey.set(key, entry);
    entries.push(entry);
  });
  return entries;
}

/** One line for logs and the report on what the plan saves. */
export function ttaPlanNote(plan: readonly TtaPlanEntry[]): string {
  const total = plan.reduce((sum, e) => sum + e.weight, 0);
  if (total === plan.length) return `TTA: ${total} view${total === 1 ? '' : 's'}, all distinct.`;
  const weights = [...new Set(plan.map((e) => e.weight))].sort((a, b) => a - b).join('/');
  return (
    `TTA: ttach's ${total} views are ${plan.length} distinct symmetries (hflip∘vflip = rot180); each is computed` +
    ` once with weight ${weights}: ${plan.length} forward passes instead of ${total}, the same merged result up to` +
    ' float32 summation order.'
  );
}

function checkOutputs(outputs: unknown, plan: readonly TtaPlanEntry[]): Float32Array[] {
  if (!Array.isArray(outputs)) throw invalidType('outputs', 'an array with one Float32Array per view', outputs);
  if (outputs.length !== plan.length) throw outOfRange('outputs', `one output per plan entry (${plan.length})`, outputs);
  if (plan.length === 0) throw outOfRange('plan', 'at least one view', plan);
  plan.forEach((e, i) => {
    if (!Number.isInteger(e.weight) || e.weight < 1) throw outOfRange(`plan[${i}].weight`, 'an integer >= 1', e.weight);
  });
  return outputs.map((value: unknown, i) => {
    const o = value as Float32Array;
    if (!isTypedArrayOf(o, 'Float32Array')) throw invalidType(`outputs[${i}]`, 'a Float32Array', o);
    if (o.length !== (outputs[0] as Float32Array).length) {
      throw outOfRange(`outputs[${i}]`, `the same length as outputs[0] (${(outputs[0] as Float32Array).length})`, o);
    }
    return o as Float32Array;
  });
}

/**
 * ttach's Merger over the plan's outputs, in float32 like the torch tensors it runs on: running sum (or product,
 * max, min) in plan order, each output counted `weight` times, then / n (mean, tsharpen) or ^(1/n) (gmean), where
 * n = total weight = ttach's number of views. Like ttach, gmean and tsharpen give NaN for negative logits.
 */
export function mergeTta(outputs: readonly Float32Array[], plan: readonly TtaPlanEntry[], mode: TtaMergeMode = 'mean'): Float32Array {
  if (!(ttaMergeModes as readonly string[]).includes(mode)) throw outOfRange('mode', `one of ${ttaMergeModes.join(', ')}`, mode);
  const views = checkOutputs(outputs, plan);
  const f = Math.fround;
  const n = plan.reduce((sum, e) => sum + e.weight, 0);
  const acc = new Float32Array(views[0].length);
  views.forEach((out, v) => {
    const w = plan[v].weight;
    for (let i = 0; i < acc.length; i++) {
      const x = mode === 'tsharpen' ? f(Math.sqrt(out[i])) : out[i];
      let term = x;
      if (mode === 'gmean') for (let r = 1; r < w; r++) term = f(term * x);
      else if (mode !== 'max' && mode !== 'min') term = f(w * x);
      if (v === 0) acc[i] = term;
      else if (mode === 'gmean') acc[i] = f(acc[i] * term);
      else if (mode === 'max')
        acc[i] = Math.max(acc[i], x); // NaN propagates, as torch.max
      else if (mode === 'min') acc[i] = Math.min(acc[i], x);
      else acc[i] = f(acc[i] + term);
    }
  });
  if (mode === 'mean' || mode === 'tsharpen') return acc.map((s) => s / n);
  if (mode === 'gmean') return acc.map((p) => p ** f(1 / n));
  return acc;
}
