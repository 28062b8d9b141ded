/** writeReport: a run's report.html with inline SVG charts plus the same charts as PNGs, all viewable offline. */
import { join } from 'path';
import { invalidType, outOfRange } from '../errors';
import { rocAucScore, rocCurve } from '../metrics/auc';
import { scoresAtThreshold, type ThresholdScores } from '../metrics/confusion';
import { toFloat64Array, uniqueSorted, type NumericArray } from '../metrics/arrays';
import { foldTable, type EpochRecord, type FoldTable } from '../metrics/foldTable';
import { writeFileAtomic } from '../files';
import { reportHtml, type ChartImage, type SetSummary } from './html';
import {
  confusionSpec, epochSpec, learningRateSpec, renderSvg, rocSpec, scopeSvgIds, svgToPng, thinIndices, type CurveSeries,
  type EpochSeries,
} from './plots';
import type { TopLevelSpec } from 'vega-lite';

/** One fold's training history. */
export interface FoldHistory {
  fold: number;
  /** Metrics per epoch (1-based epochs). */
  epochs: readonly Omit<EpochRecord, 'fold'>[];
  /** Learning rate of every optimizer step, in order. */
  lr?: NumericArray;
}

/** Predictions of a set; labels (0/1) make its ROC curve, AUC and confusion matrix possible. */
export interface ScoredSet {
  probabilities: NumericArray;
  labels?: NumericArray;
  /** Shown in titles and legends; defaults "out-of-fold" and "test". */
  name?: string;
}

export interface ReportData {
  title?: string;
  folds: readonly FoldHistory[];
  /** Out-of-fold predictions of the training images (every image scored by the fold that did not train on it). */
  oof?: ScoredSet;
  test?: ScoredSet;
  /** Names of classes 0 and 1, default ["0", "1"]. */
  classNames?: readonly [string, string];
  /** Probability cut for the confusion matrix, default 0.5. */
  threshold?: number;
  /** Free text shown near the top, e.g. ttaPlanNote(plan). */
  notes?: readonly string[];
  /** Shown as JSON at the end (the recipe of the run). */
  recipe?: unknown;
}

export interface ReportFiles {
  html: string;
  /** PNG files, one per chart, under `<runDir>/report/`. */
  images: string[];
  table: FoldTable;
  sets: SetSummary[];
}

interface CheckedSet {
  name: string;
  probabilities: Float64Array;
  labels: Float64Array | null;
}

function checkSet(value: ScoredSet | undefined, key: 'oof' | 'test', fallback: string): CheckedSet | null {
  if (value === undefined) return null;
  if (typeof value !== 'object' || value === null) throw invalidType(key, 'an object with probabilities (and labels)', value);
  const probabilities = toFloat64Array(`${key}.probabilities`, value.probabilities, { min: 0, max: 1 });
  const labels = value.labels === undefined ? null : toFloat64Array(`${key}.labels`, value.labels, {
    integer: true, min: 0, max: 1, length: probabilities.length, lengthOf: `the length of ${key}.probabilities`,
  });
  return { name: value.name ?? fallback, probabilities, labels };
}

function summarise(set: CheckedSet, threshold: number): { summary: SetSummary; curve: CurveSeries | null; scores: ThresholdScores | null } {
  const base = { name: set.name, count: set.probabilities.length, auc: null, scores: null };
  if (!set.labels) return { summary: { ...base, why: 'no labels' }, curve: null, scores: null };
  const scores = scoresAtThreshold(set.labels, set.probabilities, threshold);
  if (uniqueSorted(set.labels).length < 2) {
    return { summary: { ...base, scores, why: 'one class only: ROC AUC is not defined' }, curve: null, scores };
  }
  const auc = rocAucScore(set.labels, set.probabilities);
  const { fpr, tpr } = rocCurve(set.labels, set.probabilities);
  return { summary: { ...base, auc, scores }, curve: { name: `${set.name} (AUC ${auc.toFixed(4)})`, fpr, tpr }, scores };
}

function epochCharts(folds: readonly FoldHistory[]): { name: string; spec: TopLevelSpec }[] {
  const series = (train: 'trainLoss' | 'trainAuc', valid: 'validLoss' | 'validAuc'): EpochSeries[] => folds.flatMap((f) =>
    f.epochs.flatMap((e) => [
      ...(typeof e[train] === 'number' ? [{ fold: f.fold, epoch: e.epoch, split: 'train' as const, value: e[train] as number }] : []),
      ...(typeof e[valid] === 'number' ? [{ fold: f.fold, epoch: e.epoch, split: 'valid' as const, value: e[valid] as number }] : []),
    ]).filter((s) => Number.isFinite(s.value)));
  const loss = series('trainLoss', 'validLoss');
  const auc = series('trainAuc', 'validAuc');
  const lr = folds.flatMap((f) => {
    if (f.lr === undefined) return [];
    const values = toFloat64Array(`fold ${f.fold} lr`, f.lr, { min: 0 });
    return thinIndices(values.length).map((i) => ({ fold: f.fold, step: i + 1, value: values[i] }));
  });
  return [
    ...(loss.length ? [{ name: 'loss', spec: epochSpec('Loss per epoch', 'Loss', loss) }] : []),
    ...(auc.length ? [{ name: 'auc', spec: epochSpec('ROC AUC per epoch', 'ROC AUC', auc) }] : []),
    ...(lr.length ? [{ name: 'lr', spec: learningRateSpec(lr) }] : []),
  ];
}

function checkOptions(data: ReportData): { classes: [string, string]; threshold: number } {
  const classes = data.classNames ?? ['0', '1'];
  if (!Array.isArray(classes) || classes.length !== 2 || !classes.every((c) => typeof c === 'string' && c !== '')) {
    throw invalidType('classNames', 'two non-empty class names', classes);
  }
  const threshold = data.threshold ?? 0.5;
  if (typeof threshold !== 'number' || !(threshold >= 0 && threshold <= 1)) throw outOfRange('threshold', 'a number from 0 to 1', threshold);
  if (data.notes !== undefined && (!Array.isArray(data.notes) || !data.notes.every((n) => typeof n === 'string'))) {
    throw invalidType('notes', 'an array of strings', data.notes);
  }
  return { classes: [classes[0], classes[1]], threshold };
}

/**
 * Writes `<runDir>/report.html` (charts inline as SVG, no scripts, no external files needed) and
 * `<runDir>/report/{roc,confusion,loss,auc,lr}.png` (each only when its data exists). Files are replaced atomically.
 */
export async function writeReport(runDir: string, data: ReportData): Promise<ReportFiles> {
  if (typeof runDir !== 'string' || runDir === '') throw invalidType('runDir', 'a folder path', runDir);
  if (typeof data !== 'object' || data === null) throw invalidType('data', 'a ReportData object', data);
  if (!Array.isArray(data.folds)) throw invalidType('data.folds', 'an array of fold histories', data.folds);
  const { classes, threshold } = checkOptions(data);
  const table = foldTable(data.folds.flatMap((f, i) => {
    if (!Array.isArray(f?.epochs)) throw invalidType(`data.folds[${i}].epochs`, 'an array of epoch metrics', f?.epochs);
    return f.epochs.map((e: Omit<EpochRecord, 'fold'>) => ({ ...e, fold: f.fold }));
  }));
  const sets = [checkSet(data.oof, 'oof', 'out-of-fold'), checkSet(data.test, 'test', 'test')]
    .filter((s): s is CheckedSet => s !== null).map((s) => summarise(s, threshold));
  const charts: { name: string; spec: TopLevelSpec }[] = [];
  const curves = sets.flatMap((s) => (s.curve ? [s.curve] : []));
  if (curves.length) charts.push({ name: 'roc', spec: rocSpec(curves) });
  const panels = sets.flatMap((s) => (s.scores ? [{ name: s.summary.name, classes, matrix: s.scores.confusion.matrix }] : []));
  if (panels.length) charts.push({ name: 'confusion', spec: confusionSpec(panels, threshold) });
  charts.push(...epochCharts(data.folds));
  const images: ChartImage[] = [];
  for (const chart of charts) {
    const svg = await renderSvg(chart.spec);
    const png = join(runDir, 'report', `${chart.name}.png`);
    writeFileAtomic(png, await svgToPng(svg));
    images.push({ name: chart.name, svg: scopeSvgIds(svg, chart.name), png: `report/${chart.name}.png` });
  }
  const html = join(runDir, 'report.html');
  const summaries = sets.map((s) => s.summary);
  writeFileAtomic(html, reportHtml({
    title: data.title ?? 'foldtorch report', table, sets: summaries, charts: images, notes: data.notes ?? [], recipe: data.recipe, classes,
  }));
  return { html, images: images.map((i) => join(runDir, i.png)), table, sets: summaries };
}
