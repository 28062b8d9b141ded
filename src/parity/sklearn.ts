/** Parity kind `sklearn_folds`: StratifiedKFold fold assignments and the MT19937 stream against sklearn 1.2.1 / numpy. */
import { join } from 'node:path';
import { foldIndices, stratifiedKFold } from '../data/folds';
import { RandomState } from '../data/random';
import { readFixtureJson } from './fixture';
import type { ParityKind, ParityResult } from './kind';

interface SkfCase {
  ctor: { n_splits: number; shuffle: boolean; random_state: number | null };
  y: Array<number | string>;
  test_fold_of_sample: number[];
  fold_test_sizes: number[];
  warnings: string[];
}

interface FoldsFixture {
  rng_check?: Record<string, number[]>;
  stratified_kfold?: Record<string, SkfCase>;
}

type Check = Omit<ParityResult, 'fixture'>;

/** Fold assignments are integers: the error is the count of samples in another fold than sklearn's (tolerance 0). */
function mismatches(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let count = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) count++;
  return count;
}

function exact(name: string, errors: number, detail?: string): Check {
  return { check: name, pass: errors === 0, maxError: errors, tolerance: 0, ...(detail && errors !== 0 ? { detail } : {}) };
}

function caseChecks(name: string, c: SkfCase): Check[] {
  const options = { nSplits: c.ctor.n_splits, shuffle: c.ctor.shuffle, seed: c.ctor.random_state ?? undefined };
  const result = stratifiedKFold(c.y, options);
  const sizes = Array.from({ length: c.ctor.n_splits }, (_, f) => foldIndices(result.testFold, f).test.length);
  const warningsMatch = JSON.stringify(result.warnings) === JSON.stringify(c.warnings);
  return [
    exact(`stratified_kfold.${name}.test_fold`, mismatches(result.testFold, c.test_fold_of_sample), 'samples in a different fold'),
    exact(`stratified_kfold.${name}.fold_sizes`, mismatches(sizes, c.fold_test_sizes), `got [${sizes.join(', ')}]`),
    exact(`stratified_kfold.${name}.warnings`, warningsMatch ? 0 : 1, `got ${JSON.stringify(result.warnings)}`),
  ];
}

function rngChecks(check: Record<string, number[]>): Check[] {
  const out: Check[] = [];
  const raw = check['RandomState(42) first 16 raw MT19937 uint32 outputs'];
  if (raw) {
    const rng = new RandomState(42);
    out.push(
      exact(
        'rng_check.raw_outputs',
        mismatches(
          raw.map(() => rng.nextUint32()),
          raw,
        ),
      ),
    );
  }
  const shuffles: Array<[string, number[]]> = [
    ['RandomState(42).shuffle(arange(10))', Array.from({ length: 10 }, (_, i) => i)],
    ['RandomState(42).shuffle(arange(5).repeat([3,3,3,2,2]))', [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 4, 4]],
  ];
  shuffles.forEach(([key, values], i) => {
    if (!check[key]) return;
    new RandomState(42).shuffle(values);
    out.push(exact(`rng_check.shuffle_${i}`, mismatches(values, check[key])));
  });
  return out;
}

export const sklearnFoldsParity: ParityKind = {
  name: 'sklearn_folds',
  fixtures: (fileNames) => (fileNames.includes('sklearn_metrics.json') ? ['sklearn_metrics'] : []),
  async run(dir, fixture) {
    const data = readFixtureJson<FoldsFixture>(join(dir, `${fixture}.json`));
    const checks = [
      ...rngChecks(data.rng_check ?? {}),
      ...Object.entries(data.stratified_kfold ?? {}).flatMap(([name, c]) => caseChecks(name, c)),
    ];
    return checks.map((c) => ({ fixture, ...c }));
  },
};
