import { join } from 'node:path';
import { readFixtureJson } from '../../../src/parity/fixture';
import { pairwiseSum, RandomState } from '../../../src/data/random';
import { goldenDir } from './golden';

interface RngCheck {
  rng_check: Record<string, number[]>;
}

const check = readFixtureJson<RngCheck>(join(goldenDir(), 'sklearn_metrics.json')).rng_check;

describe('RandomState (numpy legacy MT19937)', () => {
  test('first 16 raw outputs of RandomState(42) equal the golden rng_check', () => {
    const rng = new RandomState(42);
    const raw = Array.from({ length: 16 }, () => rng.nextUint32());
    expect(raw).toEqual(check['RandomState(42) first 16 raw MT19937 uint32 outputs']);
    expect(raw[0]).toBe(1608637542);
  });

  test('shuffle equals RandomState(42).shuffle on both golden arrays', () => {
    const a = Array.from({ length: 10 }, (_, i) => i);
    new RandomState(42).shuffle(a);
    expect(a).toEqual(check['RandomState(42).shuffle(arange(10))']);
    const b = [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 4, 4];
    new RandomState(42).shuffle(b);
    expect(b).toEqual(check['RandomState(42).shuffle(arange(5).repeat([3,3,3,2,2]))']);
  });

  // Reference values printed by numpy 2.4 (legacy RandomState is frozen across numpy versions).
  test('array seeds, random_sample, randint and choice match numpy', () => {
    const rng = new RandomState([7, 3, 11]);
    expect(rng.randomSample()).toBe(0.6165463692317361);
    expect(rng.randomSample()).toBe(0.3908356868892362);
    expect(rng.randomInterval(3)).toBe(1);
    const w = Array.from({ length: 1000 }, (_, i) => 1 / (1 + (i % 7)));
    const total = pairwiseSum(w);
    expect(total).toBe(370.63571428571436);
    expect(
      new RandomState([1, 2]).choice(
        w.map((x) => x / total),
        10,
      ),
    ).toEqual([582, 258, 399, 728, 945, 783, 651, 553, 414, 700]);
  });

  test('permutation is a shuffled arange', () => {
    expect(new RandomState(42).permutation(10)).toEqual(check['RandomState(42).shuffle(arange(10))']);
  });

  test('pairwiseSum follows numpy blocking (differs from a sequential sum)', () => {
    const values = Array.from({ length: 300 }, (_, i) => 0.1 * ((i * 7919) % 13) + 1e-3 * i);
    let sequential = 0;
    for (const v of values) sequential += v;
    expect(Math.abs(pairwiseSum(values) - sequential)).toBeLessThan(1e-9);
    expect(pairwiseSum([1, 2, 3])).toBe(6);
    expect(pairwiseSum([])).toBe(-0);
  });

  test('rejects seeds outside 0..2^32-1', () => {
    expect(() => new RandomState(-1)).toThrow('Expected an integer from 0 to 4294967295 for seed but received -1');
    expect(() => new RandomState(2 ** 32)).toThrow('for seed but received 4294967296');
    expect(() => new RandomState([1, 0.5])).toThrow('for seed[1] but received 0.5');
    expect(() => new RandomState([])).toThrow('Expected a non-empty seed array for seed but received an array of length 0');
  });
});
