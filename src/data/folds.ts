/** Fold assignment with scikit-learn's exact semantics (StratifiedKFold, StratifiedGroupKFold) and the run folder's folds.csv. */
import { invalidData, invalidType, outOfRange, requireInteger } from '../errors';
import { csvWhere, DuplicateCheck, readCsvTable, writeCsv } from './csv';
import { RandomState } from './random';

export type Label = number | string;

export interface FoldOptions {
  nSplits: number;
  /** Shuffle each class before splitting (sklearn `shuffle`); default false. */
  shuffle?: boolean;
  /** sklearn's integer `random_state`; required when shuffling, refused otherwise (as sklearn does). */
  seed?: number;
}

export interface FoldAssignment {
  nSplits: number;
  /** `testFold[i]` = the fold whose validation set holds sample i. */
  testFold: Int32Array;
  /** sklearn's UserWarnings, same text (e.g. the least populated class has fewer members than n_splits). */
  warnings: string[];
}

/** One row of folds.csv. */
export interface FoldRow {
  imageName: string;
  label: number;
  fold: number;
  group?: string;
  line?: number;
}

/** Compares by Unicode code point, as numpy sorts strings (JS `<` compares UTF-16 units). */
function compareLabels(a: Label, b: Label): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const x = Array.from(String(a), (c) => c.codePointAt(0) ?? 0);
  const y = Array.from(String(b), (c) => c.codePointAt(0) ?? 0);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

/** Codes of `values` in sorted-unique order (numpy `unique(..., return_inverse=True)`) and their counts. */
function uniqueInverse(name: string, values: readonly Label[]): { inverse: Int32Array; counts: number[] } {
  const kind = typeof values[0];
  values.forEach((value, i) => {
    if ((typeof value !== 'number' && typeof value !== 'string') || typeof value !== kind) {
      throw invalidType(`${name}[${i}]`, `a ${kind === 'string' ? 'string' : 'number'} like ${name}[0]`, value);
    }
  });
  const unique = [...new Set(values)].sort(compareLabels);
  const code = new Map(unique.map((value, i) => [value, i]));
  const inverse = Int32Array.from(values, (value) => code.get(value) ?? 0);
  const counts = unique.map(() => 0);
  for (const c of inverse) counts[c]++;
  return { inverse, counts };
}

function checkOptions(options: FoldOptions, nSamples: number): { nSplits: number; rng: RandomState | null } {
  const nSplits = requireInteger('nSplits', options.nSplits, 2);
  const shuffle = options.shuffle ?? false;
  if (typeof shuffle !== 'boolean') throw invalidType('shuffle', 'a boolean', shuffle);
  if (shuffle && options.seed === undefined) throw invalidType('seed', 'an integer seed when shuffle is true', options.seed);
  if (!shuffle && options.seed !== undefined) {
    throw outOfRange('seed', 'undefined when shuffle is false (sklearn: a random_state has no effect without shuffle)', options.seed);
  }
  if (nSplits > nSamples) throw outOfRange('nSplits', `at most the number of samples (${nSamples})`, nSplits);
  const rng = shuffle ? new RandomState(requireInteger('seed', options.seed, 0, 0xffffffff)) : null;
  return { nSplits, rng };
}

function classCountChecks(nSplits: number, counts: readonly number[]): string[] {
  if (counts.every((count) => count < nSplits)) {
    throw outOfRange('nSplits', 'at most the number of members of the largest class', nSplits);
  }
  const smallest = Math.min(...counts);
  return smallest < nSplits ? [`The least populated class in y has only ${smallest} members, which is less than n_splits=${nSplits}.`] : [];
}

/**
 * `StratifiedKFold(n_splits, shuffle, random_state).split(X, y)` as scikit-learn 1.2: classes coded in order of
 * first appearance; per class, fold labels `repeat(arange(k), allocation)` (allocation from the sorted codes taken
 * every k-th) are shuffled with the one RandomState and given to the class's samples in index order.
 */
export function stratifiedKFold(y: readonly Label[], options: FoldOptions): FoldAssignment {
  const { nSplits, rng } = checkOptions(options, y.length);
  const { inverse, counts: sortedCounts } = uniqueInverse('y', y);
  // Re-code by first appearance, as sklearn does through unique(return_index) of the unique codes.
  const appearance = new Map<number, number>();
  for (const c of inverse) if (!appearance.has(c)) appearance.set(c, appearance.size);
  const encoded = Int32Array.from(inverse, (c) => appearance.get(c) ?? 0);
  const counts = new Array<number>(appearance.size).fill(0);
  for (const c of encoded) counts[c]++;
  const warnings = classCountChecks(nSplits, sortedCounts);

  // y_order = sort(encoded); allocation[i][k] = count of class k in y_order[i::nSplits].
  const allocation = Array.from({ length: nSplits }, () => new Array<number>(counts.length).fill(0));
  let position = 0;
  counts.forEach((count, k) => {
    for (let j = 0; j < count; j++, position++) allocation[position % nSplits][k]++;
  });

  const testFold = new Int32Array(y.length);
  counts.forEach((_, k) => {
    const folds: number[] = [];
    for (let i = 0; i < nSplits; i++) for (let j = 0; j < allocation[i][k]; j++) folds.push(i);
    rng?.shuffle(folds);
    let next = 0;
    for (let i = 0; i < encoded.length; i++) if (encoded[i] === k) testFold[i] = folds[next++];
  });
  return { nSplits, testFold, warnings };
}

/** Population standard deviation with numpy's order of operations (mean first, then mean of squared deviations). */
function std(values: readonly number[]): number {
  let sum = 0;
  for (const v of values) sum += v;
  const mean = sum / values.length;
  let squares = 0;
  for (const v of values) squares += (v - mean) * (v - mean);
  return Math.sqrt(squares / values.length);
}

function isClose(a: number, b: number): boolean {
  if (!Number.isFinite(b) || !Number.isFinite(a)) return a === b;
  return Math.abs(a - b) <= 1e-8 + 1e-5 * Math.abs(b);
}

/** sklearn's `_find_best_fold`: the fold whose class-proportion spread stays smallest, ties to the emptier fold. */
function findBestFold(perFold: number[][], classCounts: readonly number[], group: readonly number[]): number {
  let best = 0;
  let minEval = Infinity;
  let minSamples = Infinity;
  perFold.forEach((fold, i) => {
    const perClassStd = classCounts.map((count, c) => std(perFold.map((other, j) => (other[c] + (j === i ? group[c] : 0)) / count)));
    const evaluation = perClassStd.reduce((a, b) => a + b, 0) / perClassStd.length;
    const samples = fold.reduce((a, b) => a + b, 0);
    if (evaluation < minEval || (isClose(evaluation, minEval) && samples < minSamples)) {
      minEval = evaluation;
      minSamples = samples;
      best = i;
    }
  });
  return best;
}

/**
 * `StratifiedGroupKFold(n_splits, shuffle, random_state)`: groups never straddle folds. Groups are taken in
 * order of decreasing spread of their class counts (stable; a shuffle with the RandomState only breaks ties)
 * and each goes to the fold that keeps the per-class proportions most even. With shuffle this follows the
 * corrected algorithm (scikit-learn PR #32540): sklearn ≤ 1.7 shuffled the count rows without their group
 * ids, which assigns effectively random groups to folds.
 */
export function stratifiedGroupKFold(y: readonly Label[], groups: readonly Label[], options: FoldOptions): FoldAssignment {
  const { nSplits, rng } = checkOptions(options, y.length);
  if (groups.length !== y.length) throw outOfRange('groups', `an array of length ${y.length} (one group per sample)`, groups);
  const { inverse: yCode, counts: classCounts } = uniqueInverse('y', y);
  const warnings = classCountChecks(nSplits, classCounts);
  const { inverse: groupCode, counts: groupSizes } = uniqueInverse('groups', groups);
  if (groupSizes.length < nSplits) throw outOfRange('nSplits', `at most the number of groups (${groupSizes.length})`, nSplits);

  const perGroup = groupSizes.map(() => new Array<number>(classCounts.length).fill(0));
  yCode.forEach((c, i) => perGroup[groupCode[i]][c]++);
  const order = groupSizes.map((_, g) => g);
  rng?.shuffle(order);
  // Array.prototype.sort is stable: equal spreads keep the shuffled order, like numpy's mergesort.
  const spread = order.map((g) => std(perGroup[g]));
  const visit = order
    .map((_, r) => r)
    .sort((a, b) => spread[b] - spread[a])
    .map((r) => order[r]);

  const perFold = Array.from({ length: nSplits }, () => new Array<number>(classCounts.length).fill(0));
  const foldOfGroup = new Int32Array(groupSizes.length);
  for (const g of visit) {
    const best = findBestFold(perFold, classCounts, perGroup[g]);
    perGroup[g].forEach((count, c) => (perFold[best][c] += count));
    foldOfGroup[g] = best;
  }
  return { nSplits, testFold: Int32Array.from(groupCode, (g) => foldOfGroup[g]), warnings };
}

/** Train and validation positions of one fold, both ascending (as sklearn's split yields them). */
export function foldIndices(testFold: ArrayLike<number>, fold: number): { train: number[]; test: number[] } {
  const train: number[] = [];
  const test: number[] = [];
  for (let i = 0; i < testFold.length; i++) (testFold[i] === fold ? test : train).push(i);
  return { train, test };
}

/** Writes folds.csv (`image_name,label,fold[,group]`) into a run folder. */
export function writeFoldsCsv(file: string, rows: readonly FoldRow[]): Promise<void> {
  const withGroup = rows.some((row) => row.group !== undefined);
  const header = withGroup ? ['image_name', 'label', 'fold', 'group'] : ['image_name', 'label', 'fold'];
  return writeCsv(
    file,
    header,
    rows.map((row) => (withGroup ? [row.imageName, row.label, row.fold, row.group ?? ''] : [row.imageName, row.label, row.fold])),
  );
}

/** Reads folds.csv back; folds must be integers from 0 to nSplits - 1 and each fold non-empty. */
export async function readFoldsCsv(file: string): Promise<{ nSplits: number; rows: FoldRow[] }> {
  const { columns, rows } = await readCsvTable(file, ['image_name', 'label', 'fold']);
  const duplicates = new DuplicateCheck(file);
  const out = rows.map(({ line, values }): FoldRow => {
    duplicates.add(values.image_name, line);
    const label = Number(values.label);
    const fold = Number(values.fold);
    if (values.label === '' || !Number.isInteger(label) || label < 0) {
      throw invalidData(csvWhere(file, line), `Expected a class index for label but received ${JSON.stringify(values.label)}`);
    }
    if (values.fold === '' || !Number.isInteger(fold) || fold < 0) {
      throw invalidData(csvWhere(file, line), `Expected a fold number for fold but received ${JSON.stringify(values.fold)}`);
    }
    const row: FoldRow = { imageName: values.image_name, label, fold, line };
    if (columns.includes('group')) row.group = values.group;
    return row;
  });
  const nSplits = out.reduce((max, row) => Math.max(max, row.fold + 1), 0);
  for (let fold = 0; fold < nSplits; fold++) {
    if (!out.some((row) => row.fold === fold)) throw invalidData(file, `fold ${fold} has no rows (folds run 0..${nSplits - 1})`);
  }
  return { nSplits, rows: out };
}
