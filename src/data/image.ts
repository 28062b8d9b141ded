/** Decoding one image with sharp into model-ready uint8 RGB (resize, alpha on white, EXIF, flips, rot90), with clear per-file errors. */
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { invalidData, requireImageSize } from '../errors';
import { loadAddonAsync } from '../native/addon';
import type { NativeAddon } from '../native/types';
import {
  type AugmentPlan,
  type Interpolation,
  isIdentityPlan,
  kIdentityPlan,
  resizeSizeFor,
  sharpKernel,
  sharpRotationAngle,
} from './augment';

/** PIL's decompression-bomb threshold (Image.MAX_IMAGE_PIXELS); sharp's own default is 3× larger. */
export const kDefaultPixelLimit = 89_478_485;

export interface DecodeOptions {
  /** The decoded image's size, after the plan: a side or [height, width]. */
  size: number | readonly [number, number];
  interpolation: Interpolation;
  /** Largest width × height accepted before decoding (sharp `limitInputPixels`). */
  limitInputPixels?: number;
  /**
   * Decode JPEGs that are already at the size to resize to with libjpeg-turbo in the addon (default true; the same pixels as
   * sharp, without its ~0.25 ms a call). Everything else, and every error, goes through sharp.
   */
  fastPath?: boolean;
}

const kJpegName = /\.jpe?g$/i;

let nativeOps: NativeAddon | null | undefined;
/**
 * The addon's image calls, or null where it cannot be loaded: then sharp does all the work, as it always can.
 * Loaded off the main thread first: a dataset check is often the first thing to need it.
 */
async function nativeImageOps(): Promise<NativeAddon | null> {
  if (nativeOps === undefined) {
    try {
      nativeOps = await loadAddonAsync();
    } catch {
      nativeOps = null;
    }
  }
  return nativeOps;
}

/** Turns a sharp failure into an error that names the file and says what is wrong with it. */
export function imageError(path: string, error: unknown, limit: number): Error {
  const message = error instanceof Error ? error.message : String(error);
  if (/pixel limit/i.test(message)) {
    return invalidData(path, `image is larger than the pixel limit of ${limit} pixels (limitInputPixels; a decompression bomb?)`);
  }
  if (/Input file is missing/i.test(message)) return invalidData(path, `image file does not exist (${message})`);
  if (/unsupported image format/i.test(message)) {
    return invalidData(path, `not an image in a format sharp reads (PNG, JPEG, WebP, GIF, TIFF, AVIF) (${message})`);
  }
  return invalidData(path, `cannot decode image: unreadable or truncated (${message})`);
}

/**
 * The plan as at most two sharp operations: vflip = rot180 ∘ hflip, so rot^k ∘ vflip^v ∘ hflip^h equals
 * rot^(k+2v) ∘ hflip^(h xor v). Called after resize, so sharp applies them post-resize, flop before rotate.
 */
function orient(pipeline: sharp.Sharp, plan: AugmentPlan): sharp.Sharp {
  const flop = plan.hflip !== plan.vflip;
  const quarterTurns = ((plan.rot90 + (plan.vflip ? 2 : 0)) % 4) as AugmentPlan['rot90'];
  if (flop) pipeline = pipeline.flop();
  if (quarterTurns !== 0) pipeline = pipeline.rotate(sharpRotationAngle({ hflip: false, vflip: false, rot90: quarterTurns }));
  return pipeline;
}

/** libvips' operation cache only helps when the same file is processed twice in a row; for a stream of
 * distinct images it costs ~15% per decode, so the loader turns it off (process-wide) on first use. */
let sharpConfigured = false;
export function configureSharpForLoading(): void {
  if (sharpConfigured) return;
  sharp.cache(false);
  sharpConfigured = true;
}

async function toRgb(pipeline: sharp.Sharp, [height, width]: readonly [number, number], what: string): Promise<Buffer> {
  const { data, info } = await pipeline.toColourspace('srgb').removeAlpha().raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  if (info.width !== width || info.height !== height || info.channels !== 3 || data.length !== height * width * 3) {
    throw invalidData(
      what,
      `decoded to ${info.width}×${info.height}×${info.channels} (width×height×channels), expected ${width}×${height}×3`,
    );
  }
  return data;
}

/**
 * Decodes a PNG / JPEG / WebP (…) file into `height × width × 3` uint8 RGB, row-major HWC: EXIF orientation
 * applied first, squash-resized with the model's interpolation (timm `crop_mode='squash'`, albumentations
 * `Resize`), alpha flattened onto white, grey / CMYK converted to sRGB, then the plan's flips and rotation (after
 * an odd number of quarter turns, a non-square size is resized to transposed and turned into place).
 */
export async function decodeImage(path: string, options: DecodeOptions, plan: AugmentPlan = kIdentityPlan): Promise<Buffer> {
  const size = requireImageSize('size', options.size, 1, 8192);
  const [resizeHeight, resizeWidth] = resizeSizeFor(size, plan);
  const limit = options.limitInputPixels ?? kDefaultPixelLimit;
  configureSharpForLoading();
  const native = (options.fastPath ?? true) && kJpegName.test(path) ? await nativeImageOps() : null;
  let bytes: Buffer | null = null;
  if (native?.jpegFastPath) {
    // A file the fast path declines goes to sharp from these bytes; a missing, unreadable or empty one from its
    // path, so that sharp's errors stay as they are.
    bytes = await readFile(path).catch(() => null);
    if (bytes?.length === 0) bytes = null;
    const rgb = bytes ? await native.decodeJpegExact(bytes, [resizeHeight, resizeWidth], plan) : null;
    if (rgb) return rgb;
  }
  try {
    const pipeline = sharp(bytes ?? path, { limitInputPixels: limit, failOn: 'truncated', autoOrient: true })
      .resize(resizeWidth, resizeHeight, { fit: 'fill', kernel: sharpKernel(options.interpolation) })
      .flatten({ background: '#ffffff' });
    return await toRgb(orient(pipeline, plan), size, path);
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_INVALID_DATA') throw error;
    throw imageError(path, error, limit);
  }
}

/**
 * Applies a plan to an already decoded image of `size` ([height, width]; the cached path): natively, else with
 * sharp. An odd number of quarter turns returns width × height.
 */
export async function augmentRgb(rgb: Buffer, size: number | readonly [number, number], plan: AugmentPlan): Promise<Buffer> {
  if (isIdentityPlan(plan)) return rgb;
  const [height, width] = requireImageSize('size', size, 1, 8192);
  const native = await nativeImageOps();
  if (native) return native.orientPixels(rgb, [height, width], plan);
  const pipeline = sharp(rgb, { raw: { width, height, channels: 3 } });
  return toRgb(orient(pipeline, plan), resizeSizeFor([height, width], plan), 'augmentRgb');
}

/** Reads only the header: format and dimensions after EXIF orientation; throws the same per-file errors. */
export async function probeImage(
  path: string,
  limitInputPixels = kDefaultPixelLimit,
): Promise<{ format: string; width: number; height: number }> {
  try {
    const meta = await sharp(path, { limitInputPixels, failOn: 'truncated' }).metadata();
    if (meta.width === undefined || meta.height === undefined || meta.format === undefined) {
      throw new Error('no dimensions in header');
    }
    if (meta.width * meta.height > limitInputPixels) throw new Error('Input image exceeds pixel limit');
    const swap = (meta.orientation ?? 1) >= 5;
    return { format: meta.format, width: swap ? meta.height : meta.width, height: swap ? meta.width : meta.height };
  } catch (error) {
    throw imageError(path, error, limitInputPixels);
  }
}

/** Fully decodes an image (small output) to find truncated or corrupt files before training starts. */
export async function verifyImage(path: string, limitInputPixels = kDefaultPixelLimit): Promise<void> {
  await decodeImage(path, { size: 16, interpolation: 'nearest', limitInputPixels });
}

/**
 * Decoded, resized, un-augmented images kept in memory (for small datasets: the emoji set at 128 px is
 * 34 MB). Full once `maxBytes` is reached: later images are decoded every time instead of evicting.
 */
export class DecodedCache {
  private readonly entries = new Map<string, Buffer>();
  private bytes = 0;

  constructor(readonly maxBytes = 512 * 1024 * 1024) {}

  static key(path: string, options: DecodeOptions): string {
    const [height, width] = typeof options.size === 'number' ? [options.size, options.size] : options.size;
    return `${height}x${width}|${options.interpolation}|${path}`;
  }

  get(key: string): Buffer | undefined {
    return this.entries.get(key);
  }

  set(key: string, rgb: Buffer): void {
    if (this.entries.has(key) || this.bytes + rgb.length > this.maxBytes) return;
    this.entries.set(key, rgb);
    this.bytes += rgb.length;
  }

  get size(): number {
    return this.entries.size;
  }

  get byteLength(): number {
    return this.bytes;
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }
}
