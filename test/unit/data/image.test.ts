import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { readFileSync } from 'node:fs';
import { augmentRgb, decodeImage, DecodedCache, probeImage, verifyImage } from '../../../src/data/image';
import { addonLocation, loadAddon } from '../../../src/native/addon';
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
    for (const [x, y] of [
      [0, 0],
      [7, 0],
      [3, 2],
    ])
      expect(px(rgb, 8, x, y)).toEqual([254, 0, 0]);
    for (const [x, y] of [
      [0, 7],
      [7, 7],
      [3, 5],
    ])
      expect(px(rgb, 8, x, y)).toEqual([0, 0, 254]);
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

const kAllPlans = [false, true].flatMap((hflip) =>
  [false, true].flatMap((vflip) => [0, 1, 2, 3].map((rot90) => ({ hflip, vflip, rot90: rot90 as 0 | 1 | 2 | 3 }))),
);

describe('native orientation (the cached path)', () => {
  test('all 16 flip / quarter-turn plans move pixels exactly as sharp does', async () => {
    const plain = await decodeImage(set.index, nearest(6));
    for (const plan of kAllPlans) {
      expect([plan, (await augmentRgb(plain, 6, plan)).equals(await decodeImage(set.index, nearest(6), plan))]).toEqual([plan, true]);
    }
  });
});

// Without turbojpeg.h at build time the addon has no fast path, and every JPEG goes through sharp.
const fastPathTest = loadAddon().jpegFastPath ? test : test.skip;

describe('JPEG fast path (libjpeg-turbo in the addon)', () => {
  const noise = (size: number) =>
    sharp({ create: { width: size, height: size, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 70 } } });
  let jpegs: Record<string, string>;
  beforeAll(async () => {
    jpegs = {
      '4:2:0': join(dir, 'fast-420.jpg'),
      '4:4:4': join(dir, 'fast-444.jpg'),
      grey: join(dir, 'fast-grey.jpeg'),
      progressive: join(dir, 'fast-progressive.JPG'),
    };
    await noise(24).jpeg({ quality: 90 }).toFile(jpegs['4:2:0']);
    await noise(24).jpeg({ quality: 90, chromaSubsampling: '4:4:4' }).toFile(jpegs['4:4:4']);
    await noise(24).greyscale().jpeg({ quality: 90 }).toFile(jpegs.grey);
    await noise(24).jpeg({ quality: 80, progressive: true }).toFile(jpegs.progressive);
  });

  fastPathTest("takes JPEGs at the model size and gives sharp's pixels for every plan", async () => {
    for (const [kind, file] of Object.entries(jpegs)) {
      expect([kind, await loadAddon().decodeJpegExact(readFileSync(file), 24, kAllPlans[0])]).not.toEqual([kind, null]);
      for (const plan of kAllPlans) {
        const fast = await decodeImage(file, { ...nearest(24) }, plan);
        const general = await decodeImage(file, { ...nearest(24), fastPath: false }, plan);
        expect([kind, plan, fast.equals(general)]).toEqual([kind, plan, true]);
      }
    }
  });

  fastPathTest('declines what sharp must handle: another size, EXIF, an ICC profile, CMYK, a truncated file', async () => {
    const decline = async (file: string, size: number) => loadAddon().decodeJpegExact(readFileSync(file), size, kAllPlans[0]);
    expect(await decline(jpegs['4:2:0'], 12)).toBeNull();
    const exif = join(dir, 'fast-exif.jpg');
    await noise(24).jpeg().withMetadata({ orientation: 1 }).toFile(exif);
    expect(await decline(exif, 24)).toBeNull();
    const icc = join(dir, 'fast-icc.jpg');
    await noise(24).jpeg().withIccProfile('p3').toFile(icc);
    expect(await decline(icc, 24)).toBeNull();
    expect(await decline(set.cmyk, 8)).toBeNull();
    const truncated = join(dir, 'fast-truncated.jpg');
    writeFileSync(truncated, readFileSync(jpegs['4:4:4']).subarray(0, 600));
    expect(await decline(truncated, 24)).toBeNull();
    await expect(decodeImage(truncated, nearest(24))).rejects.toThrow(`${truncated}: cannot decode image: unreadable or truncated`);
    expect(await loadAddon().decodeJpegExact(Buffer.from('not a jpeg'), 24, kAllPlans[0])).toBeNull();
    // The declined files still decode, through sharp.
    expect((await decodeImage(icc, nearest(24))).length).toBe(24 * 24 * 3);
  });

  fastPathTest('declines a progressive JPEG missing a scan (block smoothing differs between libjpeg-turbo and sharp)', async () => {
    const whole = readFileSync(jpegs.progressive);
    const scans: number[] = [];
    for (let i = 2; i < whole.length - 1; i++) if (whole[i] === 0xff && whole[i + 1] === 0xda) scans.push(i);
    // Without the last scan (a refinement): every coefficient is present, some short of their last bit.
    const file = join(dir, 'fast-progressive-short.jpg');
    writeFileSync(file, Buffer.concat([whole.subarray(0, scans[scans.length - 1]), Buffer.from([0xff, 0xd9])]));
    expect(await loadAddon().decodeJpegExact(readFileSync(file), 24, kAllPlans[0])).toBeNull();
    expect(await loadAddon().decodeJpegExact(whole, 24, kAllPlans[0])).not.toBeNull();
    expect((await decodeImage(file, nearest(24))).equals(await decodeImage(file, { ...nearest(24), fastPath: false }))).toBe(true);
  });

  /** The JPEG without its DQT segments (the quantisation tables): sharp refuses it. */
  function withoutQuantTables(jpeg: Buffer): Buffer {
    const kept: Buffer[] = [jpeg.subarray(0, 2)];
    let at = 2;
    while (jpeg[at] === 0xff && jpeg[at + 1] !== 0xda) {
      const end = at + 2 + jpeg.readUInt16BE(at + 2);
      if (jpeg[at + 1] !== 0xdb) kept.push(jpeg.subarray(at, end));
      at = end;
    }
    kept.push(jpeg.subarray(at));
    return Buffer.concat(kept);
  }

  // One libuv thread in a fresh process, so every call below meets the decoder state the previous one left.
  fastPathTest('each image gets a fresh decoder: no tables from the image before, no failure carried over', async () => {
    const normal = readFileSync(jpegs['4:4:4']);
    const noTables = join(dir, 'fast-no-dqt.jpg');
    writeFileSync(noTables, withoutQuantTables(normal));
    expect(readFileSync(noTables).length).toBeLessThan(normal.length - 64);
    await expect(decodeImage(noTables, { ...nearest(24), fastPath: false })).rejects.toThrow(noTables);
    const truncated = join(dir, 'fast-truncated-2.jpg');
    writeFileSync(truncated, normal.subarray(0, 600));
    // More Huffman codes than symbols in the first DHT: refused while reading the header (sharp: "Bogus Huffman table").
    const badTable = join(dir, 'fast-bad-dht.jpg');
    const bytes = Buffer.from(normal);
    let at = 2;
    while (!(bytes[at] === 0xff && bytes[at + 1] === 0xc4)) at += 2 + bytes.readUInt16BE(at + 2);
    bytes[at + 5 + 15] = 0xff;
    writeFileSync(badTable, bytes);
    await expect(decodeImage(badTable, { ...nearest(24), fastPath: false })).rejects.toThrow(badTable);
    const script = `
      const fs = require('fs');
      const addon = require(${JSON.stringify(addonLocation()!.path)});
      const plan = { hflip: false, vflip: false, rot90: 0 };
      const decode = (file) => addon.decodeJpegExact(fs.readFileSync(file), 24, plan).then((b) => b && b.toString('base64'));
      (async () => {
        const out = [];
        for (const file of ${JSON.stringify([jpegs['4:4:4'], noTables, truncated, badTable, jpegs['4:4:4'], noTables, badTable, truncated, jpegs['4:4:4']])}) out.push(await decode(file));
        process.stdout.write(JSON.stringify(out));
      })();`;
    const results = JSON.parse(
      execFileSync('node', ['-e', script], { env: { ...process.env, UV_THREADPOOL_SIZE: '1' }, encoding: 'utf8' }),
    ) as (string | null)[];
    const expected = (await decodeImage(jpegs['4:4:4'], { ...nearest(24), fastPath: false })).toString('base64');
    expect(results.map((r) => (r === null ? null : r === expected ? 'sharp pixels' : 'other pixels'))).toEqual([
      'sharp pixels',
      null,
      null,
      null,
      'sharp pixels',
      null,
      null,
      null,
      'sharp pixels',
    ]);
    // Through the loader: the file without tables is refused naming it, as sharp refuses it, after a normal JPEG.
    await decodeImage(jpegs['4:4:4'], nearest(24));
    await expect(decodeImage(noTables, nearest(24))).rejects.toThrow(noTables);
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
    expect(key).toBe('4x4|nearest|/a.png');
    cache.set(key, Buffer.alloc(48));
    cache.set('other', Buffer.alloc(60)); // would exceed 100 bytes: not stored
    expect(cache.size).toBe(1);
    expect(cache.byteLength).toBe(48);
    expect(cache.get('other')).toBeUndefined();
    cache.clear();
    expect(cache.size).toBe(0);
  });
});
