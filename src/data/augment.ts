/** Deterministic per-sample augmentation plans (albumentations' flips and RandomRotate90) and the image transform settings. */
import { invalidType, outOfRange, requireChoice, requireImageSize, requireInteger, requireNumber } from '../errors';
import { RandomState } from './random';

export const kInterpolations = ['nearest', 'bilinear', 'bicubic', 'lanczos'] as const;
export type Interpolation = (typeof kInterpolations)[number];

/** The resize a model's pretrained config asks for (timm's `interpolation`): bilinear, else bicubic. */
export function interpolationOf(config: { interpolation: string }): Interpolation {
  return config.interpolation === 'bilinear' ? 'bilinear' : 'bicubic';
}

/** Probabilities of each augmentation (albumentations `p`); all 0 = no augmentation. */
export interface AugmentConfig {
  hflip: number;
  vflip: number;
  rotate90: number;
}

/** What happens to one image before it reaches the model: squash-resize, augment, normalise (natively). */
export interface TransformConfig {
  /** What reaches the model: a side, or [height, width] (the model's imgSize). */
  size: number | readonly [number, number];
  interpolation: Interpolation;
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
  augment: AugmentConfig | null;
}

/**
 * One sample's geometric augmentation, applied in this order after the resize: horizontal flip (mirror
 * left-right), vertical flip (mirror top-bottom), then `rot90` quarter turns **counter-clockwise** on
 * screen. That is albumentations' RandomRotate90, which calls `np.rot90(img, k)` on H×W×C arrays, and the
 * same direction as `torch.rot90(x, k, dims=(2, 3))` used by ttach.
 */
export interface AugmentPlan {
  hflip: boolean;
  vflip: boolean;
  rot90: 0 | 1 | 2 | 3;
}

export const kIdentityPlan: AugmentPlan = Object.freeze({ hflip: false, vflip: false, rot90: 0 });

/** The seed recipe's augmentations: HorizontalFlip, VerticalFlip and RandomRotate90, each p = 0.5. */
export const kSeedAugment: AugmentConfig = Object.freeze({ hflip: 0.5, vflip: 0.5, rotate90: 0.5 });

export function checkAugmentConfig(config: AugmentConfig, name = 'augment'): AugmentConfig {
  if (typeof config !== 'object' || config === null) throw invalidType(name, 'an object with hflip, vflip, rotate90', config);
  return {
    hflip: requireNumber(`${name}.hflip`, config.hflip, 0, 1),
    vflip: requireNumber(`${name}.vflip`, config.vflip, 0, 1),
    rotate90: requireNumber(`${name}.rotate90`, config.rotate90, 0, 1),
  };
}

function checkTriple(name: string, value: unknown, positive: boolean): [number, number, number] {
  if (!Array.isArray(value) || value.length !== 3) throw invalidType(name, 'an array of 3 numbers', value);
  return value.map((v, i) => {
    const x = requireNumber(`${name}[${i}]`, v);
    if (positive && !(x > 0)) throw outOfRange(`${name}[${i}]`, 'a number greater than 0', x);
    return x;
  }) as [number, number, number];
}

export function checkTransformConfig(config: TransformConfig): TransformConfig {
  if (typeof config !== 'object' || config === null) throw invalidType('transform', 'an object', config);
  return {
    size: requireImageSize('transform.size', config.size, 1, 8192),
    interpolation: requireChoice('transform.interpolation', config.interpolation, kInterpolations),
    mean: checkTriple('transform.mean', config.mean, false),
    std: checkTriple('transform.std', config.std, true),
    augment: config.augment === null ? null : checkAugmentConfig(config.augment, 'transform.augment'),
  };
}

/**
 * The plan of sample `index` in `epoch`, a pure function of (seed, epoch, index), so it does not depend on
 * batch order, prefetching or resume. In Python: `rs = np.random.RandomState([seed, epoch, index])`;
 * `hflip = rs.random_sample() < p_h`; `vflip = rs.random_sample() < p_v`; if `rs.random_sample() < p_r`:
 * `k = rs.randint(0, 4)` else 0 — the draws albumentations makes with `random.random()` / `randint(0, 3)`.
 */
export function planAugment(config: AugmentConfig | null, seed: number, epoch: number, index: number): AugmentPlan {
  if (config === null) return kIdentityPlan;
  requireInteger('seed', seed, 0, 0xffffffff);
  requireInteger('epoch', epoch, 0, 0xffffffff);
  requireInteger('index', index, 0, 0xffffffff);
  const rng = new RandomState([seed, epoch, index]);
  const hflip = rng.randomSample() < config.hflip;
  const vflip = rng.randomSample() < config.vflip;
  const rot90 = rng.randomSample() < config.rotate90 ? (rng.randomInterval(3) as 0 | 1 | 2 | 3) : 0;
  return { hflip, vflip, rot90 };
}

export function isIdentityPlan(plan: AugmentPlan): boolean {
  return !plan.hflip && !plan.vflip && plan.rot90 === 0;
}

/**
 * Where the pixel at column x, row y of a size×size image lands under `plan` (the plan's geometric meaning,
 * used by tests and for checking TTA de-augmentation): hflip x → size-1-x; vflip y → size-1-y; one
 * counter-clockwise quarter turn (x, y) → (y, size-1-x).
 */
export function planMapsPixel(plan: AugmentPlan, size: number, x: number, y: number): [number, number] {
  let px = plan.hflip ? size - 1 - x : x;
  let py = plan.vflip ? size - 1 - y : y;
  for (let k = 0; k < plan.rot90; k++) [px, py] = [py, size - 1 - px];
  return [px, py];
}

/**
 * The size to resize to so that the plan's flips and turns end at `size` ([height, width]): transposed when an odd
 * number of quarter turns meets a non-square size. The image is then what rotating first and resizing second gives
 * (the seed's order: RandomRotate90 before Resize), with one resize instead of two.
 */
export function resizeSizeFor(size: readonly [number, number], plan: AugmentPlan): [number, number] {
  const [height, width] = size;
  return plan.rot90 % 2 === 1 ? [width, height] : [height, width];
}

/** sharp's clockwise angle for the plan's counter-clockwise quarter turns. */
export function sharpRotationAngle(plan: AugmentPlan): number {
  return (360 - 90 * plan.rot90) % 360;
}

/** sharp resize kernel for a model's interpolation (timm/PIL names). */
export function sharpKernel(interpolation: Interpolation): 'nearest' | 'linear' | 'cubic' | 'lanczos3' {
  switch (interpolation) {
    case 'nearest':
      return 'nearest';
    case 'bilinear':
      return 'linear';
    case 'bicubic':
      return 'cubic';
    case 'lanczos':
      return 'lanczos3';
  }
}
