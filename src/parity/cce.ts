/**
 * Parity kind `cce`: Complement Cross Entropy (both variants) and plain cross-entropy, loss and d loss/d logits,
 * from the training code path against the authors' code run in float64. Where the reference NaNs in float32
 * (the target's softmax rounds to 1) ours must be finite and still match the float64 value.
 */
import { join } from 'node:path';
import type { CceVariantName } from '../native/types';
import { classificationLoss } from '../train/optimizer';
import { maxAbsDiff, readFixtureJson } from './fixture';
import type { ParityKind, ParityResult } from './kind';

/** README: atol 1e-6; scaled by the magnitude for losses above 1, where one float32 ulp alone is ~1e-7·|loss|. */
const kTolerance = 1e-6;

interface VariantRecord {
  loss_fp64: number;
  loss_fp32: number | null;
  loss_fp32_is_nan?: boolean;
  grad_logits_fp64: number[][];
  complement_part_fp64?: number;
  complement_entropy_value_fp64?: number;
}

interface CceCase {
  name: string;
  num_classes: number;
  batch: number;
  logits: number[][];
  targets: number[];
  head: VariantRecord;
  v2021: VariantRecord;
  plain_cross_entropy_fp32: number;
  plain_cross_entropy_grad_fp32: number[][];
  /** Optional: the head variant's balancing_factor (default 1) and v2021's gamma (default −1). */
  balancing_factor?: number;
  gamma?: number;
}

function result(fixture: string, check: string, maxError: number, tolerance: number, detail?: string): ParityResult {
  return { fixture, check, pass: maxError <= tolerance, maxError, tolerance, ...(detail ? { detail } : {}) };
}

function finiteOrInfinity(values: ArrayLike<number>): number {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return Infinity;
  return 0;
}

async function checkVariant(stem: string, c: CceCase, variant: CceVariantName): Promise<ParityResult[]> {
  const logits = Float32Array.from(c.logits.flat());
  const shape: [number, number] = [c.batch, c.num_classes];
  const record = c[variant];
  // loss = CE − balancingFactor·S/(BK) for head; CE + gamma·S/(BK) for v2021.
  const balancingFactor = variant === 'head' ? (c.balancing_factor ?? 1) : -(c.gamma ?? -1);
  const ours = await classificationLoss(logits, shape, c.targets, { kind: 'cce', variant, balancingFactor });
  const lossTolerance = kTolerance * Math.max(1, Math.abs(record.loss_fp64));
  const referenceNaN = record.loss_fp32_is_nan === true || record.loss_fp32 === null;
  const out = [
    result(
      stem,
      `${c.name}.${variant}.loss`,
      Math.abs(ours.loss - record.loss_fp64),
      lossTolerance,
      referenceNaN ? 'vs float64; the float32 reference is NaN here' : 'vs float64',
    ),
    result(stem, `${c.name}.${variant}.grad`, maxAbsDiff(ours.grad.data, c[variant].grad_logits_fp64.flat()), kTolerance),
    result(stem, `${c.name}.${variant}.finite`, Math.max(finiteOrInfinity([ours.loss]), finiteOrInfinity(ours.grad.data)), 0),
  ];
  // The reference reports the complement part as loss − CE (head) or as the module's value (v2021): −S/(BK) and S/(BK).
  const term =
    variant === 'head'
      ? record.complement_part_fp64 === undefined
        ? undefined
        : -record.complement_part_fp64
      : record.complement_entropy_value_fp64;
  if (term !== undefined) out.push(result(stem, `${c.name}.${variant}.complement_term`, Math.abs(ours.complementTerm - term), kTolerance));
  return out;
}

async function checkPlainCrossEntropy(stem: string, c: CceCase): Promise<ParityResult[]> {
  const ours = await classificationLoss(Float32Array.from(c.logits.flat()), [c.batch, c.num_classes], c.targets, { kind: 'ce' });
  return [
    result(stem, `${c.name}.ce.loss`, Math.abs(ours.loss - c.plain_cross_entropy_fp32), kTolerance * Math.max(1, Math.abs(ours.loss))),
    result(stem, `${c.name}.ce.grad`, maxAbsDiff(ours.grad.data, c.plain_cross_entropy_grad_fp32.flat()), kTolerance),
  ];
}

export async function runCceParity(dir: string, stem: string): Promise<ParityResult[]> {
  const json = readFixtureJson<{ cases: CceCase[] }>(join(dir, `${stem}.json`));
  const results: ParityResult[] = [];
  for (const c of json.cases) {
    try {
      for (const variant of ['head', 'v2021'] as const) results.push(...(await checkVariant(stem, c, variant)));
      results.push(...(await checkPlainCrossEntropy(stem, c)));
    } catch (e) {
      results.push(result(stem, c.name, Infinity, 0, (e as Error).message));
    }
  }
  return results;
}

export const cceParity: ParityKind = {
  name: 'cce',
  fixtures: (fileNames) => fileNames.filter((f) => /^cce.*\.json$/.test(f)).map((f) => f.replace(/\.json$/, '')),
  run: (dir, fixture) => runCceParity(dir, fixture),
};
