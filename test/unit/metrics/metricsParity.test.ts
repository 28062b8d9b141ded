import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parityKinds } from '../../../src/parity/kinds';
import { sklearnMetricsParity } from '../../../src/parity/metrics';
import { goldenDir, goldenFile } from './golden';

describe('parity kind sklearn_metrics', () => {
  test('is registered and finds its fixture', () => {
    expect(parityKinds).toContain(sklearnMetricsParity);
    expect(sklearnMetricsParity.name).toBe('sklearn_metrics');
    expect(sklearnMetricsParity.fixtures(['sklearn_metrics.json', 'ttach.json'])).toEqual(['sklearn_metrics']);
  });

  test('every AUC and confusion case passes on the golden fixture', async () => {
    goldenFile('sklearn_metrics.json');
    const results = await sklearnMetricsParity.run(goldenDir, 'sklearn_metrics', { device: 'cpu' });
    expect(results.filter((r) => !r.pass)).toEqual([]);
    expect(results.map((r) => r.check)).toEqual(
      expect.arrayContaining([
        'roc_auc_score.integer_scores_many_ties',
        'roc_auc_score.one_class_only.error',
        'roc_auc_score.random_300_rounded_2dp.roc_curve_len',
        'confusion_matrix.binary.scores',
        'confusion_matrix.binary_normalize_true',
      ]),
    );
    expect(results).toHaveLength(26);
  });

  test('reports disagreements and unsupported cases without stopping', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sklearn-'));
    try {
      const json = JSON.parse(readFileSync(goldenFile('sklearn_metrics.json'), 'utf8'));
      json.roc_auc_score.simple.roc_auc += 1e-9;
      json.roc_auc_score.perfect.kwargs = { average: 'macro' };
      json.roc_auc_score.one_class_only.error = 'ValueError: something else';
      json.confusion_matrix.binary.confusion_matrix = [
        [3, 1, 0],
        [1, 4, 0],
      ];
      json.confusion_matrix.multiclass_missing_pred.y_pred = [0];
      writeFileSync(join(dir, 'sklearn_metrics.json'), JSON.stringify(json));
      const results = await sklearnMetricsParity.run(dir, 'sklearn_metrics', { device: 'cpu' });
      expect(results.filter((r) => !r.pass).map((r) => [r.check, r.detail])).toEqual([
        ['roc_auc_score.simple', undefined],
        ['roc_auc_score.perfect', 'unsupported kwargs: average'],
        ['roc_auc_score.one_class_only.error', 'got "Only one class present in y_true. ROC AUC score is not defined in that case."'],
        ['confusion_matrix.binary', undefined],
        [
          'confusion_matrix.multiclass_missing_pred',
          'Expected an array of length 7 (the length of yTrue) for yPred but received an array of length 1',
        ],
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
