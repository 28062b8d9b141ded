/** Parity kind `imbalanced_sampler`: ImbalancedDatasetSampler weights against torchsampler (exact float64). */
import { join } from 'node:path';
import { imbalancedWeights } from '../data/sampler';
import { maxAbsDiff, readFixtureJson } from './fixture';
import type { ParityKind } from './kind';

interface SamplerCase {
  labels: number[];
  indices_arg: number[] | null;
  num_samples_arg: number | null;
  len_sampler: number;
  weights: number[];
}

export const imbalancedSamplerParity: ParityKind = {
  name: 'imbalanced_sampler',
  fixtures: (fileNames) => (fileNames.includes('imbalanced_sampler.json') ? ['imbalanced_sampler'] : []),
  async run(dir, fixture) {
    const data = readFixtureJson<{ cases: Record<string, SamplerCase> }>(join(dir, `${fixture}.json`));
    return Object.entries(data.cases).flatMap(([name, c]) => {
      const weights = imbalancedWeights(c.labels, c.indices_arg ?? undefined);
      const length = c.num_samples_arg ?? weights.length;
      const error = weights.length === c.weights.length ? maxAbsDiff(weights, c.weights) : Infinity;
      return [
        { fixture, check: `${name}.weights`, pass: error === 0, maxError: error, tolerance: 0 },
        { fixture, check: `${name}.len`, pass: length === c.len_sampler, maxError: Math.abs(length - c.len_sampler), tolerance: 0 },
      ];
    });
  },
};
