import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { kSeedAugment, planAugment, type TransformConfig } from '../../../src/data/augment';
import { decodeImage, DecodedCache } from '../../../src/data/image';
import { type Batch, loadBatches, type LoaderItem, loadInOrder } from '../../../src/data/loader';
import { writeAlphaPng, writeCmykJpeg, writeExifRotatedJpeg, writeGreyPng } from './images';

const size = 8;
const transform: TransformConfig = {
  size,
  interpolation: 'bilinear',
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
  augment: kSeedAugment,
};
let dir: string;
let items: LoaderItem[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'foldtorch-loader-'));
  items = [];
  for (let i = 0; i < 7; i++) {
    // 12×10 source, so every image is also squash-resized; the blue channel tells images apart.
    const data = Buffer.alloc(12 * 10 * 3);
    for (let p = 0; p < 120; p++) data.set([(p % 12) * 20, Math.floor(p / 12) * 25, i * 30], p * 3);
    const path = join(dir, `img${i}.${i % 2 ? 'png' : 'webp'}`);
    const image = sharp(data, { raw: { width: 12, height: 10, channels: 3 } });
    await (i % 2 ? image.png() : image.webp({ lossless: true })).toFile(path);
    items.push({ path, label: i % 2 });
  }
  items.push({ path: await writeAlphaPng(join(dir, 'alpha.png')), label: 0 });
  items.push({ path: await writeGreyPng(join(dir, 'grey.png'), 90), label: 1 });
  items.push({ path: await writeCmykJpeg(join(dir, 'cmyk.jpg')), label: 0 });
  items.push({ path: await writeExifRotatedJpeg(join(dir, 'exif.jpg')), label: 1 });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function collect(iterator: AsyncGenerator<Batch>): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const batch of iterator) out.push(batch);
  return out;
}

const order = [3, 0, 10, 10, 7, 1, 9, 2, 8, 5, 4, 6, 3];

describe('loadBatches', () => {
  test('packs NHWC uint8 batches equal to per-image decodes with the planned augmentation', async () => {
    const batches = await collect(loadBatches(items, order, { transform, batchSize: 5, seed: 11, epoch: 2 }));
    expect(batches.map((b) => b.shape)).toEqual([
      [5, 8, 8, 3],
      [5, 8, 8, 3],
      [3, 8, 8, 3],
    ]);
    expect(batches.map((b) => b.index)).toEqual([0, 1, 2]);
    expect(batches.flatMap((b) => b.positions)).toEqual(order);
    expect(batches.flatMap((b) => Array.from(b.labels))).toEqual(order.map((p) => items[p].label));
    expect(batches[0].mean).toEqual(transform.mean);
    expect(batches[0].std).toEqual(transform.std);
    const expected: Buffer[] = [];
    for (const [k, position] of order.entries()) {
      const plan = planAugment(kSeedAugment, 11, 2, k);
      expect(batches[Math.floor(k / 5)].plans[k % 5]).toEqual(plan);
      expected.push(await decodeImage(items[position].path, { size, interpolation: 'bilinear' }, plan));
    }
    expect(Buffer.concat(batches.map((b) => b.data)).equals(Buffer.concat(expected))).toBe(true);
    // The same sample drawn twice in an epoch (position 10 at draws 2 and 3) gets independent plans.
    expect(batches[0].plans[2]).not.toEqual(batches[0].plans[3]);
  });

  test('a data-parallel shard plans its k-th draw as draw k × worldSize + rank of the whole epoch', async () => {
    const shard = await collect(
      loadBatches(items, order.slice(0, 6), { transform, batchSize: 4, seed: 11, epoch: 2, shard: { rank: 1, worldSize: 3 } }),
    );
    expect(shard.flatMap((b) => b.plans)).toEqual([0, 1, 2, 3, 4, 5].map((k) => planAugment(kSeedAugment, 11, 2, 3 * k + 1)));
    const single = await collect(
      loadBatches(items, order.slice(0, 6), { transform, batchSize: 4, seed: 11, epoch: 2, shard: { rank: 0, worldSize: 1 } }),
    );
    expect(single.flatMap((b) => b.plans)).toEqual([0, 1, 2, 3, 4, 5].map((k) => planAugment(kSeedAugment, 11, 2, k)));
    await expect(
      loadBatches(items, order, { transform, batchSize: 4, seed: 1, epoch: 0, shard: { rank: 3, worldSize: 3 } }).next(),
    ).rejects.toThrow('Expected an integer from 0 to 2 for shard.rank but received 3');
  });

  test('dropLast, prefetch depth and concurrency do not change the content', async () => {
    const reference = await collect(loadBatches(items, order, { transform, batchSize: 4, seed: 1, epoch: 0 }));
    const variant = await collect(
      loadBatches(items, order, { transform, batchSize: 4, seed: 1, epoch: 0, prefetch: 5, concurrency: 1, dropLast: true }),
    );
    expect(variant.map((b) => b.shape[0])).toEqual([4, 4, 4]);
    variant.forEach((batch, i) => expect(batch.data.equals(reference[i].data)).toBe(true));
  });

  test('the decoded cache gives the same bytes and fills once per image', async () => {
    const cache = new DecodedCache();
    for (const epoch of [0, 1]) {
      const plain = await collect(loadBatches(items, order, { transform, batchSize: 6, seed: 3, epoch }));
      const cached = await collect(loadBatches(items, order, { transform, batchSize: 6, seed: 3, epoch, cache }));
      cached.forEach((batch, i) => expect(batch.data.equals(plain[i].data)).toBe(true));
    }
    expect(cache.size).toBe(new Set(order).size);
    expect(cache.byteLength).toBe(new Set(order).size * size * size * 3);
  });

  test('a consumer may stop early', async () => {
    let seen = 0;
    for await (const batch of loadBatches(items, order, { transform, batchSize: 2, seed: 0, epoch: 0, prefetch: 3 })) {
      seen += batch.shape[0];
      break;
    }
    expect(seen).toBe(2);
  });

  test('a broken image fails its batch with the file name', async () => {
    const broken = join(dir, 'broken.jpg');
    writeFileSync(broken, 'nope');
    const withBroken = [...items, { path: broken, label: 0 }];
    await expect(collect(loadBatches(withBroken, [0, 1, 2, 11], { transform, batchSize: 2, seed: 0, epoch: 0 }))).rejects.toThrow(
      `${broken}: not an image in a format sharp reads`,
    );
  });

  test.each([
    [{ batchSize: 0, seed: 0, epoch: 0 }, 'Expected an integer from 1 to 9007199254740991 for batchSize but received 0'],
    [{ batchSize: 2 }, 'Expected integers when transform.augment is set for seed and epoch but received undefined'],
    [{ batchSize: 2, seed: 0, epoch: 0, prefetch: 0 }, 'Expected an integer from 1 to 64 for prefetch but received 0'],
    [{ batchSize: 2, seed: 0, epoch: 0, concurrency: 0 }, 'Expected an integer from 1 to 256 for concurrency but received 0'],
    [{ batchSize: 2, seed: 0, epoch: 0, cache: {} }, 'Expected a DecodedCache for cache but received an object (Object)'],
  ])('options %#', async (options, message) => {
    await expect(collect(loadBatches(items, order, { transform, ...options } as never))).rejects.toThrow(message);
  });

  test('order entries must be dataset positions', async () => {
    await expect(collect(loadBatches(items, [0, 11], { transform, batchSize: 2, seed: 0, epoch: 0 }))).rejects.toThrow(
      'Expected an integer from 0 to 10 for order[1] but received 11',
    );
  });
});

describe('loadInOrder', () => {
  test('every item once, in order, unaugmented', async () => {
    const plainTransform = { ...transform, augment: null };
    const batches = await collect(loadInOrder(items, { transform: plainTransform, batchSize: 4 }));
    expect(batches.flatMap((b) => b.positions)).toEqual(items.map((_, i) => i));
    expect(batches.every((b) => b.plans.every((p) => !p.hflip && !p.vflip && p.rot90 === 0))).toBe(true);
    const first = await decodeImage(items[0].path, { size, interpolation: 'bilinear' });
    expect(batches[0].data.subarray(0, first.length).equals(first)).toBe(true);
  });

  test('refuses an augmenting transform', () => {
    expect(() => loadInOrder(items, { transform, batchSize: 4 })).toThrow(
      'Expected null for in-order evaluation loading (TTA is applied by the predictor) for transform.augment',
    );
  });
});
