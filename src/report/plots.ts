/**
 * The report's charts as vega-lite specs (ROC curves, confusion matrices, loss/AUC per epoch, learning rate per step)
 * and their rendering to SVG (vega's headless renderer) and PNG (sharp), with no browser or network.
 */
import sharp from 'sharp';
import type { TopLevelSpec } from 'vega-lite';
import { renderSvgs } from './render';

export const kSchema = 'https://vega.github.io/schema/vega-lite/v5.json';
export const kConfig = { font: 'DejaVu Sans, sans-serif', view: { stroke: '#ddd' }, axis: { gridColor: '#eee' } };
/** Beyond this many points a line is thinned (first and last kept): a 6,540-step schedule needs no 6,540 vertices. */
export const kMaxLinePoints = 1500;

export interface CurveSeries {
  /** Legend text, e.g. "out-of-fold (AUC 0.9123)". */
  name: string;
  fpr: ArrayLike<number>;
  tpr: ArrayLike<number>;
}

export interface ConfusionPanel {
  /** Panel title, e.g. "out-of-fold". */
  name: string;
  /** Class names in matrix order. */
  classes: readonly string[];
  /** matrix[actual][predicted] counts. */
  matrix: readonly (readonly number[])[];
}

export interface EpochSeries {
  fold: number;
  epoch: number;
  split: 'train' | 'valid';
  value: number;
}

export interface StepSeries {
  fold: number;
  step: number;
  value: number;
}

/** Every k-th index so that at most `limit` remain, always keeping the last. */
export function thinIndices(length: number, limit = kMaxLinePoints): number[] {
  if (length <= limit) return Array.from({ length }, (_, i) => i);
  const stride = Math.ceil((length - 1) / (limit - 1));
  const picked: number[] = [];
  for (let i = 0; i < length; i += stride) picked.push(i);
  if (picked[picked.length - 1] !== length - 1) picked.push(length - 1);
  return picked;
}

export function rocSpec(curves: readonly CurveSeries[]): TopLevelSpec {
  const points = curves.flatMap((c) =>
    thinIndices(c.fpr.length).map((i, order) => ({ curve: c.name, fpr: c.fpr[i], tpr: c.tpr[i], order })),
  );
  const axis = (field: string, title: string) => ({ field, type: 'quantitative' as const, title, scale: { domain: [0, 1] } });
  return {
    $schema: kSchema,
    config: kConfig,
    title: 'ROC curves',
    width: 360,
    height: 360,
    layer: [
      {
        data: {
          values: [
            { fpr: 0, tpr: 0 },
            { fpr: 1, tpr: 1 },
          ],
        },
        mark: { type: 'line', strokeDash: [4, 4], color: '#999', strokeWidth: 1 },
        encoding: { x: axis('fpr', 'False positive rate'), y: axis('tpr', 'True positive rate') },
      },
      {
        data: { values: points },
        mark: { type: 'line', strokeWidth: 2 },
        encoding: {
          x: axis('fpr', 'False positive rate'),
          y: axis('tpr', 'True positive rate'),
          color: {
            field: 'curve',
            type: 'nominal',
            title: null,
            sort: curves.map((c) => c.name),
            legend: { orient: 'bottom-right', labelLimit: 320 },
          },
          order: { field: 'order', type: 'quantitative' },
        },
      },
    ],
  };
}

export function confusionSpec(panels: readonly ConfusionPanel[], threshold: number): TopLevelSpec {
  const cells = panels.flatMap((p) =>
    p.matrix.flatMap((row, i) => {
      const total = row.reduce((a, b) => a + b, 0);
      return row.map((count, j) => ({
        set: p.name,
        actual: p.classes[i],
        predicted: p.classes[j],
        count,
        share: total === 0 ? 0 : count / total,
      }));
    }),
  );
  const classes = panels[0]?.classes ?? [];
  const x = { field: 'predicted', type: 'nominal' as const, title: 'Predicted', sort: [...classes], axis: { labelAngle: 0 } };
  const y = { field: 'actual', type: 'nominal' as const, title: 'Actual', sort: [...classes] };
  return {
    $schema: kSchema,
    config: kConfig,
    title: { text: `Confusion matrix at threshold ${threshold}`, subtitle: 'colour: share of the actual class' },
    data: { values: cells },
    facet: { column: { field: 'set', type: 'nominal', title: null, sort: panels.map((p) => p.name) } },
    spec: {
      width: 180,
      height: 180,
      layer: [
        {
          mark: { type: 'rect', stroke: 'white' },
          encoding: { x, y, color: { field: 'share', type: 'quantitative', scale: { scheme: 'blues', domain: [0, 1] }, legend: null } },
        },
        {
          mark: { type: 'text', fontSize: 18 },
          encoding: {
            x,
            y,
            text: { field: 'count', type: 'quantitative' },
            color: { condition: { test: 'datum.share > 0.5', value: 'white' }, value: 'black' },
          },
        },
      ],
    },
  };
}

/** Lines per fold, solid for train and dashed for valid. */
export function epochSpec(title: string, yTitle: string, series: readonly EpochSeries[]): TopLevelSpec {
  const values = series.map((s) => ({ ...s, fold: `fold ${s.fold}` }));
  const epochs = new Set(series.map((s) => s.epoch)).size;
  return {
    $schema: kSchema,
    config: kConfig,
    title: { text: title, subtitle: 'solid: train · dashed: valid' },
    width: 420,
    height: 280,
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'Epoch', axis: { format: 'd', tickCount: Math.min(epochs, 10) } },
      y: { field: 'value', type: 'quantitative', title: yTitle, scale: { zero: false } },
      color: { field: 'fold', type: 'nominal', title: 'Fold' },
      // Said in the subtitle: a legend of line+point marks would show circles, not dashes.
      strokeDash: { field: 'split', type: 'nominal', sort: ['train', 'valid'], legend: null },
      detail: { field: 'split', type: 'nominal' },
    },
  };
}

/** One line per fold; when every fold ran the same schedule it is drawn once as "all folds". */
export function learningRateSpec(series: readonly StepSeries[]): TopLevelSpec {
  const folds = [...new Set(series.map((s) => s.fold))];
  const key = (fold: number) =>
    series
      .filter((s) => s.fold === fold)
      .map((s) => `${s.step}:${s.value}`)
      .join();
  const same = folds.length > 1 && folds.every((f) => key(f) === key(folds[0]));
  const values = same
    ? series.filter((s) => s.fold === folds[0]).map((s) => ({ ...s, fold: 'all folds' }))
    : series.map((s) => ({ ...s, fold: `fold ${s.fold}` }));
  return {
    $schema: kSchema,
    config: kConfig,
    title: 'Learning rate per optimizer step',
    width: 420,
    height: 240,
    data: { values },
    mark: { type: 'line', strokeWidth: 1.5 },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'Step' },
      y: { field: 'value', type: 'quantitative', title: 'Learning rate', axis: { format: '.1e' }, scale: { zero: true } },
      color: { field: 'fold', type: 'nominal', title: 'Fold' },
    },
  };
}

// ---- Rendering ----

/** Pixels per SVG unit in the PNGs: 2 keeps text sharp on high-density screens. */
export const kPngScale = 2;

/**
 * vega-lite → vega → SVG text, in a worker thread (renderSvgs renders several at once). Data must be inline
 * (`values`): the loader is never asked for a URL.
 */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  return (await renderSvgs([spec]))[0];
}

/** Rasterises SVG text with sharp (librsvg) at `scale` × its own size, white background kept. */
export async function svgToPng(svg: string, scale = kPngScale): Promise<Buffer> {
  return sharp(Buffer.from(svg, 'utf8'), { density: 72 * scale })
    .png({ compressionLevel: 9 })
    .toBuffer();
}

/**
 * Renames every `id` of an SVG (vega names its clip paths clip1, clip2 … in every chart) with a prefix, so several
 * charts inlined in one HTML page do not clip each other's marks.
 */
export function scopeSvgIds(svg: string, prefix: string): string {
  const ids = new Set<string>();
  for (const match of svg.matchAll(/\sid="([^"]+)"/g)) ids.add(match[1]);
  let out = svg;
  for (const id of ids) {
    const escaped = id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    out = out
      .replace(new RegExp(`(\\sid=")${escaped}"`, 'g'), `$1${prefix}-${id}"`)
      .replace(new RegExp(`url\\(#${escaped}\\)`, 'g'), `url(#${prefix}-${id})`)
      .replace(new RegExp(`(href=")#${escaped}"`, 'g'), `$1#${prefix}-${id}"`);
  }
  return out;
}
