import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFixtureJson } from '../../../src/parity/fixture';
import { foldIndices, readFoldsCsv, stratifiedGroupKFold, stratifiedKFold, writeFoldsCsv } from '../../../src/data/folds';
import { RandomState } from '../../../src/data/random';
import { goldenDir } from './golden';

interface SkfCase {
  ctor: { n_splits: number; shuffle: boolean; random_state: number | null };
  y: number[];
  test_fold_of_sample: number[];
  fold_test_sizes: number[];
  fold_test_class_counts: Array<Record<string, number>>;
  first_fold_test_indices: number[];
  warnings: string[];
}

const golden = readFixtureJson<{ stratified_kfold: Record<string, SkfCase> }>(join(goldenDir(), 'sklearn_metrics.json'));

describe('stratifiedKFold: sklearn 1.2 parity on the golden cases', () => {
  for (const [name, c] of Object.entries(golden.stratified_kfold)) {
    test(name, () => {
      const options = { nSplits: c.ctor.n_splits, shuffle: c.ctor.shuffle, seed: c.ctor.random_state ?? undefined };
      const result = stratifiedKFold(c.y, options);
      expect(Array.from(result.testFold)).toEqual(c.test_fold_of_sample);
      expect(result.warnings).toEqual(c.warnings);
      const sizes = Array.from({ length: c.ctor.n_splits }, (_, f) => foldIndices(result.testFold, f).test.length);
      expect(sizes).toEqual(c.fold_test_sizes);
      expect(foldIndices(result.testFold, 0).test.slice(0, 50)).toEqual(c.first_fold_test_indices);
      c.fold_test_class_counts.forEach((counts, f) => {
        const test = foldIndices(result.testFold, f).test;
        for (const [label, count] of Object.entries(counts)) {
          expect(test.filter((i) => String(c.y[i]) === label).length).toBe(count);
        }
      });
    });
  }

  test('string labels give the same folds as their integer codes', () => {
    const c = golden.stratified_kfold.small_3class_n3;
    const names = c.y.map((v) => ['drink', 'food', 'other'][v]);
    const a = stratifiedKFold(names, { nSplits: 3, shuffle: true, seed: 42 });
    expect(Array.from(a.testFold)).toEqual(c.test_fold_of_sample);
  });
});

describe('foldIndices', () => {
  test('train and test are ascending and complementary', () => {
    expect(foldIndices([1, 0, 1, 2, 0], 0)).toEqual({ train: [0, 2, 3], test: [1, 4] });
  });
});

// Printed by scikit-learn 1.9.1 (which has the shuffle fix of PR #32540) for these inputs.
const kGroupReference = [
  {
    y: [1, 1, 0, 1, 1, 1, 1, 0, 1, 1, 0, 0, 1, 0, 0, 1, 0, 1, 0, 1, 0, 0, 0, 1],
    groups: [5, 5, 7, 4, 1, 8, 8, 1, 3, 6, 2, 2, 0, 0, 7, 6, 5, 7, 7, 0, 8, 0, 8, 5],
    options: { nSplits: 3, shuffle: true, seed: 42 },
    testFold: [1, 1, 0, 0, 1, 2, 2, 1, 2, 2, 2, 2, 0, 0, 0, 2, 1, 0, 0, 0, 2, 0, 2, 1],
  },
  {
    y: [1, 1, 0, 1, 1, 1, 0, 1, 0, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 1, 1, 1, 0, 1, 0, 0, 1, 0],
    groups: [
      'e00',
      'e08',
      'e08',
      'e04',
      'e01',
      'e01',
      'e09',
      'e11',
      'e02',
      'e08',
      'e03',
      'e00',
      'e04',
      'e02',
      'e02',
      'e11',
      'e08',
      'e06',
      'e07',
      'e02',
      'e07',
      'e06',
      'e04',
      'e06',
      'e04',
      'e04',
      'e09',
      'e01',
      'e10',
      'e05',
    ],
    options: { nSplits: 4, shuffle: true, seed: 7 },
    testFold: [2, 2, 2, 3, 0, 0, 3, 1, 0, 2, 3, 2, 3, 0, 0, 1, 2, 1, 1, 0, 1, 1, 3, 1, 3, 3, 3, 0, 3, 1],
  },
  {
    y: [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1],
    groups: [2, 1, 4, 0, 5, 5, 3, 5, 4, 2, 5, 5, 2, 0, 1, 0, 5, 3, 4, 4],
    options: { nSplits: 2 },
    testFold: [0, 1, 0, 0, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0, 1, 0, 1, 1, 0, 0],
  },
];

describe('stratifiedGroupKFold', () => {
  test.each(kGroupReference.map((c, i) => [i, c] as const))('equals scikit-learn 1.9.1, case %i', (_, c) => {
    expect(Array.from(stratifiedGroupKFold(c.y, c.groups, c.options).testFold)).toEqual(c.testFold);
  });

  test('the emoji-like case: groups never straddle folds and each fold stays stratified', () => {
    // 124 emoji (20 drink, 104 food) drawn in 1..7 styles each, grouped by emoji.
    const rng = new RandomState(3);
    const y: number[] = [];
    const groups: string[] = [];
    for (let emoji = 0; emoji < 124; emoji++) {
      const styles = 1 + rng.randomInterval(6);
      for (let s = 0; s < styles; s++) {
        y.push(emoji < 20 ? 0 : 1);
        groups.push(`emoji${emoji}`);
      }
    }
    const { testFold } = stratifiedGroupKFold(y, groups, { nSplits: 5, shuffle: true, seed: 42 });
    const foldOfGroup = new Map<string, number>();
    groups.forEach((g, i) => {
      expect(foldOfGroup.get(g) ?? testFold[i]).toBe(testFold[i]);
      foldOfGroup.set(g, testFold[i]);
    });
    const drinkShare = y.filter((v) => v === 0).length / y.length;
    for (let f = 0; f < 5; f++) {
      const test = foldIndices(testFold, f).test;
      expect(test.length).toBeGreaterThan(y.length / 5 - 15);
      expect(test.length).toBeLessThan(y.length / 5 + 15);
      expect(Math.abs(test.filter((i) => y[i] === 0).length / test.length - drinkShare)).toBeLessThan(0.05);
    }
  });

  test('validates its arguments like sklearn', () => {
    expect(() => stratifiedGroupKFold([0, 1, 0], [1, 2], { nSplits: 2 })).toThrow(
      'Expected an array of length 3 (one group per sample) for groups but received an array of length 2',
    );
    expect(() => stratifiedGroupKFold([0, 1, 0, 1, 0, 1], [1, 1, 2, 2, 2, 2], { nSplits: 3 })).toThrow(
      'Expected at most the number of groups (2) for nSplits but received 3',
    );
    expect(() => stratifiedGroupKFold([0, 1, 0, 1], [1, 'a', 2, 2], { nSplits: 2 })).toThrow(
      'Expected a number like groups[0] for groups[1] but received "a"',
    );
  });
});

describe('stratifiedKFold validation', () => {
  test.each([
    [{ nSplits: 1 }, 'Expected an integer from 2 to 9007199254740991 for nSplits but received 1'],
    [{ nSplits: 2, shuffle: true }, 'Expected an integer seed when shuffle is true for seed but received undefined'],
    [
      { nSplits: 2, seed: 3 },
      'Expected undefined when shuffle is false (sklearn: a random_state has no effect without shuffle) for seed but received 3',
    ],
    [{ nSplits: 7 }, 'Expected at most the number of samples (6) for nSplits but received 7'],
    [{ nSplits: 4 }, 'Expected at most the number of members of the largest class for nSplits but received 4'],
  ])('%j', (options, message) => {
    expect(() => stratifiedKFold([0, 0, 0, 1, 1, 1], options)).toThrow(message);
  });

  test('mixed label types are refused', () => {
    expect(() => stratifiedKFold([0, '1', 0, 1], { nSplits: 2 })).toThrow('Expected a number like y[0] for y[1] but received "1"');
  });
});

describe('folds.csv', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'foldtorch-folds-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('round trip with and without groups, written with a header', async () => {
    const file = join(dir, 'folds.csv');
    await writeFoldsCsv(file, [
      { imageName: 'a.jpg', label: 0, fold: 1 },
      { imageName: 'b, "c".jpg', label: 1, fold: 0 },
    ]);
    expect(readFileSync(file, 'utf8')).toBe('image_name,label,fold\na.jpg,0,1\n"b, ""c"".jpg",1,0\n');
    expect(await readFoldsCsv(file)).toEqual({
      nSplits: 2,
      rows: [
        { imageName: 'a.jpg', label: 0, fold: 1, line: 2 },
        { imageName: 'b, "c".jpg', label: 1, fold: 0, line: 3 },
      ],
    });
    await writeFoldsCsv(file, [{ imageName: 'a.jpg', label: 0, fold: 0, group: 'noto' }]);
    expect(readFileSync(file, 'utf8')).toBe('image_name,label,fold,group\na.jpg,0,0,noto\n');
    expect((await readFoldsCsv(file)).rows[0].group).toBe('noto');
  });

  test.each([
    ['image_name,label,fold\na.jpg,0,x\n', 'line 2: Expected a fold number for fold but received "x"'],
    ['image_name,label,fold\na.jpg,-1,0\n', 'line 2: Expected a class index for label but received "-1"'],
    ['image_name,label,fold\na.jpg,0,0\nb.jpg,1,2\n', 'fold 1 has no rows (folds run 0..2)'],
    ['image_name,label,fold\na.jpg,0,0\na.jpg,1,0\n', 'line 3: duplicate image name "a.jpg" (first listed on line 2)'],
  ])('bad folds.csv %#', async (text, message) => {
    const file = join(dir, 'bad.csv');
    writeFileSync(file, text);
    await expect(readFoldsCsv(file)).rejects.toThrow(message);
  });
});
