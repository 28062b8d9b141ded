/**
 * Style-breaking augmentation plans (beyond the seed), each drawn deterministically from (seed, epoch, position)
 * on a stream of its own: per sample a 3x3 RGB matrix (identity, greyscale or a hue rotation), an outline
 * strength, a fade amount and a 2x3 affine matrix. planBatch() gathers a batch's into the one `augment` object that
 * native/train/batch_transform.cc applies on the device. A new style augmentation: its plan here (and in planBatch),
 * its kernel there, its reader in bridge/tensor_bridge.cc.
 */
import { requireInteger, requireNumber } from '../errors';
import type { BatchAugment } from '../native/types';
import { RandomState } from './random';

export interface ColourConfig {
  /** Probability of converting to greyscale (ITU-R 601 luma, as PIL's convert('L')). */
  grayscale: number;
  /** Probability of rotating the hue by a uniform angle (when not greyscale). */
  hue: number;
}

const kIdentity = [1, 0, 0, 0, 1, 0, 0, 0, 1];

/**
 * Each augmentation draws from a random stream of its own, keyed (seed, epoch, position, stream), so turning one
 * on or off leaves the others' plans as they were, and no two share draws (which would tie their decisions).
 */
const kStream = { colour: 1, affine: 2, outline: 3, fade: 4 } as const;

function planStream(seed: number, epoch: number, position: number, stream: number): RandomState {
  return new RandomState([
    requireInteger('seed', seed, 0, 0xffffffff),
    requireInteger('epoch', epoch, 0, 0xffffffff),
    requireInteger('position', position, 0, 0xffffffff),
    stream,
  ]);
}
const kLuma = [0.299, 0.587, 0.114];

/** The RGB matrix that rotates hue by `angle` radians: a rotation about the grey axis (1,1,1), so grey stays grey. */
export function hueRotationMatrix(angle: number): number[] {
  const c = Math.cos(angle);
  const s = Math.sin(angle) / Math.sqrt(3);
  const t = (1 - c) / 3;
  return [c + t, t - s, t + s, t + s, c + t, t - s, t - s, t + s, c + t];
}

export function grayscaleMatrix(): number[] {
  return [...kLuma, ...kLuma, ...kLuma];
}

/** The matrix of the draw at `position` of `epoch`: a pure function of its inputs, like the geometric plans. */
export function planColour(config: ColourConfig, seed: number, epoch: number, position: number): number[] {
  requireNumber('augment.grayscale', config.grayscale, 0, 1);
  requireNumber('augment.hue', config.hue, 0, 1);
  if (config.grayscale === 0 && config.hue === 0) return kIdentity;
  const rng = planStream(seed, epoch, position, kStream.colour);
  if (rng.randomSample() < config.grayscale) return grayscaleMatrix();
  if (rng.randomSample() < config.hue) return hueRotationMatrix(2 * Math.PI * rng.randomSample());
  return kIdentity;
}

/**
 * One per-image value drawn with `probability` from the stream of `name`: 0 (not drawn), else `draw(rng)`. The
 * plans of outlines and fades.
 */
function planPerImage(
  name: 'outline' | 'fade',
  probability: number,
  seed: number,
  epoch: number,
  position: number,
  draw: (rng: RandomState) => number,
): number {
  requireNumber(`augment.${name}`, probability, 0, 1);
  if (probability === 0) return 0;
  const rng = planStream(seed, epoch, position, kStream[name]);
  if (rng.randomSample() >= probability) return 0;
  return draw(rng);
}

/** The outline strength of the draw at `position` of `epoch`: 0 (none), else uniform in [0.5, 1]. */
export function planOutline(probability: number, seed: number, epoch: number, position: number): number {
  return planPerImage('outline', probability, seed, epoch, position, (rng) => 0.5 + 0.5 * rng.randomSample());
}

/** The fade amount of the draw at `position` of `epoch`: 0 (none), else uniform in [0, 1). */
export function planFade(probability: number, seed: number, epoch: number, position: number): number {
  return planPerImage('fade', probability, seed, epoch, position, (rng) => rng.randomSample());
}

/** Strengths for a batch, packed as the bridge's `outlineStrengths`; null when outlines are off. */
export function outlineStrengths(probability: number, seed: number, epoch: number, positions: readonly number[]): Float32Array | null {
  return probability === 0 ? null : Float32Array.from(positions, (position) => planOutline(probability, seed, epoch, position));
}

/** Amounts for a batch, packed as the bridge's `fadeAmounts`; null when fading is off. */
export function fadeAmounts(probability: number, seed: number, epoch: number, positions: readonly number[]): Float32Array | null {
  return probability === 0 ? null : Float32Array.from(positions, (position) => planFade(probability, seed, epoch, position));
}

/** Matrices for a batch, packed as the bridge's `colorMatrices` (batch*9 float32); null when all identity. */
export function colourMatrices(
  config: ColourConfig | null,
  seed: number,
  epoch: number,
  positions: readonly number[],
): Float32Array | null {
  if (config === null || (config.grayscale === 0 && config.hue === 0)) return null;
  const out = new Float32Array(positions.length * 9);
  positions.forEach((position, i) => out.set(planColour(config, seed, epoch, position), i * 9));
  return out;
}

export interface GeometryConfig {
  /** Probability of a random affine jitter (on top of the flips and quarter turns). */
  affine: number;
  /** Zoom factor range: the content is scaled by a log-uniform factor in [1/scale, scale]. */
  scale: number;
  /** Largest shift as a fraction of the image side. */
  shift: number;
  /** Largest rotation in degrees. */
  rotate: number;
}

/**
 * Per-sample 2×3 matrices for affine_grid (output → input coordinates, normalised to [-1, 1]): scale, rotation
 * and shift jitter, drawn like the colour plans from (seed, epoch, position) on a stream of their own. `aspect` is
 * height / width of the images: normalised coordinates stretch a non-square image, so the rotation is corrected
 * by it to stay a rotation in pixels (1 for squares, whose matrices it leaves as they were).
 */
export function affineMatrices(
  config: GeometryConfig | null,
  seed: number,
  epoch: number,
  positions: readonly number[],
  aspect = 1,
): Float32Array | null {
  if (config === null || config.affine === 0) return null;
  const out = new Float32Array(positions.length * 6);
  positions.forEach((position, i) => {
    const rng = planStream(seed, epoch, position, kStream.affine);
    let m = [1, 0, 0, 0, 1, 0];
    if (rng.randomSample() < config.affine) {
      const zoom = Math.exp((2 * rng.randomSample() - 1) * Math.log(config.scale));
      const angle = ((2 * rng.randomSample() - 1) * config.rotate * Math.PI) / 180;
      const tx = (2 * rng.randomSample() - 1) * config.shift * 2;
      const ty = (2 * rng.randomSample() - 1) * config.shift * 2;
      // Sampling grid = R(angle) / zoom applied to output coordinates, then shifted.
      const c = Math.cos(angle) / zoom;
      const s = Math.sin(angle) / zoom;
      m = [c, -s * aspect, tx, s / aspect, c, ty];
    }
    out.set(m, i * 6);
  });
  return out;
}

/** Every style augmentation a recipe can turn on (recipe `augment.*`). */
export type StyleAugmentConfig = ColourConfig & GeometryConfig & { outline: number; fade: number };

/**
 * A batch's style augmentations for the draws at `positions` of `epoch`, as the one object the Learner and the
 * bridge take; undefined when every one is off. `aspect` is the images' height / width (see affineMatrices).
 */
export function planBatch(
  config: StyleAugmentConfig,
  seed: number,
  epoch: number,
  positions: readonly number[],
  aspect = 1,
): BatchAugment | undefined {
  const augment: BatchAugment = {};
  const colour = colourMatrices(config, seed, epoch, positions);
  const outline = outlineStrengths(config.outline, seed, epoch, positions);
  const fade = fadeAmounts(config.fade, seed, epoch, positions);
  const affine = affineMatrices(config, seed, epoch, positions, aspect);
  if (colour) augment.colorMatrices = colour;
  if (outline) augment.outlineStrengths = outline;
  if (fade) augment.fadeAmounts = fade;
  if (affine) augment.affineMatrices = affine;
  return Object.keys(augment).length > 0 ? augment : undefined;
}
