import { readFileSync } from 'node:fs';
import { binaryScores, confusionMatrix, predictAtThreshold, scoresAtThreshold } from '../../../src/metrics/confusion';
import { goldenFile } from './golden';

interface ConfusionCase {
  y_true: number[];
  y_pred: number[];
  kwargs: { labels?: number[]; normalize?: 'true' | 'pred' | 'all' };
  confusion_matrix: number[][];
  accuracy?: number;
  f1_pos1?: number;
  precision_pos1?: number;
  recall_pos1?: number;
}

const fixture = JSON.parse(readFileSync(goldenFile('sklearn_metrics.json'), 'utf8')) as {
  confusion_matrix: Record<string, ConfusionCase>;
};
const cases = Object.entries(fixture.confusion_matrix);

describe('confusionMatrix against sklearn 1.2.1 (sklearn_metrics.json)', () => {
  test.each(cases)('%s', (_name, c) => {
    const cm = confusionMatrix(c.y_true, c.y_pred, c.kwargs);
    expect(cm.matrix).toEqual(c.confusion_matrix);
  });

  test.each(cases.filter(([, c]) => c.accuracy !== undefined))('binary scores of %s', (_name, c) => {
    const s = binaryScores(c.y_true, c.y_pred);
    expect(s.accuracy).toBe(c.accuracy);
    expect(s.precision).toBe(c.precision_pos1);
    expect(s.recall).toBe(c.recall_pos1);
    expect(s.f1).toBe(c.f1_pos1); // 0.8000000000000002: sklearn's evaluation order, not 2tp/(2tp+fp+fn)
  });

  test('label order: sorted union by default, as given otherwise', () => {
    expect(confusionMatrix([0, 1, 1, 0, 1], [1, 1, 0, 0, 1]).labels).toEqual([0, 1]);
    expect(confusionMatrix([0, 1, 1, 0, 1], [1, 1, 0, 0, 1], { labels: [1, 0] }).labels).toEqual([1, 0]);
  });
});

describe('confusionMatrix options (values from sklearn 1.2.1)', () => {
  const yTrue = [0, 1, 1, 0, 1, 1, 0];
  const yPred = [0, 1, 0, 1, 1, 1, 0];

  test('normalize pred and all', () => {
    expect(confusionMatrix(yTrue, yPred, { normalize: 'pred' }).matrix).toEqual([
      [2 / 3, 0.25],
      [1 / 3, 0.75],
    ]);
    expect(confusionMatrix(yTrue, yPred, { normalize: 'all' }).matrix).toEqual([
      [2 / 7, 1 / 7],
      [1 / 7, 3 / 7],
    ]);
  });

  test('empty rows normalise to 0, not NaN', () => {
    expect(confusionMatrix([0, 0], [0, 1], { labels: [0, 1], normalize: 'true' }).matrix).toEqual([
      [0.5, 0.5],
      [0, 0],
    ]);
  });

  test('sample weights', () => {
    expect(confusionMatrix([0, 1, 2, 1], [0, 1, 1, 1], { sampleWeight: [0.5, 1, 2, 0.25] }).matrix).toEqual([
      [0.5, 0, 0],
      [0, 1.25, 0],
      [0, 2, 0],
    ]);
  });

  test('samples with a label outside `labels` are left out', () => {
    expect(confusionMatrix([0, 1, 2, 1], [0, 1, 1, 3], { labels: [1, 2] }).matrix).toEqual([
      [1, 0],
      [1, 0],
    ]);
  });
});

describe('binaryScores', () => {
  test('zero_division=0 when nothing is predicted positive', () => {
    const s = binaryScores([0, 1, 1, 0], [0, 0, 0, 0]);
    expect([s.precision, s.recall, s.f1, s.accuracy]).toEqual([0, 0, 0, 0.5]);
    expect([s.tp, s.fp, s.fn, s.tn]).toEqual([0, 0, 2, 2]);
  });

  test('weighted (sklearn 1.2.1: accuracy 0.5555555555555556, p 1.0, r 0.42857142857142855, f1 0.6)', () => {
    const s = binaryScores([0, 1, 1, 0, 1], [0, 1, 0, 0, 1], { sampleWeight: [1, 2, 3, 0.5, 0.25] });
    expect([s.accuracy, s.precision, s.recall, s.f1]).toEqual([0.5555555555555556, 1, 0.42857142857142855, 0.6]);
  });

  test('another positive label', () => {
    const s = binaryScores([3, 7, 7, 3], [3, 7, 3, 3], { posLabel: 7 });
    expect([s.precision, s.recall]).toEqual([1, 0.5]);
  });
});

describe('thresholds', () => {
  test('predictAtThreshold: 1 where p >= threshold', () => {
    expect(Array.from(predictAtThreshold([0.2, 0.5, 0.51, 1]))).toEqual([0, 1, 1, 1]);
    expect(Array.from(predictAtThreshold([0.2, 0.5, 0.51, 1], 0.6))).toEqual([0, 0, 0, 1]);
  });

  test('scoresAtThreshold: fixed 2×2 matrix with labels [0, 1]', () => {
    const s = scoresAtThreshold([1, 1, 1], [0.9, 0.2, 0.7]);
    expect(s.confusion).toEqual({
      labels: [0, 1],
      matrix: [
        [0, 0],
        [1, 2],
      ],
    });
    expect([s.threshold, s.accuracy, s.precision, s.recall]).toEqual([0.5, 2 / 3, 1, 2 / 3]);
  });
});

describe('validation', () => {
  test.each([
    [
      'yPred length',
      () => confusionMatrix([0, 1], [0]),
      'Expected an array of length 2 (the length of yTrue) for yPred but received an array of length 1',
    ],
    ['non-integer prediction', () => confusionMatrix([0, 1], [0, 0.7]), 'Expected an integer for yPred[1] but received 0.7'],
    [
      'normalize choice',
      () => confusionMatrix([0, 1], [0, 1], { normalize: 'rows' as never }),
      'Expected one of true, pred, all for normalize but received "rows"',
    ],
    [
      'labels empty',
      () => confusionMatrix([0, 1], [0, 1], { labels: [] }),
      'Expected a non-empty array for labels but received an array of length 0',
    ],
    [
      'labels duplicated',
      () => confusionMatrix([0, 1], [0, 1], { labels: [1, 1] }),
      'Expected distinct labels for labels but received "duplicates in 1, 1"',
    ],
    [
      'labels absent from yTrue',
      () => confusionMatrix([0, 1], [0, 1], { labels: [5] }),
      'Expected at least one label that occurs in yTrue for labels but received an array of length 1',
    ],
    [
      'multiclass scores',
      () => binaryScores([0, 1, 2], [0, 1, 1]),
      'Expected binary labels (at most two distinct values) for yTrue and yPred but received "3 labels: 0, 1, 2"',
    ],
    ['posLabel absent', () => binaryScores([0, 2], [0, 2]), 'Expected one of the labels present (0, 2) for posLabel but received 1'],
    [
      'posLabel not integer',
      () => binaryScores([0, 1], [0, 1], { posLabel: 0.5 }),
      'Expected an integer label for posLabel but received 0.5',
    ],
    ['threshold range', () => predictAtThreshold([0.5], 2), 'Expected a number from 0 to 1 for threshold but received 2'],
    [
      'probability range',
      () => predictAtThreshold([0.5, 1.5]),
      'Expected a finite number from 0 to 1 for probabilities[1] but received 1.5',
    ],
    [
      'labels outside 0/1 for thresholds',
      () => scoresAtThreshold([0, 2], [0.5, 0.5]),
      'Expected an integer from 0 to 1 for yTrue[1] but received 2',
    ],
  ])('%s', (_name, call, message) => {
    expect(call).toThrow(message);
  });
});
