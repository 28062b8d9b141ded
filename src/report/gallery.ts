/**
 * The report's galleries: per scored set, the highest-loss images and the most confident correct ones of each
 * class, as small thumbnails written beside the report, with their TTA views' spread and, when given, Grad-CAM
 * overlays.
 */
import * as path from 'node:path';
import sharp from 'sharp';
import { decodeImage } from '../data/image';
import { outOfRange } from '../errors';
import { writeFileAtomicAsync } from '../files';

/** Per-image details of a scored set, aligned with its probabilities. */
export interface ImageDetails {
  /** Image names, e.g. train.csv's image_name. */
  ids: readonly string[];
  /** Image files: galleries show thumbnails of them. */
  paths?: readonly string[];
  /** The fold that scored each image (out-of-fold). */
  folds?: readonly number[];
  /** Each image's group (art style, family): per-group scores. */
  groups?: readonly string[];
  /** Each TTA view's probability of class 1, per image: the spread shows where the views disagree. */
  views?: readonly (readonly number[])[];
}

/** A Grad-CAM map on the model's feature grid, values in [0, 1], row-major [height, width]. */
export interface Heatmap {
  width: number;
  height: number;
  data: Float32Array | readonly number[];
}

export const kGalleryKinds = ['mistakes', 'confident'] as const;
export type GalleryKind = (typeof kGalleryKinds)[number];

/** One image picked for a gallery. */
export interface GalleryPick {
  set: string;
  kind: GalleryKind;
  /** Position in its set. */
  index: number;
  id: string;
  path: string | null;
  label: number;
  /** Mean probability of class 1. */
  probability: number;
  /** Cross-entropy of the true class. */
  loss: number;
  views: number[] | null;
  fold: number | null;
  group: string | null;
}

export interface GallerySizes {
  /** Highest-loss images per set (default 12). */
  mistakes: number;
  /** Most confident correct images per class and set (default 4). */
  perClass: number;
}

export const kDefaultGallerySizes: GallerySizes = Object.freeze({ mistakes: 12, perClass: 4 });

/** Cross-entropy of class `label` (0/1) at probability `p` of class 1, clipped as sklearn's log_loss does. */
export function imageLoss(label: number, p: number): number {
  const eps = 1e-15;
  const q = Math.min(1 - eps, Math.max(eps, label === 1 ? p : 1 - p));
  return -Math.log(q);
}

interface PickSet {
  name: string;
  probabilities: ArrayLike<number>;
  labels: ArrayLike<number>;
  images: ImageDetails;
}

/**
 * The set's `mistakes` highest-loss images, then for each class its `perClass` most confident correct ones
 * (lowest loss among those on the right side of `threshold`). Ties keep the set's order.
 */
export function pickGallery(set: PickSet, threshold: number, sizes: GallerySizes = kDefaultGallerySizes): GalleryPick[] {
  const { images } = set;
  const pick = (index: number, kind: GalleryKind): GalleryPick => ({
    set: set.name,
    kind,
    index,
    id: images.ids[index],
    path: images.paths?.[index] ?? null,
    label: set.labels[index],
    probability: set.probabilities[index],
    loss: imageLoss(set.labels[index], set.probabilities[index]),
    views: images.views?.[index] ? [...images.views[index]] : null,
    fold: images.folds?.[index] ?? null,
    group: images.groups?.[index] ?? null,
  });
  const all = Array.from({ length: set.probabilities.length }, (_, i) => pick(i, 'mistakes'));
  const byLoss = [...all].sort((a, b) => b.loss - a.loss || a.index - b.index);
  const mistakes = byLoss.slice(0, sizes.mistakes);
  const confident = [0, 1].flatMap((label) =>
    all
      .filter((p) => p.label === label && (p.probability >= threshold ? 1 : 0) === label)
      .sort((a, b) => a.loss - b.loss || a.index - b.index)
      .slice(0, sizes.perClass)
      .map((p) => ({ ...p, kind: 'confident' as const })),
  );
  return [...mistakes, ...confident];
}

/** Thumbnail side in pixels (the page shows them at this size; 2× would double the files for little). */
export const kThumbSize = 112;

/** Five-stop blue → cyan → green → yellow → red scale, as heat maps are usually read. */
const kHeatStops: readonly (readonly [number, number, number])[] = [
  [48, 18, 160],
  [20, 160, 220],
  [40, 200, 90],
  [250, 220, 40],
  [220, 30, 20],
];

export function heatColour(value: number): [number, number, number] {
  const v = Math.min(1, Math.max(0, Number.isFinite(value) ? value : 0)) * (kHeatStops.length - 1);
  const i = Math.min(kHeatStops.length - 2, Math.floor(v));
  const t = v - i;
  const [a, b] = [kHeatStops[i], kHeatStops[i + 1]];
  return [0, 1, 2].map((c) => Math.round(a[c] + (b[c] - a[c]) * t)) as [number, number, number];
}

/** A heat map as RGBA at its own grid size: colour by value, more opaque where the model looked. */
export function heatmapRgba(map: Heatmap): Buffer {
  const { width, height, data } = map;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || data.length !== width * height) {
    throw outOfRange('heatmap', `${width} × ${height} values`, data.length);
  }
  const out = Buffer.alloc(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    const v = Math.min(1, Math.max(0, Number.isFinite(data[i]) ? data[i] : 0));
    out.set([...heatColour(v), Math.round(255 * (0.2 + 0.45 * v))], i * 4);
  }
  return out;
}

/** `rgb` (size × size × 3) with the heat map stretched over it, as PNG bytes. */
export async function overlayPng(rgb: Buffer, size: number, map: Heatmap): Promise<Buffer> {
  const layer = await sharp(heatmapRgba(map), { raw: { width: map.width, height: map.height, channels: 4 } })
    .resize(size, size, { fit: 'fill', kernel: 'cubic' })
    .png()
    .toBuffer();
  return sharp(rgb, { raw: { width: size, height: size, channels: 3 } })
    .composite([{ input: layer }])
    .png()
    .toBuffer();
}

/** Where a gallery image goes, relative to the run folder. */
export function galleryFile(pick: Pick<GalleryPick, 'set' | 'kind' | 'index'>, suffix = ''): string {
  const slug =
    pick.set
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '') || 'set';
  return `report/images/${slug}-${pick.kind}-${pick.index}${suffix}.png`;
}

/** The key of a pick's heat map in ReportData.heatmaps. */
export function heatmapKey(pick: Pick<GalleryPick, 'set' | 'id'>): string {
  return `${pick.set}\u0000${pick.id}`;
}

export interface GalleryImage extends GalleryPick {
  /** Thumbnail (and overlay) paths relative to the run folder, null when the image has no file. */
  thumb: string | null;
  overlay: string | null;
}

/**
 * Writes a thumbnail (squashed to a square, as the model sees it) of every pick with a file, and its Grad-CAM
 * overlay when `heatmaps` has one. A pick already written (the same image in two galleries) is written once.
 */
export async function writeGalleryImages(
  runDir: string,
  picks: readonly GalleryPick[],
  heatmaps: ReadonlyMap<string, Heatmap>,
): Promise<GalleryImage[]> {
  const written = new Map<string, { thumb: string; overlay: string | null }>();
  const out: GalleryImage[] = [];
  for (const pick of picks) {
    if (pick.path === null) {
      out.push({ ...pick, thumb: null, overlay: null });
      continue;
    }
    const key = `${pick.set}\u0000${pick.index}`;
    let files = written.get(key);
    if (!files) {
      const rgb = await decodeImage(pick.path, { size: kThumbSize, interpolation: 'bicubic', fastPath: false });
      const thumb = galleryFile(pick);
      await writeFileAtomicAsync(
        path.join(runDir, thumb),
        await sharp(rgb, { raw: { width: kThumbSize, height: kThumbSize, channels: 3 } })
          .png()
          .toBuffer(),
      );
      const map = heatmaps.get(heatmapKey(pick));
      const overlay = map ? galleryFile(pick, '-cam') : null;
      if (map && overlay) await writeFileAtomicAsync(path.join(runDir, overlay), await overlayPng(rgb, kThumbSize, map));
      files = { thumb, overlay };
      written.set(key, files);
    }
    out.push({ ...pick, ...files });
  }
  return out;
}
