import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parityKinds } from '../../../src/parity/kinds';
import { imbalancedSamplerParity } from '../../../src/parity/sampler';
import { sklearnFoldsParity } from '../../../src/parity/sklearn';
import { goldenDir } from './golden';

describe('parity kinds sklearn_folds and imbalanced_sampler', () => {
  test('are registered', () => {
    expect(parityKinds).toContain(sklearnFoldsParity);
    expect(parityKinds).toContain(imbalancedSamplerParity);
  });

  test('recognise their fixture files', () => {
    expect(sklearnFoldsParity.fixtures(['a.json', 'sklearn_metrics.json'])).toEqual(['sklearn_metrics']);
    expect(imbalancedSamplerParity.fixtures(['imbalanced_sampler.json'])).toEqual(['imbalanced_sampler']);
    expect(imbalancedSamplerParity.fixtures(['cce.json'])).toEqual([]);
  });

  test('all checks pass on the golden folder', async () => {
    const folds = await sklearnFoldsParity.run(goldenDir(), 'sklearn_metrics', { device: 'cpu' });
    expect(folds.map((r) => r.check)).toEqual(
      expect.arrayContaining(['rng_check.raw_outputs', 'stratified_kfold.competition_shuffled_RandomState0.test_fold']),
    );
    expect(folds).toHaveLength(3 + 6 * 3);
    expect(folds.filter((r) => !r.pass)).toEqual([]);
    const sampler = await imbalancedSamplerParity.run(goldenDir(), 'imbalanced_sampler', { device: 'cpu' });
    expect(sampler).toHaveLength(6);
    expect(sampler.filter((r) => !r.pass)).toEqual([]);
  });

  test('a changed fixture fails with the count of misplaced samples', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'foldtorch-parity-'));
    try {
      const data = JSON.parse(readFileSync(join(goldenDir(), 'sklearn_metrics.json'), 'utf8'));
      data.stratified_kfold.small_odd_11.test_fold_of_sample[0] = 4;
      data.stratified_kfold.small_odd_11.test_fold_of_sample[1] = 4;
      writeFileSync(join(dir, 'sklearn_metrics.json'), JSON.stringify(data));
      const failed = (await sklearnFoldsParity.run(dir, 'sklearn_metrics', { device: 'cpu' })).filter((r) => !r.pass);
      expect(failed).toEqual([
        {
          fixture: 'sklearn_metrics',
          check: 'stratified_kfold.small_odd_11.test_fold',
          pass: false,
          maxError: 2,
          tolerance: 0,
          detail: 'samples in a different fold',
        },
      ]);
      const sampler = JSON.parse(readFileSync(join(goldenDir(), 'imbalanced_sampler.json'), 'utf8'));
      sampler.cases.three_class_small.weights[7] = 0.5;
      writeFileSync(join(dir, 'imbalanced_sampler.json'), JSON.stringify(sampler));
      const bad = (await imbalancedSamplerParity.run(dir, 'imbalanced_sampler', { device: 'cpu' })).filter((r) => !r.pass);
      expect(bad.map((r) => [r.check, r.maxError])).toEqual([['three_class_small.weights', 0.5]]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
