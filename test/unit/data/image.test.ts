import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { augmentRgb, decodeImage, DecodedCache, probeImage, verifyImage } from '../../../src/data/image';
import { indexPattern, indexPixel, writeImageSet, writeIndexPng, writeTruncatedPng } from './images';

let dir: string;
let set: Record<string, string>;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'foldtorch-image-'));
  set = await writeImageSet(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const nearest = (size: number) => ({ size, interpolation: 'nearest' as const });
const px = (rgb: Buffer, size: number, x: number, y: number) => Array.from(rgb.subarray((y * size + x) * 3, (y * size + x) * 3 + 3));

describe('decodeImage', () => {
  test('PNG decodes to exact HWC RGB', async () => {
    const rgb = await decodeImage(set.index, nearest(6));
    expect(rgb.equals(indexPattern(6))).toBe(true);
  });

  test('lossless WebP decodes exactly', async () => {
    expect((await decodeImage(set.webp, nearest(4))).equals(indexPattern(4))).toBe(true);
  });

  test('alpha is flattened onto white', async () => {
    const rgb = await decodeImage(set.alpha, nearest(4));
    expect(px(rgb, 4, 0, 0)).toEqual([255, 0, 0]);
    expect(px(rgb, 4, 1, 0)).toEqual([255, 127, 127]); // 50% red over white
    expect(px(rgb, 4, 3, 3)).toEqual([255, 255, 255]);
  });

  test('greyscale becomes three equal channels', async () => {
    const rgb = await decodeImage(set.grey, nearest(4));
    expect(rgb.length).toBe(48);
    expect([...new Set(rgb)]).toEqual([77]);
  });

  test('a CMYK JPEG comes out as sRGB red', async () => {
    const rgb = await decodeImage(set.cmyk, nearest(8));
    const [r, g, b] = px(rgb, 8, 4, 4);
    expect(r).toBeGreaterThan(200);
    expect(g).toBeLessThan(40);
    expect(b).toBeLessThan(50);
  });

  test('EXIF orientation 6 is applied: the stored left half (red) is displayed on top', async () => {
    const rgb = await decodeImage(set.exif, nearest(8));
    // Rows 3-4 straddle the JPEG edge; rows 0-2 are the red half, rows 5-7 the blue half.
    for (const [x, y] of [[0, 0], [7, 0], [3, 2]]) expect(px(rgb, 8, x, y)).toEqual([254, 0, 0]);
    for (const [x, y] of [[0, 7], [7, 7], [3, 5]]) expect(px(rgb, 8, x, y)).toEqual([0, 0, 254]);
    expect(await probeImage(set.exif)).toEqual({ format: 'jpeg', width: 4, height: 8 });
  });

  test('16-bit PNG is reduced to 8 bits', async () => {
    const rgb = await decodeImage(set.deep, nearest(4));
    expect(px(rgb, 4, 2, 2)).toEqual([0, 128, 255]);
  });

  test('squash resize with the model kernel: a 6×6 pattern to 3×3 (nearest samples at output pixel centres)', async () => {
    const rgb = await decodeImage(set.index, nearest(3));
    expect(rgb.length).toBe(27);
    // Output pixel i covers input [2i, 2i+2); its centre 2i+1 selects input pixel 2i+1.
    expect(px(rgb, 3, 0, 0)).toEqual(indexPixel(1, 1));
    expect(px(rgb, 3, 2, 1)).toEqual(indexPixel(5, 3));
    const cubic = await decodeImage(set.index, { size: 12, interpolation: 'bicubic' });
    expect(cubic.length).toBe(12 * 12 * 3);
  });

  test('augmentRgb on a decoded buffer equals decoding with the plan', async () => {
    const plain = await decodeImage(set.index, nearest(6));
    const plan = { hflip: true, vflip: false, rot90: 3 } as const;
    expect((await augmentRgb(plain, 6, plan)).equals(await decodeImage(set.index, nearest(6), plan))).toBe(true);
    expect(await augmentRgb(plain, 6, { hflip: false, vflip: false, rot90: 0 })).toBe(plain);
  });
});

describe('bad images name the file', () => {
  test('truncated PNG: the header reads, a full decode fails', async () => {
    const path = await writeTruncatedPng(join(dir, 'trunc.png'));
    await expect(probeImage(path)).resolves.toEqual({ format: 'png', width: 64, height: 64 });
    await expect(verifyImage(path)).rejects.toThrow(`${path}: cannot decode image: unreadable or truncated`);
    await expect(decodeImage(path, nearest(8))).rejects.toThrow(`${path}: cannot decode image: unreadable or truncated`);
  });

  test('zero-byte and non-image files', async () => {
    const zero = join(dir, 'zero.jpg');
    const text = join(dir, 'text.png');
    writeFileSync(zero, '');
    writeFileSync(text, 'not an image');
    for (const path of [zero, text]) {
      await expect(probeImage(path)).rejects.toThrow(`${path}: not an image in a format sharp reads (PNG, JPEG, WebP, GIF, TIFF, AVIF)`);
    }
  });

  test('a missing file', async () => {
    const path = join(dir, 'missing.png');
    await expect(decodeImage(path, nearest(4))).rejects.toThrow(`${path}: image file does not exist`);
  });

  test('decompression bomb: the pixel limit is checked before decoding', async () => {
    const path = await writeIndexPng(join(dir, 'big.png'), 20);
    const message = `${path}: image is larger than the pixel limit of 399 pixels (limitInputPixels; a decompression bomb?)`;
    await expect(decodeImage(path, { ...nearest(4), limitInputPixels: 399 })).rejects.toThrow(message);
    await expect(probeImage(path, 399)).rejects.toThrow(message);
    await expect(decodeImage(path, { ...nearest(4), limitInputPixels: 400 })).resolves.toHaveLength(48);
  });

  test('size is validated', async () => {
    await expect(decodeImage(set.index, nearest(0))).rejects.toThrow('Expected an integer from 1 to 8192 for size but received 0');
  });
});

describe('DecodedCache', () => {
  test('stores up to maxBytes, keys by size, interpolation and path', () => {
    const cache = new DecodedCache(100);
    const key = DecodedCache.key('/a.png', nearest(4));
    expect(key).toBe('4|nearest|/a.png');
    cache.set(key, Buffer.alloc(48));
    cache.set('other', Buffer.alloc(60)); // would exceed 100 bytes: not stored
    expect(cache.size).toBe(1);
    expect(cache.byteLength).toBe(48);
    expect(cache.get('other')).toBeUndefined();
    cache.clear();
    expect(cache.size).toBe(0);
  });
});
