/** Writes small test images with sharp: index patterns, alpha, grey, CMYK JPEG, EXIF-rotated, 16-bit, broken files. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';

/** RGB of the index pattern at column x, row y: R = 10x, G = 10y, B = 200. */
export function indexPixel(x: number, y: number): [number, number, number] {
  return [10 * x, 10 * y, 200];
}

export function indexPattern(size: number): Buffer {
  const data = Buffer.alloc(size * size * 3);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) data.set(indexPixel(x, y), (y * size + x) * 3);
  return data;
}

export async function writeIndexPng(path: string, size: number): Promise<string> {
  await sharp(indexPattern(size), { raw: { width: size, height: size, channels: 3 } })
    .png()
    .toFile(path);
  return path;
}

/** 4×4 RGBA: fully transparent except the top-left pixel (opaque red) and the one right of it (50% red). */
export async function writeAlphaPng(path: string): Promise<string> {
  const data = Buffer.alloc(4 * 4 * 4);
  data.set([255, 0, 0, 255], 0);
  data.set([255, 0, 0, 128], 4);
  await sharp(data, { raw: { width: 4, height: 4, channels: 4 } })
    .png()
    .toFile(path);
  return path;
}

export async function writeGreyPng(path: string, value: number): Promise<string> {
  await sharp(Buffer.alloc(16, value), { raw: { width: 4, height: 4, channels: 1 } })
    .png()
    .toFile(path);
  return path;
}

export async function writeCmykJpeg(path: string): Promise<string> {
  await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 255, g: 0, b: 0 } } })
    .toColourspace('cmyk')
    .jpeg({ quality: 95 })
    .toFile(path);
  return path;
}

/** Stored 8 wide × 4 high, left half red, right half blue, EXIF orientation 6 (display rotated 90° clockwise). */
export async function writeExifRotatedJpeg(path: string): Promise<string> {
  const data = Buffer.alloc(8 * 4 * 3);
  for (let y = 0; y < 4; y++) for (let x = 0; x < 8; x++) data.set(x < 4 ? [255, 0, 0] : [0, 0, 255], (y * 8 + x) * 3);
  await sharp(data, { raw: { width: 8, height: 4, channels: 3 } })
    .jpeg({ quality: 100 })
    .withMetadata({ orientation: 6 })
    .toFile(path);
  return path;
}

export async function write16BitPng(path: string): Promise<string> {
  await sharp({ create: { width: 4, height: 4, channels: 3, background: { r: 0, g: 128, b: 255 } } })
    .toColourspace('rgb16')
    .png()
    .toFile(path);
  return path;
}

export async function writeWebp(path: string): Promise<string> {
  await sharp(indexPattern(4), { raw: { width: 4, height: 4, channels: 3 } })
    .webp({ lossless: true })
    .toFile(path);
  return path;
}

/** The first half of a valid PNG. */
export async function writeTruncatedPng(path: string, size = 64): Promise<string> {
  const png = await sharp({
    create: { width: size, height: size, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 40 } },
  })
    .png()
    .toBuffer();
  writeFileSync(path, png.subarray(0, png.length >> 1));
  return path;
}

/** A set of each kind in `dir`, by name. */
export async function writeImageSet(dir: string): Promise<Record<string, string>> {
  return {
    index: await writeIndexPng(join(dir, 'index.png'), 6),
    alpha: await writeAlphaPng(join(dir, 'alpha.png')),
    grey: await writeGreyPng(join(dir, 'grey.png'), 77),
    cmyk: await writeCmykJpeg(join(dir, 'cmyk.jpg')),
    exif: await writeExifRotatedJpeg(join(dir, 'exif.jpg')),
    deep: await write16BitPng(join(dir, 'deep.png')),
    webp: await writeWebp(join(dir, 'index.webp')),
  };
}
