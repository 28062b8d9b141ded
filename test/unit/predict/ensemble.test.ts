import { classProbabilities, ensembleFolds, rankNormalize, softmaxOfClass } from '../../../src/predict/ensemble';

describe('ensembleFolds', () => {
  test("mean of fold probabilities, aligned by image name, in the first fold's order", () => {
    const e = ensembleFolds([
      { ids: ['a.jpg', 'b.jpg', 'c.jpg'], probabilities: [0.2, 0.9, 0.5] },
      { ids: ['c.jpg', 'a.jpg', 'b.jpg'], probabilities: new Float32Array([0.25, 0.4, 0.7]) },
    ]);
    expect(e.ids).toEqual(['a.jpg', 'b.jpg', 'c.jpg']);
    expect(Array.from(e.probabilities)).toEqual([(0.2 + 0.4000000059604645) / 2, (0.9 + 0.699999988079071) / 2, 0.375]);
    expect([e.method, e.folds]).toEqual(['mean', 2]);
  });

  test('rank mean: average ranks / n per fold, ties share a rank', () => {
    expect(Array.from(rankNormalize([0.3, 0.1, 0.3, 0.9]))).toEqual([2.5 / 4, 1 / 4, 2.5 / 4, 1]);
    const e = ensembleFolds(
      [
        { ids: ['a', 'b', 'c', 'd'], probabilities: [0.3, 0.1, 0.3, 0.9] },
        { ids: ['a', 'b', 'c', 'd'], probabilities: [0.01, 0.02, 0.03, 0.04] },
      ],
      { method: 'rank' },
    );
    expect(Array.from(e.probabilities)).toEqual([(0.625 + 0.25) / 2, (0.25 + 0.5) / 2, (0.625 + 0.75) / 2, 1]);
  });

  test('one fold is returned as it is', () => {
    expect(Array.from(ensembleFolds([{ ids: ['x'], probabilities: [0.125] }]).probabilities)).toEqual([0.125]);
  });

  test.each([
    [
      'method',
      () => ensembleFolds([{ ids: ['a'], probabilities: [0.5] }], { method: 'median' as never }),
      'Expected one of mean, rank for method but received "median"',
    ],
    ['no folds', () => ensembleFolds([]), 'Expected at least one fold of predictions for folds but received an array of length 0'],
    [
      'ids type',
      () => ensembleFolds([{ ids: 'a' as never, probabilities: [0.5] }]),
      'Expected an array of image names for folds[0].ids but received "a"',
    ],
    [
      'no ids',
      () => ensembleFolds([{ ids: [], probabilities: [] }]),
      'Expected at least one image name for folds[0].ids but received an array of length 0',
    ],
    [
      'empty id',
      () => ensembleFolds([{ ids: ['a', ''], probabilities: [0.5, 0.5] }]),
      'Expected a non-empty string for folds[0].ids[1] but received ""',
    ],
    [
      'duplicate id',
      () => ensembleFolds([{ ids: ['a', 'a'], probabilities: [0.5, 0.5], name: 'fold 2' }]),
      'Expected unique image names for fold 2.ids but received "\\"a\\" twice"',
    ],
    [
      'length',
      () => ensembleFolds([{ ids: ['a', 'b'], probabilities: [0.5] }]),
      'Expected an array of length 2 (the number of folds[0].ids) for folds[0].probabilities but received an array of length 1',
    ],
    [
      'probability range',
      () => ensembleFolds([{ ids: ['a'], probabilities: [1.5] }]),
      'Expected a finite number from 0 to 1 for folds[0].probabilities[0] but received 1.5',
    ],
    [
      'different count',
      () =>
        ensembleFolds([
          { ids: ['a'], probabilities: [0.5] },
          { ids: ['a', 'b'], probabilities: [0.5, 0.5] },
        ]),
      'Expected 1 images like folds[0] for folds[1].ids but received an array of length 2',
    ],
    [
      'different images',
      () =>
        ensembleFolds([
          { ids: ['a', 'b'], probabilities: [0.5, 0.5], name: 'fold 0' },
          { ids: ['a', 'c'], probabilities: [0.5, 0.5], name: 'fold 1' },
        ]),
      'Expected the images of fold 0 for fold 1.ids but received "no \\"b\\""',
    ],
  ])('validation: %s', (_name, call, message) => {
    expect(call).toThrow(message);
  });
});

describe('classProbabilities', () => {
  test('softmax of the chosen class, stable for large logits', () => {
    const q = classProbabilities([0, 0, 1000, 0, 0, Math.log(3)], 2);
    expect([q[0], q[1]]).toEqual([0.5, 0]);
    expect(q[2]).toBeCloseTo(0.75, 15);
    const p = classProbabilities(new Float32Array([1, 2, 3]), 3, 2);
    expect(p[0]).toBeCloseTo(Math.exp(3) / (Math.exp(1) + Math.exp(2) + Math.exp(3)), 15);
  });

  test.each([
    ['numClasses', () => classProbabilities([0, 1], 0), 'Expected an integer from 1 to 9007199254740991 for numClasses but received 0'],
    ['positiveClass', () => classProbabilities([0, 1], 2, 2), 'Expected an integer from 0 to 1 for positiveClass but received 2'],
    [
      'length',
      () => classProbabilities([0, 1, 2], 2),
      'Expected a length divisible by numClasses (2) for logits but received an array of length 3',
    ],
    ['NaN logit', () => classProbabilities([0, Number.NaN], 2), 'Expected a finite number for logits[1] but received NaN'],
  ])('validation: %s', (_name, call, message) => {
    expect(call).toThrow(message);
  });
});

test('softmaxOfClass: the unchecked softmax column, NaN passed through rather than refused', () => {
  const p = softmaxOfClass(new Float64Array([0, Math.log(3), 2, 2]), 2, 1);
  expect(p[0]).toBeCloseTo(0.75, 15);
  expect(p[1]).toBe(0.5);
  expect(Array.from(softmaxOfClass([1, 2, 3], 3, 0))).toEqual([Math.exp(-2) / (1 + Math.exp(-1) + Math.exp(-2))]);
  expect(Number.isNaN(softmaxOfClass([NaN, 0], 2, 1)[0])).toBe(true);
});
