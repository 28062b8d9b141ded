import { readFileSync } from 'node:fs';
import { areaUnderCurve, kOneClassMessage, rocAucScore, rocCurve } from '../../../src/metrics/auc';
import { aucOrNull } from '../../../src/metrics/auc';
import { pairwiseSum } from '../../../src/metrics/arrays';
import { goldenFile } from './golden';

interface AucCase {
  y_true: number[];
  y_score: number[];
  kwargs: { sample_weight?: number[] };
  roc_auc?: number;
  roc_curve_len?: number;
  error?: string;
}

const fixture = JSON.parse(readFileSync(goldenFile('sklearn_metrics.json'), 'utf8')) as {
  roc_auc_score: Record<string, AucCase>;
};
const cases = Object.entries(fixture.roc_auc_score);

describe('rocAucScore against sklearn 1.2.1 (sklearn_metrics.json)', () => {
  test.each(cases.filter(([, c]) => c.roc_auc !== undefined))('%s', (_name, c) => {
    const auc = rocAucScore(c.y_true, c.y_score, { sampleWeight: c.kwargs.sample_weight });
    expect(Math.abs(auc - c.roc_auc!)).toBeLessThanOrEqual(1e-12);
  });

  test('reproduces sklearn bit for bit, rounding included (0.7000000000000001)', () => {
    const c = fixture.roc_auc_score.integer_scores_many_ties;
    expect(rocAucScore(c.y_true, c.y_score)).toBe(0.7000000000000001);
    const r = fixture.roc_auc_score.random_300_rounded_2dp;
    expect(rocAucScore(r.y_true, r.y_score)).toBe(r.roc_auc);
  });

  test("one class only throws sklearn's own message", () => {
    const c = fixture.roc_auc_score.one_class_only;
    expect(c.error).toBe(`ValueError: ${kOneClassMessage}`);
    expect(() => rocAucScore(c.y_true, c.y_score)).toThrow('Only one class present in y_true. ROC AUC score is not defined in that case.');
    try {
      rocAucScore(c.y_true, c.y_score);
    } catch (e) {
      expect(e).toBeInstanceOf(RangeError);
      expect((e as { code: string }).code).toBe('ERR_INVALID_DATA');
    }
  });

  test.each(cases.filter(([, c]) => c.roc_curve_len !== undefined))('roc curve length of %s', (_name, c) => {
    const top = Math.max(...c.y_true);
    const curve = rocCurve(c.y_true, c.y_score, { sampleWeight: c.kwargs.sample_weight, posLabel: top });
    expect(curve.fpr.length).toBe(c.roc_curve_len);
    expect(curve.tpr.length).toBe(c.roc_curve_len);
    expect(curve.thresholds.length).toBe(c.roc_curve_len);
  });
});

describe('rocAucScore semantics', () => {
  test('any two integer labels: the larger one is positive', () => {
    expect(rocAucScore([2, 5, 2, 5], [0.3, 0.6, 0.7, 0.8])).toBe(0.75);
    expect(rocAucScore(new Float32Array([0, 1, 0, 1]), new Float32Array([0.3, 0.6, 0.7, 0.8]))).toBe(0.75);
  });

  test('maxFpr gives the McClish-standardised partial AUC (values from sklearn 1.2.1)', () => {
    expect(rocAucScore([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], { maxFpr: 0.5 })).toBe(0.6666666666666666);
    expect(rocAucScore([0, 1, 0, 1, 1, 0], [0.5, 0.5, 0.2, 0.9, 0.2, 0.7], { maxFpr: 0.3 })).toBe(0.6078431372549019);
    expect(rocAucScore([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], { maxFpr: 1 })).toBe(0.75);
  });

  test('all weight on one class gives NaN, as sklearn (which warns)', () => {
    expect(rocAucScore([0, 1, 1], [0.1, 0.5, 0.9], { sampleWeight: [0, 1, 1] })).toBeNaN();
  });

  test('zero-weight samples are ignored', () => {
    expect(rocAucScore([0, 1, 0, 1], [0.9, 0.1, 0.2, 0.8], { sampleWeight: [0, 0, 1, 1] })).toBe(1);
  });
});

describe('rocCurve', () => {
  test("sklearn's documented example, thresholds[0] = max + 1 as in 1.2", () => {
    const c = rocCurve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]);
    expect(Array.from(c.fpr)).toEqual([0, 0, 0.5, 0.5, 1]);
    expect(Array.from(c.tpr)).toEqual([0, 0.5, 0.5, 1, 1]);
    expect(Array.from(c.thresholds)).toEqual([1.8, 0.8, 0.4, 0.35, 0.1]);
  });

  test('dropIntermediate=false keeps every distinct threshold', () => {
    const y = [0, 0, 1, 1, 1];
    const s = [0.1, 0.2, 0.3, 0.8, 0.9];
    expect(rocCurve(y, s).fpr.length).toBe(4);
    const full = rocCurve(y, s, { dropIntermediate: false });
    expect(Array.from(full.fpr)).toEqual([0, 0, 0, 0, 0.5, 1]);
    expect(Array.from(full.tpr)).toEqual([0, 1 / 3, 2 / 3, 1, 1, 1]);
    expect(Array.from(full.thresholds)).toEqual([1.9, 0.9, 0.8, 0.3, 0.2, 0.1]);
  });

  test('weighted curve (sklearn 1.2.1 values)', () => {
    const c = rocCurve([0, 1, 0, 1, 1], [0.2, 0.6, 0.6, 0.4, 0.9], { sampleWeight: [1, 2, 0.5, 1, 3] });
    expect(Array.from(c.fpr)).toEqual([0, 0, 1 / 3, 1 / 3, 1]);
    expect(Array.from(c.tpr)).toEqual([0, 0.5, 5 / 6, 1, 1]);
    expect(Array.from(c.thresholds)).toEqual([1.9, 0.9, 0.6, 0.4, 0.2]);
  });

  test('labels {-1, 1} need no posLabel; other labels do', () => {
    expect(Array.from(rocCurve([-1, 1, -1, 1], [0.3, 0.6, 0.7, 0.8]).tpr)).toEqual([0, 0.5, 0.5, 1, 1]);
    expect(() => rocCurve([2, 5], [0.1, 0.2])).toThrow(
      'Expected a label of yTrue, since yTrue takes values {2, 5} not in {0, 1} or {-1, 1} for posLabel but received undefined',
    );
    expect(Array.from(rocCurve([2, 5], [0.1, 0.2], { posLabel: 5 }).tpr)).toEqual([0, 1, 1]);
    expect(() => rocCurve([0, 1], [0.1, 0.2], { posLabel: Number.NaN })).toThrow('Expected a finite number for posLabel but received NaN');
  });

  test('no negative sample: fpr is NaN as in sklearn', () => {
    const c = rocCurve([1, 1], [0.1, 0.2]);
    expect(Array.from(c.fpr).every(Number.isNaN)).toBe(true);
  });
});

describe('validation', () => {
  test.each([
    ['not an array', () => rocAucScore('01' as never, [0.1, 0.2]), 'Expected an array of numbers for yTrue but received "01"'],
    ['empty', () => rocAucScore([], []), 'Expected a non-empty array for yTrue but received an array of length 0'],
    [
      'length mismatch',
      () => rocAucScore([0, 1], [0.5]),
      'Expected an array of length 2 (the length of yTrue) for yScore but received an array of length 1',
    ],
    ['non-integer label', () => rocAucScore([0, 0.5], [0.1, 0.2]), 'Expected an integer for yTrue[1] but received 0.5'],
    ['string element', () => rocAucScore([0, '1'] as never, [0.1, 0.2]), 'Expected a number for yTrue[1] but received "1"'],
    ['NaN score', () => rocAucScore([0, 1], [0.1, Number.NaN]), 'Expected a finite number for yScore[1] but received NaN'],
    ['infinite score', () => rocAucScore([0, 1], [0.1, Infinity]), 'Expected a finite number for yScore[1] but received Infinity'],
    [
      'three classes',
      () => rocAucScore([0, 1, 2], [0.1, 0.2, 0.3]),
      'Expected two distinct labels (binary ROC AUC) for yTrue but received "3 labels: 0, 1, 2"',
    ],
    [
      'negative weight',
      () => rocAucScore([0, 1], [0.1, 0.2], { sampleWeight: [1, -1] }),
      'Expected a finite number >= 0 for sampleWeight[1] but received -1',
    ],
    [
      'weight length',
      () => rocAucScore([0, 1], [0.1, 0.2], { sampleWeight: [1] }),
      'Expected an array of length 2 (the length of yTrue) for sampleWeight but received an array of length 1',
    ],
    [
      'all weights zero',
      () => rocAucScore([0, 1], [0.1, 0.2], { sampleWeight: [0, 0] }),
      'Expected at least one non-zero weight for sampleWeight but received an array of length 2',
    ],
    ['maxFpr 0', () => rocAucScore([0, 1], [0.1, 0.2], { maxFpr: 0 }), 'Expected a number in (0, 1] for maxFpr but received 0'],
    ['maxFpr > 1', () => rocAucScore([0, 1], [0.1, 0.2], { maxFpr: 1.5 }), 'Expected a number in (0, 1] for maxFpr but received 1.5'],
  ])('%s', (_name, call, message) => {
    expect(call).toThrow(message);
  });
});

describe('areaUnderCurve and pairwise summation', () => {
  test('decreasing x gives the same area; non-monotonic x throws', () => {
    expect(areaUnderCurve(new Float64Array([0, 0.5, 1]), new Float64Array([0, 1, 1]))).toBe(0.75);
    expect(areaUnderCurve(new Float64Array([1, 0.5, 0]), new Float64Array([1, 1, 0]))).toBe(0.75);
    expect(() => areaUnderCurve(new Float64Array([0, 1, 0.5]), new Float64Array([0, 1, 1]))).toThrow(
      'Expected an increasing or decreasing sequence for x but received an array of length 3',
    );
    expect(() => areaUnderCurve(new Float64Array([0]), new Float64Array([0]))).toThrow(
      'Expected at least 2 points to compute the area under a curve for x but received 1',
    );
  });

  test('matches numpy add.reduce, not a sequential sum (harmonic series, n=300)', () => {
    const values = Array.from({ length: 300 }, (_, i) => 1 / (i + 1));
    expect(pairwiseSum(values)).toBe(6.282663880299504); // np.add.reduce
    expect(values.reduce((a, b) => a + b, 0)).toBe(6.282663880299502); // what a plain loop gives
  });
});

test('aucOrNull: the AUC with both classes present, null with one (a one-class validation fold)', () => {
  expect(aucOrNull([0, 1, 1, 0], [0.1, 0.8, 0.3, 0.35])).toBe(0.75);
  expect(aucOrNull([1, 1, 1], [0.2, 0.5, 0.9])).toBeNull();
  expect(aucOrNull([0, 1], new Float32Array([0.9, 0.1]))).toBe(0);
});
