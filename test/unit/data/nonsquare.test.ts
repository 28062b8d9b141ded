/**
 * Non-square model inputs through the image pipeline: decode, the plan's flips and quarter turns (an odd number
 * of turns resizes to the transposed size first, so every image ends [height, width]), the native orientation,
 * the JPEG fast path, the loader's cached and uncached paths, the affine jitter's aspect correction, and the TTA
 * refusal for fixed-size models.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { type AugmentPlan, kSeedAugment, planAugment, resizeSizeFor, type TransformConfig } from '../../../src/data/augment';
import { affineMatrices } from '../../../src/data/colour';
import { augmentRgb, decodeImage, DecodedCache } from '../../../src/data/image';
import { type Batch, loadBatches, type LoaderItem } from '../../../src/data/loader';
import { loadAddon } from '../../../src/native/addon';
import { checkTtaFitsModel } from '../../../src/predict/predictor';

const kAllPlans: AugmentPlan[] = [false, true].flatMap((hflip) =>
  [false, true].flatMap((vflip) => [0, 1, 2, 3].map((rot90) => ({ hflip, vflip, rot90: rot90 as AugmentPlan['rot90'] }))),
);

/** A 12×12 source whose pixel (x, y) is (20x, 20y, 99): every pixel tells where it came from. */
const kSide = 12;
function sourcePixels(): Buffer {
  const data = Buffer.alloc(kSide * kSide * 3);
  for (let y = 0; y < kSide; y++) for (let x = 0; x < kSide; x++) data.set([20 * x, 20 * y, 99], (y * kSide + x) * 3);
  return data;
}

/** Nearest-neighbour squash resize sampling each output pixel's centre (exact for whole-number factors, as sharp). */
function nearestResize(src: Buffer, [h, w]: readonly [number, number], [oh, ow]: readonly [number, number]): Buffer {
  const out = Buffer.alloc(oh * ow * 3);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      const sy = Math.floor(((y + 0.5) * h) / oh);
      const sx = Math.floor(((x + 0.5) * w) / ow);
      src.copy(out, (y * ow + x) * 3, (sy * w + sx) * 3, (sy * w + sx) * 3 + 3);
    }
  }
  return out;
}

/** albumentations' order on an h×w image: hflip, vflip, then k counter-clockwise quarter turns (np.rot90). */
function orientReference(src: Buffer, [h, w]: readonly [number, number], plan: AugmentPlan): Buffer {
  let img = Buffer.from(src);
  let [rows, cols] = [h, w];
  const remap = (pick: (y: number, x: number) => [number, number], oh: number, ow: number) => {
    const out = Buffer.alloc(oh * ow * 3);
    for (let y = 0; y < oh; y++) {
      for (let x = 0; x < ow; x++) {
        const [sy, sx] = pick(y, x);
        img.copy(out, (y * ow + x) * 3, (sy * cols + sx) * 3, (sy * cols + sx) * 3 + 3);
      }
    }
    img = out;
    [rows, cols] = [oh, ow];
  };
  if (plan.hflip) remap((y, x) => [y, cols - 1 - x], rows, cols);
  if (plan.vflip) remap((y, x) => [rows - 1 - y, x], rows, cols);
  // np.rot90(a)[i, j] = a[j, cols - 1 - i]; the result is cols × rows.
  for (let k = 0; k < plan.rot90; k++) remap((i, j) => [j, cols - 1 - i], cols, rows);
  return img;
}

let dir: string;
let source: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'foldtorch-nonsquare-'));
  source = join(dir, 'source.png');
  await sharp(sourcePixels(), { raw: { width: kSide, height: kSide, channels: 3 } })
    .png()
    .toFile(source);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('decoding to [height, width]', () => {
  test('resizeSizeFor transposes a non-square size for odd quarter turns only', () => {
    expect(resizeSizeFor([4, 6], { hflip: true, vflip: false, rot90: 1 })).toEqual([6, 4]);
    expect(resizeSizeFor([4, 6], { hflip: false, vflip: true, rot90: 2 })).toEqual([4, 6]);
    expect(resizeSizeFor([5, 5], { hflip: false, vflip: false, rot90: 3 })).toEqual([5, 5]);
  });

  test('every plan gives [4, 6]: the plan applied to the source resized to the size it turns into place', async () => {
    for (const plan of kAllPlans) {
      const rgb = await decodeImage(source, { size: [4, 6], interpolation: 'nearest' }, plan);
      const resized = resizeSizeFor([4, 6], plan);
      const expected = orientReference(nearestResize(sourcePixels(), [kSide, kSide], resized), resized, plan);
      expect([plan, rgb.length, rgb.equals(expected)]).toEqual([plan, 4 * 6 * 3, true]);
    }
  });

  test('the native orientation of a non-square image matches np.rot90 and the flips, for all 16 plans', async () => {
    const plain = nearestResize(sourcePixels(), [kSide, kSide], [4, 6]);
    for (const plan of kAllPlans) {
      const turned = await augmentRgb(plain, [4, 6], plan);
      expect([plan, turned.equals(orientReference(plain, [4, 6], plan))]).toEqual([plan, true]);
    }
    expect(() => loadAddon().orientPixels(plain, [6, 6], kAllPlans[1])).toThrow(
      'Expected 108 bytes (height × width RGB) for orientPixels rgb but received 72',
    );
  });

  test('the cache keys height and width apart', () => {
    const key = (size: [number, number]) => DecodedCache.key('/a.png', { size, interpolation: 'nearest' });
    expect(key([4, 6])).toBe('4x6|nearest|/a.png');
    expect(key([6, 4])).not.toBe(key([4, 6]));
  });

  test('a size that is not a side or [height, width] is refused by name', async () => {
    await expect(decodeImage(source, { size: [4, 0] as never, interpolation: 'nearest' })).rejects.toThrow(
      'Expected an integer from 1 to 8192 for size[1] but received 0',
    );
    await expect(decodeImage(source, { size: [4] as never, interpolation: 'nearest' })).rejects.toThrow(
      'Expected an integer or [height, width] for size but received an array of length 1',
    );
  });
});

const fastPathTest = loadAddon().jpegFastPath ? test : test.skip;

fastPathTest("the JPEG fast path takes a 24×16 JPEG for [16, 24] and, turned, for [24, 16], with sharp's pixels", async () => {
  const file = join(dir, 'wide.jpg');
  await sharp({ create: { width: 24, height: 16, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 70 } } })
    .jpeg({ quality: 90 })
    .toFile(file);
  expect(await loadAddon().decodeJpegExact(readFileSync(file), [16, 24], kAllPlans[0])).not.toBeNull();
  expect(await loadAddon().decodeJpegExact(readFileSync(file), [24, 16], kAllPlans[0])).toBeNull();
  for (const plan of kAllPlans) {
    const size: [number, number] = plan.rot90 % 2 ? [24, 16] : [16, 24];
    const fast = await decodeImage(file, { size, interpolation: 'bicubic' }, plan);
    const general = await decodeImage(file, { size, interpolation: 'bicubic', fastPath: false }, plan);
    expect([plan, fast.length, fast.equals(general)]).toEqual([plan, 16 * 24 * 3, true]);
  }
});

describe('the loader with a non-square transform', () => {
  const transform: TransformConfig = {
    size: [6, 9],
    interpolation: 'bilinear',
    mean: [0.5, 0.5, 0.5],
    std: [0.5, 0.5, 0.5],
    augment: kSeedAugment,
  };
  const collect = async (iterator: AsyncGenerator<Batch>) => {
    const out: Batch[] = [];
    for await (const batch of iterator) out.push(batch);
    return out;
  };

  test('batches are [n, 6, 9, 3]; cached and uncached paths give the same bytes as decoding each image with its plan', async () => {
    const items: LoaderItem[] = [];
    for (let i = 0; i < 6; i++) {
      const path = join(dir, `item${i}.png`);
      const data = sourcePixels().map((v, k) => (k % 3 === 2 ? 40 * i : v));
      await sharp(Buffer.from(data), { raw: { width: kSide, height: kSide, channels: 3 } })
        .png()
        .toFile(path);
      items.push({ path, label: i % 2 });
    }
    const order = [0, 1, 2, 3, 4, 5, 1, 2];
    const options = { transform, batchSize: 4, seed: 3, epoch: 1 };
    const uncached = await collect(loadBatches(items, order, options));
    const cached = await collect(loadBatches(items, order, { ...options, cache: new DecodedCache() }));
    expect(uncached.map((b) => b.shape)).toEqual([
      [4, 6, 9, 3],
      [4, 6, 9, 3],
    ]);
    for (let b = 0; b < 2; b++) expect(cached[b].data.equals(uncached[b].data)).toBe(true);
    const plans = order.map((_, k) => planAugment(kSeedAugment, 3, 1, k));
    expect(plans.some((p) => p.rot90 % 2 === 1)).toBe(true); // the seed's plans include odd turns here
    for (let k = 0; k < order.length; k++) {
      const expected = await decodeImage(items[order[k]].path, { size: [6, 9], interpolation: 'bilinear' }, plans[k]);
      const batch = uncached[Math.floor(k / 4)];
      expect(batch.data.subarray((k % 4) * 162, ((k % 4) + 1) * 162).equals(expected)).toBe(true);
    }
  });
});

test('the affine jitter stays a rotation in pixels on a non-square image (aspect = height / width)', () => {
  const config = { affine: 1, scale: 1, shift: 0, rotate: 30 };
  const square = affineMatrices(config, 5, 0, [0])!;
  const wide = affineMatrices(config, 5, 0, [0], 0.5)!;
  const [c, minusS, , s] = square;
  expect(wide[0]).toBeCloseTo(c, 6);
  expect(wide[1]).toBeCloseTo(minusS * 0.5, 6);
  expect(wide[3]).toBeCloseTo(s / 0.5, 6);
  // A pixel offset (dx, dy) from the centre of a 40-wide, 20-tall image keeps its length through the map.
  const [dx, dy] = [7, 3];
  const [xn, yn] = [dx / 20, dy / 10];
  const [xo, yo] = [wide[0] * xn + wide[1] * yn, wide[3] * xn + wide[4] * yn];
  expect(Math.hypot(xo * 20, yo * 10)).toBeCloseTo(Math.hypot(dx, dy), 4);
});

describe('TTA quarter turns on a non-square input', () => {
  const model = (fixedSize: boolean) => ({
    name: fixedSize ? 'eva02_tiny_patch14_224' : 'tf_efficientnet_lite0',
    imgSize: [56, 84] as [number, number],
    input: { size: [56, 84] as [number, number], fixedSize, minSize: 1, sizeMultiple: 1, channelsLast: false },
  });

  test('a fixed-size model refuses rot90 views with the reason and the way out', () => {
    expect(() => checkTtaFitsModel('hflip,vflip,rot90', model(true))).toThrow(
      'Expected views without quarter turns for eva02_tiny_patch14_224 at imgSize [56, 84]: a quarter turn makes the input [84, 56], ' +
        'and the model takes only its own size (use hflip,vflip, or a square imgSize) for tta but received "hflip,vflip,rot90"',
    );
    expect(() => checkTtaFitsModel('rot90=180', model(true))).not.toThrow();
    expect(() => checkTtaFitsModel('hflip,vflip', model(true))).not.toThrow();
  });

  test('a model that takes any size sees the transposed views', () => {
    expect(() => checkTtaFitsModel('hflip,vflip,rot90', model(false))).not.toThrow();
  });
});
