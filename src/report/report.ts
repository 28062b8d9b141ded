/** writeReport: a run's report.html with inline SVG charts plus the same charts as PNGs, all viewable offline. */
import { join } from 'node:path';
import { invalidType, outOfRange } from '../errors';
import { rocAucScore, rocCurve } from '../metrics/auc';
import { scoresAtThreshold, type ThresholdScores } from '../metrics/confusion';
import { toFloat64Array, uniqueSorted, type NumericArray } from '../metrics/arrays';
import { foldTable, type EpochRecord, type FoldTable } from '../metrics/foldTable';
import { writeFileAtomicAsync } from '../files';
import {
  kDefaultGallerySizes,
  pickGallery,
  writeGalleryImages,
  type GalleryPick,
  type GallerySizes,
  type Heatmap,
  type ImageDetails,
} from './gallery';
import { groupScores, groupSpec, type GroupScore } from './groups';
import { reportHtml, type ChartImage, type SetSummary } from './html';
import {
  confusionSpec,
  epochSpec,
  learningRateSpec,
  rocSpec,
  scopeSvgIds,
  svgToPng,
  thinIndices,
  type CurveSeries,
  type EpochSeries,
} from './plots';
import { renderSvgs } from './render';
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
  /** Per-image names, files, folds, groups and TTA views: galleries and per-group scores (labelled sets only). */
  images?: ImageDetails;
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
  /** Gallery sizes, or false for none (default 12 highest-loss images per set and 4 confident ones per class). */
  gallery?: Partial<GallerySizes> | false;
  /** Grad-CAM maps of the picked gallery images, keyed by heatmapKey(pick); asked once the picks are known. */
  heatmaps?: (picks: readonly GalleryPick[]) => Promise<ReadonlyMap<string, Heatmap>>;
  /** What images.groups are (e.g. "style"), for the per-group table; default "group". */
  groupColumn?: string;
}

export interface ReportFiles {
  html: string;
  /** PNG files, one per chart, under `<runDir>/report/`. */
  images: string[];
  table: FoldTable;
  sets: SetSummary[];
  groups: GroupScore[];
  /** Gallery images (thumbnails and overlays under `<runDir>/report/images/`). */
  gallery: GalleryPick[];
  /** Machine-readable summary that `report --compare` reads. */
  summary: string;
}

interface CheckedSet {
  name: string;
  probabilities: Float64Array;
  labels: Float64Array | null;
  images: ImageDetails | null;
}

function checkImages(value: unknown, key: string, count: number): ImageDetails | null {
  if (value === undefined) return null;
  if (typeof value !== 'object' || value === null)
    throw invalidType(`${key}.images`, 'an object with ids (and paths, folds, groups, views)', value);
  const images = value as ImageDetails;
  const column = (name: keyof ImageDetails, ok: (item: unknown) => boolean, what: string, required = false) => {
    const list = images[name] as unknown;
    if (list === undefined && !required) return;
    if (!Array.isArray(list) || list.length !== count || !list.every(ok)) {
      throw invalidType(`${key}.images.${name}`, `an array of ${count} ${what} (one per probability)`, list);
    }
  };
  column('ids', (v) => typeof v === 'string', 'image names', true);
  column('paths', (v) => typeof v === 'string', 'file paths');
  column('folds', (v) => Number.isInteger(v), 'fold numbers');
  column('groups', (v) => typeof v === 'string', 'group names');
  column(
    'views',
    (v) => Array.isArray(v) && v.length > 0 && v.every((p) => typeof p === 'number' && p >= 0 && p <= 1),
    'arrays of view probabilities',
  );
  return images;
}

function checkSet(value: ScoredSet | undefined, key: 'oof' | 'test', fallback: string): CheckedSet | null {
  if (value === undefined) return null;
  if (typeof value !== 'object' || value === null) throw invalidType(key, 'an object with probabilities (and labels)', value);
  const probabilities = toFloat64Array(`${key}.probabilities`, value.probabilities, { min: 0, max: 1 });
  const labels =
    value.labels === undefined
      ? null
      : toFloat64Array(`${key}.labels`, value.labels, {
          integer: true,
          min: 0,
          max: 1,
          length: probabilities.length,
          lengthOf: `the length of ${key}.probabilities`,
        });
  return { name: value.name ?? fallback, probabilities, labels, images: checkImages(value.images, key, probabilities.length) };
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
  const series = (train: 'trainLoss' | 'trainAuc', valid: 'validLoss' | 'validAuc'): EpochSeries[] =>
    folds.flatMap((f) =>
      f.epochs
        .flatMap((e) => [
          ...(typeof e[train] === 'number' ? [{ fold: f.fold, epoch: e.epoch, split: 'train' as const, value: e[train] as number }] : []),
          ...(typeof e[valid] === 'number' ? [{ fold: f.fold, epoch: e.epoch, split: 'valid' as const, value: e[valid] as number }] : []),
        ])
        .filter((s) => Number.isFinite(s.value)),
    );
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
  if (typeof threshold !== 'number' || !(threshold >= 0 && threshold <= 1))
    throw outOfRange('threshold', 'a number from 0 to 1', threshold);
  if (data.notes !== undefined && (!Array.isArray(data.notes) || !data.notes.every((n) => typeof n === 'string'))) {
    throw invalidType('notes', 'an array of strings', data.notes);
  }
  return { classes: [classes[0], classes[1]], threshold };
}

function checkGallery(value: ReportData['gallery']): GallerySizes | null {
  if (value === false) return null;
  if (value !== undefined && (typeof value !== 'object' || value === null))
    throw invalidType('gallery', 'an object {mistakes, perClass} or false', value);
  const sizes = { ...kDefaultGallerySizes, ...value };
  for (const key of ['mistakes', 'perClass'] as const) {
    if (!Number.isInteger(sizes[key]) || sizes[key] < 0 || sizes[key] > 200)
      throw outOfRange(`gallery.${key}`, 'an integer from 0 to 200', sizes[key]);
  }
  return sizes;
}

/** Renders the charts in a worker thread and writes their PNGs; the SVGs come back scoped for inlining. */
async function writeCharts(runDir: string, charts: readonly { name: string; spec: TopLevelSpec }[]): Promise<ChartImage[]> {
  const svgs = await renderSvgs(charts.map((c) => c.spec));
  return Promise.all(
    charts.map(async (chart, i) => {
      const png = `report/${chart.name}.png`;
      await writeFileAtomicAsync(join(runDir, png), await svgToPng(svgs[i]));
      return { name: chart.name, svg: scopeSvgIds(svgs[i], chart.name), png };
    }),
  );
}

/**
 * Writes `<runDir>/report.html` (charts inline as SVG, no scripts; gallery thumbnails beside it), the charts as
 * `<runDir>/report/{roc,confusion,groups,loss,auc,lr}.png` (each only when its data exists) and
 * `<runDir>/report/summary.json`. Files are replaced atomically; charts render in a worker thread and every write is
 * asynchronous, so the event loop stays free while a report is written.
 */
export async function writeReport(runDir: string, data: ReportData): Promise<ReportFiles> {
  if (typeof runDir !== 'string' || runDir === '') throw invalidType('runDir', 'a folder path', runDir);
  if (typeof data !== 'object' || data === null) throw invalidType('data', 'a ReportData object', data);
  if (!Array.isArray(data.folds)) throw invalidType('data.folds', 'an array of fold histories', data.folds);
  const { classes, threshold } = checkOptions(data);
  const gallerySizes = checkGallery(data.gallery);
  const table = foldTable(
    data.folds.flatMap((f, i) => {
      if (!Array.isArray(f?.epochs)) throw invalidType(`data.folds[${i}].epochs`, 'an array of epoch metrics', f?.epochs);
      return f.epochs.map((e: Omit<EpochRecord, 'fold'>) => ({ ...e, fold: f.fold }));
    }),
  );
  const checked = [checkSet(data.oof, 'oof', 'out-of-fold'), checkSet(data.test, 'test', 'test')].filter(
    (s): s is CheckedSet => s !== null,
  );
  const sets = checked.map((s) => summarise(s, threshold));
  const groups = checked.flatMap((s) =>
    s.labels && s.images?.groups ? groupScores(s.name, s.images.groups, s.labels, s.probabilities, threshold) : [],
  );
  const charts: { name: string; spec: TopLevelSpec }[] = [];
  const curves = sets.flatMap((s) => (s.curve ? [s.curve] : []));
  if (curves.length) charts.push({ name: 'roc', spec: rocSpec(curves) });
  const panels = sets.flatMap((s) => (s.scores ? [{ name: s.summary.name, classes, matrix: s.scores.confusion.matrix }] : []));
  if (panels.length) charts.push({ name: 'confusion', spec: confusionSpec(panels, threshold) });
  if (groups.length) charts.push({ name: 'groups', spec: groupSpec(groups, `Scores per ${data.groupColumn ?? 'group'}`) });
  charts.push(...epochCharts(data.folds));
  const picks =
    gallerySizes === null
      ? []
      : checked.flatMap((s) =>
          s.labels && s.images
            ? pickGallery({ name: s.name, probabilities: s.probabilities, labels: s.labels, images: s.images }, threshold, gallerySizes)
            : [],
        );
  const heatmaps = picks.length && data.heatmaps ? await data.heatmaps(picks) : new Map<string, Heatmap>();
  const [images, gallery] = await Promise.all([writeCharts(runDir, charts), writeGalleryImages(runDir, picks, heatmaps)]);
  const html = join(runDir, 'report.html');
  const summaries = sets.map((s) => s.summary);
  const summary = join(runDir, 'report', 'summary.json');
  await writeFileAtomicAsync(
    summary,
    `${JSON.stringify({ title: data.title ?? 'foldtorch report', sets: summaries, curves: sets.flatMap((s) => (s.curve ? [thinCurve(s.curve)] : [])), groups, groupColumn: data.groupColumn ?? 'group' })}\n`,
  );
  await writeFileAtomicAsync(
    html,
    reportHtml({
      title: data.title ?? 'foldtorch report',
      table,
      sets: summaries,
      charts: images,
      notes: data.notes ?? [],
      recipe: data.recipe,
      classes,
      gallery,
      groups,
      groupColumn: data.groupColumn,
    }),
  );
  return { html, images: images.map((i) => join(runDir, i.png)), table, sets: summaries, groups, gallery: picks, summary };
}

/** A ROC curve with at most kMaxLinePoints points, as plain arrays (for summary.json). */
function thinCurve(curve: CurveSeries): { name: string; fpr: number[]; tpr: number[] } {
  const keep = thinIndices(curve.fpr.length);
  return { name: curve.name, fpr: keep.map((i) => curve.fpr[i]), tpr: keep.map((i) => curve.tpr[i]) };
}
