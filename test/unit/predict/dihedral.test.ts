import { readFileSync } from 'node:fs';
import {
  applyViewToImage,
  composeDihedral,
  dihedralKey,
  dihedralName,
  dihedralOfOps,
  identityElement,
  opsOfView,
  viewLabel,
  viewOfDihedral,
  type Dihedral,
  type QuarterTurns,
} from '../../../src/predict/dihedral';
import { seedTtaSpec, ttachViews } from '../../../src/predict/tta';
import { goldenFile } from '../metrics/golden';

const all: Dihedral[] = [false, true].flatMap((flip) => [0, 1, 2, 3].map((rot) => ({ rot: rot as QuarterTurns, flip })));

// A 1×1×3×4 image of distinct values: any two different symmetries move its pixels differently.
const image = Float32Array.from({ length: 12 }, (_, i) => i);
const act = (d: Dihedral, data = image, shape = [1, 1, 3, 4]) => applyViewToImage(data, shape, viewOfDihedral(d));

describe('dihedral group', () => {
  test('hflip∘vflip = vflip∘hflip = rot180, the identity behind TTA dedup', () => {
    expect(dihedralOfOps([{ op: 'hflip' }, { op: 'vflip' }])).toEqual({ rot: 2, flip: false });
    expect(dihedralOfOps([{ op: 'vflip' }, { op: 'hflip' }])).toEqual({ rot: 2, flip: false });
    expect(
      dihedralOfOps([
        { op: 'rot90', k: 1 },
        { op: 'rot90', k: 3 },
      ]),
    ).toEqual(identityElement);
    expect(dihedralOfOps([])).toEqual(identityElement);
  });

  test('composition agrees with the pixels for all 64 pairs', () => {
    for (const a of all) {
      for (const b of all) {
        const ab = act(composeDihedral(a, b));
        const first = act(b);
        const then = act(a, first.data, first.shape);
        expect(ab.shape).toEqual(then.shape);
        expect(Array.from(ab.data)).toEqual(Array.from(then.data));
      }
    }
  });

  test('the 8 elements move pixels in 8 different ways', () => {
    const seen = new Set(
      all.map((d) => {
        const r = act(d);
        return `${r.shape}:${Array.from(r.data)}`;
      }),
    );
    expect(seen.size).toBe(8);
  });

  test('every element has an inverse; composition is associative', () => {
    for (const a of all) {
      expect(all.filter((b) => dihedralKey(composeDihedral(a, b)) === 'r0')).toHaveLength(1);
      for (const b of all) {
        for (const c of all) {
          expect(composeDihedral(composeDihedral(a, b), c)).toEqual(composeDihedral(a, composeDihedral(b, c)));
        }
      }
    }
  });

  test('names and keys', () => {
    expect(all.map(dihedralName)).toEqual(['identity', 'rot90', 'rot180', 'rot270', 'hflip', 'transpose', 'vflip', 'anti-transpose']);
    expect(all.map(dihedralKey)).toEqual(['r0', 'r1', 'r2', 'r3', 'r0f', 'r1f', 'r2f', 'r3f']);
    // hflip then rot90 is the transpose: out[i][j] = in[j][i].
    expect(Array.from(act({ rot: 1, flip: true }).data)).toEqual([0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
  });

  test('views, ops and labels', () => {
    expect(opsOfView({ hflip: true, vflip: true, rot: 3 })).toEqual([{ op: 'hflip' }, { op: 'vflip' }, { op: 'rot90', k: 3 }]);
    expect(opsOfView({ hflip: false, vflip: false, rot: 0 })).toEqual([]);
    expect(viewOfDihedral({ rot: 2, flip: true })).toEqual({ hflip: true, vflip: false, rot: 2 });
    expect(viewLabel({ hflip: true, vflip: false, rot: 1 })).toBe('hflip+rot90');
    expect(viewLabel({ hflip: false, vflip: true, rot: 3 })).toBe('vflip+rot270');
    expect(viewLabel({ hflip: false, vflip: false, rot: 0 })).toBe('identity');
  });
});

const index = Float32Array.from({ length: 12 }, (_, i) => i); // ttach.json's index_image [1, 1, 3, 4]

describe('applyViewToImage', () => {
  test('single ops on the 3×4 index image (rot90 is counter-clockwise, as torch.rot90 dims=(2,3))', () => {
    const apply = (view: Parameters<typeof applyViewToImage>[2]) => {
      const r = applyViewToImage(index, [1, 1, 3, 4], view);
      return { shape: r.shape, data: Array.from(r.data) };
    };
    expect(apply({ hflip: true, vflip: false, rot: 0 })).toEqual({ shape: [1, 1, 3, 4], data: [3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8] });
    expect(apply({ hflip: false, vflip: true, rot: 0 })).toEqual({ shape: [1, 1, 3, 4], data: [8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3] });
    expect(apply({ hflip: false, vflip: false, rot: 1 })).toEqual({ shape: [1, 1, 4, 3], data: [3, 7, 11, 2, 6, 10, 1, 5, 9, 0, 4, 8] });
    expect(apply({ hflip: false, vflip: false, rot: 3 })).toEqual({ shape: [1, 1, 4, 3], data: [8, 4, 0, 9, 5, 1, 10, 6, 2, 11, 7, 3] });
    expect(apply([{ op: 'rot90', k: 2 }])).toEqual({ shape: [1, 1, 3, 4], data: [11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0] });
  });

  test('the 16 seed views reproduce ttach.json index_image_per_view exactly', () => {
    const json = JSON.parse(readFileSync(goldenFile('ttach.json'), 'utf8'));
    const expected: number[][][] = json.composes.hflip_vflip_rot4.index_image_per_view;
    const views = ttachViews(seedTtaSpec);
    expect(views).toHaveLength(expected.length);
    views.forEach((v, i) => {
      const got = applyViewToImage(index, [1, 1, 3, 4], v.view);
      expect(got.shape.slice(2)).toEqual([expected[i].length, expected[i][0].length]);
      expect(Array.from(got.data)).toEqual(expected[i].flat());
    });
  });

  test('every plane of a batch is transformed on its own; the input is not modified', () => {
    const data = Float32Array.from({ length: 2 * 3 * 2 * 2 }, (_, i) => i);
    const out = applyViewToImage(data, [2, 3, 2, 2], { hflip: true, vflip: false, rot: 0 });
    expect(Array.from(out.data.subarray(0, 8))).toEqual([1, 0, 3, 2, 5, 4, 7, 6]);
    expect(Array.from(out.data.subarray(20))).toEqual([21, 20, 23, 22]);
    expect(data[0]).toBe(0);
  });

  test.each([
    [
      'data type',
      () => applyViewToImage([1] as never, [1, 1, 1, 1], { hflip: true, vflip: false, rot: 0 }),
      'Expected a Float32Array for data but received an array of length 1',
    ],
    [
      'shape rank',
      () => applyViewToImage(index, [3, 4], { hflip: true, vflip: false, rot: 0 }),
      'Expected four positive integers [B, C, H, W] for shape but received an array of length 2',
    ],
    [
      'shape size',
      () => applyViewToImage(index, [1, 1, 4, 4], { hflip: true, vflip: false, rot: 0 }),
      'Expected 16 values for shape [1, 1, 4, 4] for data but received a Float32Array of 48 bytes',
    ],
  ])('validation: %s', (_name, call, message) => {
    expect(call).toThrow(message);
  });
});
