import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AugmentPlan,
  checkTransformConfig,
  interpolationOf,
  kSeedAugment,
  planAugment,
  planMapsPixel,
  sharpKernel,
} from '../../../src/data/augment';
import { decodeImage } from '../../../src/data/image';
import { indexPixel, writeIndexPng } from './images';

const allPlans: AugmentPlan[] = [];
for (const hflip of [false, true])
  for (const vflip of [false, true]) for (const rot90 of [0, 1, 2, 3] as const) allPlans.push({ hflip, vflip, rot90 });

function pixel(rgb: Buffer, size: number, x: number, y: number): number[] {
  const o = (y * size + x) * 3;
  return [rgb[o], rgb[o + 1], rgb[o + 2]];
}

describe('planAugment', () => {
  // numpy: rs = RandomState([42, 3, i]); h = rs.random_sample() < .5; v = ...; k = rs.randint(0, 4) if rs.random_sample() < .5 else 0
  test('equals the numpy RandomState([seed, epoch, index]) reference', () => {
    const expected = [
      [0, 0, 0],
      [0, 1, 0],
      [0, 1, 2],
      [1, 0, 1],
      [1, 1, 1],
      [1, 1, 2],
      [0, 1, 1],
      [1, 0, 1],
    ];
    const plans = expected.map((_, i) => planAugment(kSeedAugment, 42, 3, i));
    expect(plans.map((p) => [Number(p.hflip), Number(p.vflip), p.rot90])).toEqual(expected);
  });

  test('deterministic and independent of call order', () => {
    const forward = Array.from({ length: 50 }, (_, i) => planAugment(kSeedAugment, 7, 1, i));
    const backward = Array.from({ length: 50 }, (_, i) => planAugment(kSeedAugment, 7, 1, 49 - i)).reverse();
    expect(backward).toEqual(forward);
    expect(Array.from({ length: 50 }, (_, i) => planAugment(kSeedAugment, 7, 2, i))).not.toEqual(forward);
  });

  test('frequencies follow albumentations: p = 0.5 each, k uniform in 0..3 when rotating', () => {
    const n = 20000;
    let h = 0;
    let v = 0;
    const k = [0, 0, 0, 0];
    for (let i = 0; i < n; i++) {
      const plan = planAugment(kSeedAugment, 1, 0, i);
      h += Number(plan.hflip);
      v += Number(plan.vflip);
      k[plan.rot90]++;
    }
    // sd of a share at n = 20000 is at most 0.0035; bounds are ~5 sd.
    expect(Math.abs(h / n - 0.5)).toBeLessThan(0.018);
    expect(Math.abs(v / n - 0.5)).toBeLessThan(0.018);
    expect(Math.abs(k[0] / n - 0.625)).toBeLessThan(0.018);
    for (const q of [1, 2, 3]) expect(Math.abs(k[q] / n - 0.125)).toBeLessThan(0.012);
  });

  test('probabilities 0 and 1 and a null config', () => {
    expect(planAugment({ hflip: 1, vflip: 0, rotate90: 0 }, 0, 0, 5)).toEqual({ hflip: true, vflip: false, rot90: 0 });
    expect(planAugment(null, 0, 0, 5)).toEqual({ hflip: false, vflip: false, rot90: 0 });
    expect(() => planAugment(kSeedAugment, 0, -1, 0)).toThrow('Expected an integer from 0 to 4294967295 for epoch but received -1');
  });
});

describe('geometric meaning on pixel positions (decoded by sharp)', () => {
  const size = 5;
  let dir: string;
  let png: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'foldtorch-aug-'));
    png = await writeIndexPng(join(dir, 'index.png'), size);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const decode = (plan: AugmentPlan) => decodeImage(png, { size, interpolation: 'nearest' }, plan);

  test('hflip mirrors left-right: out[y][x] = in[y][size-1-x]', async () => {
    const out = await decode({ hflip: true, vflip: false, rot90: 0 });
    expect(pixel(out, size, 0, 2)).toEqual(indexPixel(4, 2));
    expect(pixel(out, size, 1, 0)).toEqual(indexPixel(3, 0));
  });

  test('vflip mirrors top-bottom: out[y][x] = in[size-1-y][x]', async () => {
    const out = await decode({ hflip: false, vflip: true, rot90: 0 });
    expect(pixel(out, size, 2, 0)).toEqual(indexPixel(2, 4));
    expect(pixel(out, size, 0, 1)).toEqual(indexPixel(0, 3));
  });

  test('rot90 k=1 is counter-clockwise like np.rot90: the top-right corner moves to the top-left', async () => {
    const out = await decode({ hflip: false, vflip: false, rot90: 1 });
    // np.rot90(a)[i][j] = a[j][W-1-i]
    expect(pixel(out, size, 0, 0)).toEqual(indexPixel(4, 0));
    expect(pixel(out, size, 0, 4)).toEqual(indexPixel(0, 0));
    expect(pixel(out, size, 4, 4)).toEqual(indexPixel(0, 4));
    expect(pixel(out, size, 3, 1)).toEqual(indexPixel(3, 3));
  });

  test('every one of the 16 plans moves each pixel where planMapsPixel says', async () => {
    for (const plan of allPlans) {
      const out = await decode(plan);
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          const [tx, ty] = planMapsPixel(plan, size, x, y);
          expect([plan, tx, ty, pixel(out, size, tx, ty)]).toEqual([plan, tx, ty, indexPixel(x, y)]);
        }
      }
    }
  });

  test('order is flips first, then the rotation (hflip + rot90 differs from rot90 + hflip)', () => {
    expect(planMapsPixel({ hflip: true, vflip: false, rot90: 1 }, 5, 0, 0)).toEqual([0, 0]);
    expect(planMapsPixel({ hflip: false, vflip: false, rot90: 1 }, 5, 4, 0)).toEqual([0, 0]);
  });
});

describe('transform config', () => {
  const good = { size: 448, interpolation: 'bicubic', mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25], augment: kSeedAugment } as const;

  test('kernels', () => {
    expect(['nearest', 'bilinear', 'bicubic', 'lanczos'].map((i) => sharpKernel(i as never))).toEqual([
      'nearest',
      'linear',
      'cubic',
      'lanczos3',
    ]);
  });

  test.each([
    [{ size: 0 }, 'Expected an integer from 1 to 8192 for transform.size but received 0'],
    [{ interpolation: 'area' }, 'Expected one of nearest, bilinear, bicubic, lanczos for transform.interpolation but received "area"'],
    [{ mean: [0.5, 0.5] }, 'Expected an array of 3 numbers for transform.mean but received an array of length 2'],
    [{ std: [0.2, 0, 0.2] }, 'Expected a number greater than 0 for transform.std[1] but received 0'],
    [{ augment: { hflip: 2, vflip: 0, rotate90: 0 } }, 'Expected a number from 0 to 1 for transform.augment.hflip but received 2'],
    [{ augment: 'yes' }, 'Expected an object with hflip, vflip, rotate90 for transform.augment but received "yes"'],
  ])('rejects %j', (patch, message) => {
    expect(() => checkTransformConfig({ ...good, ...patch } as never)).toThrow(message);
  });

  test('accepts the seed transform and a null augment', () => {
    expect(checkTransformConfig(good)).toEqual({ ...good, size: [good.size, good.size] });
    expect(checkTransformConfig({ ...good, size: [96, 128] }).size).toEqual([96, 128]);
    expect(checkTransformConfig({ ...good, augment: null }).augment).toBeNull();
  });
});

test("interpolationOf: bilinear where the pretrained config says so, else bicubic (timm's default)", () => {
  expect(interpolationOf({ interpolation: 'bilinear' })).toBe('bilinear');
  expect(interpolationOf({ interpolation: 'bicubic' })).toBe('bicubic');
  expect(interpolationOf({ interpolation: '' })).toBe('bicubic');
});
