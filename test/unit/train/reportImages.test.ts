// What the report is told about each image of a run: files, folds, styles and the TTA views of both sets.
import type { Dataset } from '../../../src/data/dataset';
import { resolveRecipe } from '../../../src/train/recipe';
import { reportGroupColumn, reportImageDetails } from '../../../src/train/reportImages';
import type { FoldResult } from '../../../src/train/trainFold';

const recipe = resolveRecipe('demo-cpu', ['foldGroups=family']);

function dataset(meta: Record<string, Record<string, string>> | null): Dataset {
  return {
    layout: 'competition',
    root: '/data',
    classes: ['0', '1'],
    train: ['a', 'b', 'c'].map((imageName, i) => ({ imageName, path: `/data/train/${imageName}.jpg`, label: i % 2 })),
    test: ['t1', 't2'].map((imageName) => ({ imageName, path: `/data/test/${imageName}.jpg`, label: 1 })),
    hasTestLabels: true,
    meta: meta ? new Map(Object.entries(meta)) : null,
    skipped: [],
  };
}

function fold(fold: number, ids: string[], views: number[][] | undefined, testViews: number[][] | undefined): FoldResult {
  return {
    fold,
    bestEpoch: 0,
    bestAuc: null,
    epochs: [],
    lrs: [],
    ttaNote: '',
    seconds: 1,
    oof: { ids, labels: ids.map(() => 0), probabilities: ids.map(() => 0.5), views },
    test: { ids: ['t1', 't2'], probabilities: [0.5, 0.5], views: testViews },
  } as FoldResult;
}

const meta = {
  a: { style: 'noto', family: 'x' },
  b: { style: 'twemoji', family: 'y' },
  c: { style: 'noto', family: 'y' },
  t1: { style: 'openmoji', family: 'x' },
  t2: { style: 'openmoji', family: 'y' },
};

describe('reportGroupColumn', () => {
  test('the art style when meta.csv has one, else the fold-group column, else none', () => {
    expect(reportGroupColumn(dataset(meta), recipe)).toBe('style');
    expect(reportGroupColumn(dataset({ a: { family: 'x' } }), recipe)).toBe('family');
    expect(reportGroupColumn(dataset({ a: { family: 'x' } }), { ...recipe, foldGroups: 'none' })).toBeNull();
    expect(reportGroupColumn(dataset(null), recipe)).toBeNull();
  });
});

describe('reportImageDetails', () => {
  test('out-of-fold images in fold order with their files, folds, styles and views; test views averaged over folds', () => {
    const results = [
      fold(
        0,
        ['c', 'a'],
        [
          [0.1, 0.3],
          [0.5, 0.7],
        ],
        [
          [0.2, 0.4],
          [1, 1],
        ],
      ),
      fold(
        1,
        ['b'],
        [[0.9, 0.8]],
        [
          [0.4, 0.6],
          [0, 0.5],
        ],
      ),
    ];
    const { oof, test, groupColumn } = reportImageDetails(dataset(meta), recipe, results);
    expect(groupColumn).toBe('style');
    expect(oof).toEqual({
      ids: ['c', 'a', 'b'],
      paths: ['/data/train/c.jpg', '/data/train/a.jpg', '/data/train/b.jpg'],
      folds: [0, 0, 1],
      groups: ['noto', 'noto', 'twemoji'],
      views: [
        [0.1, 0.3],
        [0.5, 0.7],
        [0.9, 0.8],
      ],
    });
    expect(test?.paths).toEqual(['/data/test/t1.jpg', '/data/test/t2.jpg']);
    expect(test?.groups).toEqual(['openmoji', 'openmoji']);
    expect(test?.views?.map((row) => row.map((v) => Number(v.toFixed(12))))).toEqual([
      [0.3, 0.5],
      [0.5, 0.75],
    ]);
  });

  test('a fold without views (data-parallel, an older run) leaves the views out; an image without a style leaves the groups out', () => {
    const { oof, test } = reportImageDetails(dataset({ ...meta, c: { family: 'y' } }), recipe, [
      fold(0, ['c', 'a'], undefined, undefined),
      fold(1, ['b'], [[0.9]], [[0.4], [0.5]]),
    ]);
    expect(oof.views).toBeUndefined();
    expect(oof.groups).toBeUndefined();
    expect(test?.views).toBeUndefined();
    expect(test?.groups).toEqual(['openmoji', 'openmoji']);
  });
});
