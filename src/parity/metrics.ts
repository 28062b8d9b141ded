/** Parity kind `sklearn_metrics`: ROC AUC, ROC curve length, confusion matrix and binary scores against sklearn 1.2.1. */
import { join } from 'node:path';
import { binaryScores, confusionMatrix, type ConfusionNormalization } from '../metrics/confusion';
import { rocAucScore, rocCurve } from '../metrics/auc';
import { maxAbsDiff, readFixtureJson } from './fixture';
import type { ParityKind, ParityResult } from './kind';

/** README: float64 throughout; sklearn and an exact reimplementation differ by ≤ 1.2e-16. */
const kTolerance = 1e-12;

interface AucCase {
  y_true: number[];
  y_score: number[];
  kwargs: Record<string, unknown>;
  roc_auc?: number;
  roc_curve_len?: number;
  error?: string;
}

interface ConfusionCase {
  y_true: number[];
  y_pred: number[];
  kwargs: Record<string, unknown>;
  confusion_matrix: number[][];
  accuracy?: number;
  f1_pos1?: number;
  precision_pos1?: number;
  recall_pos1?: number;
}

interface MetricsFixture {
  roc_auc_score?: Record<string, AucCase>;
  confusion_matrix?: Record<string, ConfusionCase>;
}

type Check = Omit<ParityResult, 'fixture'>;

function check(name: string, maxError: number, tolerance: number, detail?: string): Check {
  return { check: name, pass: maxError <= tolerance, maxError, tolerance, ...(detail ? { detail } : {}) };
}

function unsupportedKwargs(kwargs: Record<string, unknown>, known: string[]): string | null {
  const extra = Object.keys(kwargs).filter((k) => !known.includes(k));
  return extra.length ? `unsupported kwargs: ${extra.join(', ')}` : null;
}

function aucChecks(name: string, c: AucCase): Check[] {
  const unsupported = unsupportedKwargs(c.kwargs, ['sample_weight', 'max_fpr']);
  if (unsupported) return [check(`roc_auc_score.${name}`, Infinity, kTolerance, unsupported)];
  const options = { sampleWeight: c.kwargs.sample_weight as number[] | undefined, maxFpr: c.kwargs.max_fpr as number | undefined };
  if (c.error !== undefined) {
    try {
      const value = rocAucScore(c.y_true, c.y_score, options);
      return [check(`roc_auc_score.${name}.error`, Infinity, 0, `expected "${c.error}", got ${value}`)];
    } catch (e) {
      const expected = c.error.replace(/^\w+Error: /, '');
      const got = (e as Error).message;
      return [check(`roc_auc_score.${name}.error`, got === expected ? 0 : Infinity, 0, got === expected ? undefined : `got "${got}"`)];
    }
  }
  const out = [check(`roc_auc_score.${name}`, Math.abs(rocAucScore(c.y_true, c.y_score, options) - (c.roc_auc ?? NaN)), kTolerance)];
  if (c.roc_curve_len !== undefined) {
    const top = Math.max(...c.y_true);
    const length = rocCurve(
      c.y_true.map((v) => (v === top ? 1 : 0)),
      c.y_score,
      { sampleWeight: options.sampleWeight },
    ).fpr.length;
    out.push(check(`roc_auc_score.${name}.roc_curve_len`, Math.abs(length - c.roc_curve_len), 0, `${length} points`));
  }
  return out;
}

function matrixError(got: number[][], expected: number[][]): number {
  const sameShape = got.length === expected.length && got.every((row, i) => row.length === expected[i].length);
  return sameShape ? maxAbsDiff(got.flat(), expected.flat()) : Infinity;
}

function confusionChecks(name: string, c: ConfusionCase): Check[] {
  const unsupported = unsupportedKwargs(c.kwargs, ['labels', 'normalize', 'sample_weight']);
  if (unsupported) return [check(`confusion_matrix.${name}`, Infinity, kTolerance, unsupported)];
  const sampleWeight = c.kwargs.sample_weight as number[] | undefined;
  const cm = confusionMatrix(c.y_true, c.y_pred, {
    labels: c.kwargs.labels as number[] | undefined,
    normalize: c.kwargs.normalize as ConfusionNormalization | undefined,
    sampleWeight,
  });
  const out = [check(`confusion_matrix.${name}`, matrixError(cm.matrix, c.confusion_matrix), kTolerance)];
  if (c.accuracy !== undefined) {
    const s = binaryScores(c.y_true, c.y_pred, { sampleWeight });
    const got = [s.accuracy, s.f1, s.precision, s.recall];
    const expected = [c.accuracy, c.f1_pos1, c.precision_pos1, c.recall_pos1].map((v) => v ?? NaN);
    out.push(check(`confusion_matrix.${name}.scores`, maxAbsDiff(got, expected), kTolerance, 'accuracy, f1, precision, recall of label 1'));
  }
  return out;
}

/** Every AUC and confusion case of one fixture; a case that throws fails alone with its message. */
export function runSklearnMetricsParity(dir: string, stem: string): ParityResult[] {
  const json = readFixtureJson<MetricsFixture>(join(dir, `${stem}.json`));
  const guard = (name: string, run: () => Check[]): Check[] => {
    try {
      return run();
    } catch (e) {
      return [check(name, Infinity, kTolerance, (e as Error).message)];
    }
  };
  const checks = [
    ...Object.entries(json.roc_auc_score ?? {}).flatMap(([name, c]) => guard(`roc_auc_score.${name}`, () => aucChecks(name, c))),
    ...Object.entries(json.confusion_matrix ?? {}).flatMap(([name, c]) =>
      guard(`confusion_matrix.${name}`, () => confusionChecks(name, c)),
    ),
  ];
  return checks.map((c) => ({ fixture: stem, ...c }));
}

export const sklearnMetricsParity: ParityKind = {
  name: 'sklearn_metrics',
  fixtures: (fileNames) => fileNames.filter((f) => /^sklearn_metrics.*\.json$/.test(f)).map((f) => f.replace(/\.json$/, '')),
  run: async (dir, fixture) => runSklearnMetricsParity(dir, fixture),
};
