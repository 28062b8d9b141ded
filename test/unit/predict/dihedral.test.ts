import {
  composeDihedral, dihedralKey, dihedralName, dihedralOfOps, identityElement, opsOfView, viewLabel, viewOfDihedral,
  type Dihedral, type QuarterTurns,
} from '../../../src/predict/dihedral';
import { applyViewToImage } from '../../../src/predict/viewImage';

const all: Dihedral[] = [false, true].flatMap((flip) => [0, 1, 2, 3].map((rot) => ({ rot: rot as QuarterTurns, flip })));

// A 1×1×3×4 image of distinct values: any two different symmetries move its pixels differently.
const image = Float32Array.from({ length: 12 }, (_, i) => i);
const act = (d: Dihedral, data = image, shape = [1, 1, 3, 4]) => applyViewToImage(data, shape, viewOfDihedral(d));

describe('dihedral group', () => {
  test('hflip∘vflip = vflip∘hflip = rot180, the identity behind TTA dedup', () => {
    expect(dihedralOfOps([{ op: 'hflip' }, { op: 'vflip' }])).toEqual({ rot: 2, flip: false });
    expect(dihedralOfOps([{ op: 'vflip' }, { op: 'hflip' }])).toEqual({ rot: 2, flip: false });
    expect(dihedralOfOps([{ op: 'rot90', k: 1 }, { op: 'rot90', k: 3 }])).toEqual(identityElement);
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
    const seen = new Set(all.map((d) => { const r = act(d); return `${r.shape}:${Array.from(r.data)}`; }));
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
    expect(all.map(dihedralName)).toEqual(
      ['identity', 'rot90', 'rot180', 'rot270', 'hflip', 'transpose', 'vflip', 'anti-transpose']);
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
