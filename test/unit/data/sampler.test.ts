import { join } from 'node:path';
import { readFixtureJson } from '../../../src/parity/fixture';
import { EpochSampler, imbalancedWeights } from '../../../src/data/sampler';
import { goldenDir } from './golden';

interface SamplerCase {
  labels: number[];
  indices_arg: number[] | null;
  len_sampler: number;
  weights: number[];
}

const golden = readFixtureJson<{ cases: Record<string, SamplerCase> }>(join(goldenDir(), 'imbalanced_sampler.json'));

describe('imbalancedWeights: torchsampler parity', () => {
  for (const [name, c] of Object.entries(golden.cases)) {
    test(`${name}: weights bit-exact`, () => {
      const weights = imbalancedWeights(c.labels, c.indices_arg ?? undefined);
      expect(weights).toBeInstanceOf(Float64Array);
      expect(Array.from(weights)).toEqual(c.weights);
      expect(weights.length).toBe(c.len_sampler);
    });
  }

  test('each class carries total weight 1', () => {
    const weights = imbalancedWeights(golden.cases.competition_1182_pos_994_neg.labels);
    const labels = golden.cases.competition_1182_pos_994_neg.labels;
    const totals = [0, 1].map((cls) => labels.reduce((sum, l, i) => (l === cls ? sum + weights[i] : sum), 0));
    expect(totals[0]).toBeCloseTo(1, 12);
    expect(totals[1]).toBeCloseTo(1, 12);
  });
});

describe('EpochSampler', () => {
  const small = [0, 0, 0, 0, 0, 1, 1, 2, 0, 1];

  // numpy: RandomState([5, 3]).choice(10, 10, p=w / w.sum()) and RandomState([5, 3]).permutation(10).
  test('imbalanced and shuffle epochs equal numpy RandomState([seed, epoch]) draws', () => {
    expect(new EpochSampler(small, { kind: 'imbalanced', seed: 5 }).epoch(3)).toEqual([2, 7, 7, 8, 7, 4, 7, 1, 7, 8]);
    expect(new EpochSampler(small, { kind: 'shuffle', seed: 5 }).epoch(3)).toEqual([3, 9, 8, 0, 5, 7, 1, 4, 2, 6]);
    expect(new EpochSampler(small, { kind: 'sequential', seed: 5 }).epoch(3)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  test('indices are sorted first, so weights and positions stay aligned; numSamples sets the draws', () => {
    const sampler = new EpochSampler(small, { kind: 'imbalanced', seed: 1, indices: [9, 2, 4, 7, 5], numSamples: 8 });
    expect(sampler.indices).toEqual([2, 4, 5, 7, 9]);
    expect(Array.from(sampler.weights)).toEqual([0.5, 0.5, 0.5, 1, 0.5]);
    expect(sampler.epoch(0)).toEqual([2, 9, 7, 4, 5, 5, 7, 7]);
  });

  test('deterministic per (seed, epoch), different across epochs and seeds', () => {
    const labels = golden.cases.competition_1182_pos_994_neg.labels;
    const a = new EpochSampler(labels, { kind: 'imbalanced', seed: 42 });
    expect(a.epoch(1)).toEqual(new EpochSampler(labels, { kind: 'imbalanced', seed: 42 }).epoch(1));
    expect(a.epoch(1)).not.toEqual(a.epoch(2));
    expect(a.epoch(1)).not.toEqual(new EpochSampler(labels, { kind: 'imbalanced', seed: 43 }).epoch(1));
    expect(
      new EpochSampler(labels, { kind: 'shuffle', seed: 42 })
        .epoch(0)
        .slice()
        .sort((x, y) => x - y),
    ).toEqual(labels.map((_, i) => i));
  });

  test('a long draw is balanced between classes within bounds', () => {
    const labels = golden.cases.competition_1182_pos_994_neg.labels;
    const sampler = new EpochSampler(labels, { kind: 'imbalanced', seed: 0 });
    let negatives = 0;
    let total = 0;
    for (let epoch = 0; epoch < 50; epoch++) {
      const draws = sampler.epoch(epoch);
      expect(draws).toHaveLength(2176);
      const epochNegatives = draws.filter((i) => labels[i] === 0).length;
      // One epoch: 2176 draws at p = 0.5 have sd 23; 5 sd bounds.
      expect(Math.abs(epochNegatives - 1088)).toBeLessThan(117);
      negatives += epochNegatives;
      total += draws.length;
    }
    expect(Math.abs(negatives / total - 0.5)).toBeLessThan(0.01);
    // Without the sampler the negative share would be 994/2176 = 0.457.
  });

  test.each([
    [{ kind: 'balanced', seed: 1 }, 'Expected one of imbalanced, shuffle, sequential for kind but received "balanced"'],
    [{ kind: 'shuffle', seed: -1 }, 'Expected an integer from 0 to 4294967295 for seed but received -1'],
    [{ kind: 'shuffle', seed: 1, indices: [0, 10] }, 'Expected an integer from 0 to 9 for indices[1] but received 10'],
    [{ kind: 'shuffle', seed: 1, indices: [] }, 'Expected at least one dataset position for indices but received an array of length 0'],
    [
      { kind: 'shuffle', seed: 1, numSamples: 4 },
      'Expected undefined for the shuffle sampler (it visits each sample once) for numSamples but received 4',
    ],
    [{ kind: 'imbalanced', seed: 1, numSamples: 0 }, 'Expected an integer from 1 to 9007199254740991 for numSamples but received 0'],
  ])('validation %#', (options, message) => {
    expect(() => new EpochSampler(small, options as never)).toThrow(message);
  });

  test('epoch must be a non-negative integer', () => {
    expect(() => new EpochSampler(small, { kind: 'shuffle', seed: 1 }).epoch(1.5)).toThrow(
      'Expected an integer from 0 to 4294967295 for epoch but received 1.5',
    );
  });
});
