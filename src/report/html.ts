/** The report page: one self-contained HTML file (inline SVG and CSS, no scripts) from precomputed results. */
import type { ThresholdScores } from '../metrics/confusion';
import { epochMetricKeys, type FoldTable } from '../metrics/foldTable';
import type { GalleryImage } from './gallery';
import type { GroupScore } from './groups';

/** What the page says about one scored set (out-of-fold, test). */
export interface SetSummary {
  name: string;
  count: number;
  auc: number | null;
  scores: ThresholdScores | null;
  /** Why the AUC is missing, when it is. */
  why?: string;
}

export interface ChartImage {
  name: string;
  /** SVG markup with ids already scoped to this chart. */
  svg: string;
  /** PNG path relative to the run folder. */
  png: string;
}

export interface ReportPage {
  title: string;
  table: FoldTable;
  sets: SetSummary[];
  charts: ChartImage[];
  notes: readonly string[];
  recipe: unknown;
  classes: readonly [string, string];
  /** Gallery images in display order (set, then mistakes, then confident ones); none: no gallery section. */
  gallery?: readonly GalleryImage[];
  /** Per-group scores and what the groups are (e.g. "style"). */
  groups?: readonly GroupScore[];
  groupColumn?: string;
}

/** The page style, shared by the comparison page. */
export const reportStyle = `
body { font-family: "DejaVu Sans", Arial, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.5rem 0; } th, td { padding: 0.25rem 0.7rem; text-align: right; }
th { background: #f3f3f3; } tr:nth-child(even) td { background: #fafafa; } td:first-child, th:first-child { text-align: left; }
tr.best td { font-weight: bold; } figure { display: inline-block; margin: 0.5rem 1rem 1rem 0; vertical-align: top; }
figcaption { font-size: 0.85rem; color: #555; } pre { background: #f6f6f6; padding: 0.8rem; overflow-x: auto; }
.notes li { margin: 0.3rem 0; }
.gallery { display: flex; flex-wrap: wrap; gap: 0.6rem; } .card { margin: 0; width: 232px; }
.card img { width: 112px; height: 112px; border: 1px solid #ddd; image-rendering: auto; }
.card figcaption { font-size: 0.75rem; line-height: 1.3; } .card .id { color: #888; word-break: break-all; }
.wrong { color: #b00020; font-weight: bold; } .warn { color: #a15c00; }
table.groups td:nth-child(2), table.groups th:nth-child(2) { text-align: left; }`;

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

function num(value: number | null | undefined, digits = 4): string {
  if (value === null || value === undefined) return '–';
  return Number.isNaN(value) ? 'nan' : value.toFixed(digits);
}

function row(cells: string[], tag: 'td' | 'th' = 'td', cls = ''): string {
  return `<tr${cls ? ` class="${cls}"` : ''}>${cells.map((c) => `<${tag}>${c}</${tag}>`).join('')}</tr>`;
}

function summaryTable(sets: SetSummary[], classes: readonly [string, string]): string {
  if (sets.length === 0) return '<p>No predictions were given.</p>';
  const threshold = sets.find((s) => s.scores)?.scores?.threshold;
  const head = row(['set', 'images', 'ROC AUC', `accuracy`, `precision (${escapeHtml(classes[1])})`, 'recall', 'F1'], 'th');
  const body = sets.map((s) =>
    row([
      escapeHtml(s.name),
      String(s.count),
      s.auc === null ? escapeHtml(s.why ?? '–') : num(s.auc),
      num(s.scores?.accuracy),
      num(s.scores?.precision),
      num(s.scores?.recall),
      num(s.scores?.f1),
    ]),
  );
  const note = threshold === undefined ? '' : `<p>Scores at probability threshold ${threshold}.</p>`;
  return `<table>${head}${body.join('')}</table>${note}`;
}

function foldTableHtml(table: FoldTable): string {
  if (table.rows.length === 0) return '<p>No epoch metrics were recorded.</p>';
  const head = row(['fold', 'epoch', 'train loss', 'train AUC', 'valid loss', 'valid AUC'], 'th');
  const body = table.rows.map((r) => {
    const best = table.best.some((b) => b.fold === r.fold && b.epoch === r.epoch);
    return row([String(r.fold), String(r.epoch), ...epochMetricKeys.map((k) => num(r[k]))], 'td', best ? 'best' : '');
  });
  const mean =
    table.meanBestValidAuc === null
      ? ''
      : `<p>Best valid AUC per fold (bold): mean ${num(table.meanBestValidAuc)} ± ${num(table.stdBestValidAuc)} over ${table.best.length} folds.</p>`;
  return `<table>${head}${body.join('')}</table>${mean}`;
}

const kCaptions: Record<string, string> = {
  roc: 'ROC curves (out-of-fold and test)',
  confusion: 'Confusion matrices',
  groups: 'ROC AUC and accuracy per group',
  loss: 'Loss per epoch',
  auc: 'ROC AUC per epoch',
  lr: 'Learning-rate schedule',
};

function figure(chart: ChartImage): string {
  const caption = kCaptions[chart.name] ?? chart.name;
  return `<figure>${chart.svg}<figcaption>${escapeHtml(caption)} · <a href="${escapeHtml(chart.png)}">PNG</a></figcaption></figure>`;
}

function spread(views: readonly number[]): { min: number; max: number; sd: number } {
  const mean = views.reduce((a, b) => a + b, 0) / views.length;
  const sd = Math.sqrt(views.reduce((a, v) => a + (v - mean) ** 2, 0) / views.length);
  return { min: Math.min(...views), max: Math.max(...views), sd };
}

function card(image: GalleryImage, classes: readonly [string, string], threshold: number): string {
  const predicted = image.probability >= threshold ? 1 : 0;
  const verdict = predicted === image.label ? '' : ` <span class="wrong">predicted ${escapeHtml(classes[predicted])}</span>`;
  const alt = escapeHtml(`${image.id}: ${classes[image.label]}, p(${classes[1]}) ${image.probability.toFixed(3)}`);
  const pictures =
    image.thumb === null
      ? '<span>(no image file)</span>'
      : `<img src="${escapeHtml(image.thumb)}" alt="${alt}" width="112" height="112">` +
        (image.overlay ? `<img src="${escapeHtml(image.overlay)}" alt="Grad-CAM of ${alt}" width="112" height="112">` : '');
  const lines = [
    `true ${escapeHtml(classes[image.label])}${verdict}`,
    `p(${escapeHtml(classes[1])}) ${image.probability.toFixed(3)} · loss ${image.loss.toFixed(2)}`,
  ];
  if (image.views && image.views.length > 1) {
    const s = spread(image.views);
    // A view on the other side of the threshold from the merged prediction is worth a look.
    const split = image.views.some((v) => (v >= threshold ? 1 : 0) !== predicted);
    lines.push(
      `${image.views.length} views ${s.min.toFixed(2)}–${s.max.toFixed(2)} (sd ${s.sd.toFixed(2)})${split ? ' <span class="warn">views disagree</span>' : ''}`,
    );
  }
  const where = [image.fold === null ? '' : `fold ${image.fold}`, image.group === null ? '' : escapeHtml(image.group)]
    .filter(Boolean)
    .join(' · ');
  if (where) lines.push(where);
  lines.push(`<span class="id">${escapeHtml(image.id)}</span>`);
  return `<figure class="card" data-kind="${image.kind}">${pictures}<figcaption>${lines.join('<br>')}</figcaption></figure>`;
}

function galleryHtml(images: readonly GalleryImage[], classes: readonly [string, string], threshold: number): string {
  const sets = [...new Set(images.map((i) => i.set))];
  const overlays = images.some((i) => i.overlay !== null);
  const parts = sets.flatMap((set) => {
    const of = (kind: GalleryImage['kind']) => images.filter((i) => i.set === set && i.kind === kind);
    return [
      `<h3>${escapeHtml(set)}: highest loss</h3><div class="gallery" data-set="${escapeHtml(set)}" data-kind="mistakes">${of('mistakes')
        .map((i) => card(i, classes, threshold))
        .join('')}</div>`,
      `<h3>${escapeHtml(set)}: most confident correct, per class</h3><div class="gallery" data-set="${escapeHtml(set)}" data-kind="confident">${of(
        'confident',
      )
        .map((i) => card(i, classes, threshold))
        .join('')}</div>`,
    ];
  });
  const note = overlays ? '<p>Right of each image: Grad-CAM of the predicted class (red: where the model looked most).</p>' : '';
  return `<h2>Images</h2>${note}${parts.join('\n')}`;
}

function groupTableHtml(rows: readonly GroupScore[], column: string): string {
  const head = row(['set', escapeHtml(column), 'images', 'ROC AUC', 'accuracy'], 'th');
  const body = rows.map((r) =>
    row([escapeHtml(r.set), escapeHtml(r.group), String(r.count), r.auc === null ? 'one class' : num(r.auc), num(r.accuracy)]),
  );
  return `<h2>Per ${escapeHtml(column)}</h2><table class="groups">${head}${body.join('')}</table>`;
}

function recipeJson(recipe: unknown): string {
  try {
    return JSON.stringify(recipe, null, 2) ?? String(recipe);
  } catch {
    return String(recipe);
  }
}

/** The whole page as a string. */
export function reportHtml(page: ReportPage): string {
  const notes = page.notes.length ? `<ul class="notes">${page.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>` : '';
  const recipe = page.recipe === undefined ? '' : `<h2>Recipe</h2><pre>${escapeHtml(recipeJson(page.recipe))}</pre>`;
  return `${[
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>${escapeHtml(page.title)}</title><style>${reportStyle}</style></head><body>`,
    `<h1>${escapeHtml(page.title)}</h1>`,
    summaryTable(page.sets, page.classes),
    notes,
    page.charts.length
      ? `<h2>Charts</h2>${page.charts
          .filter((c) => c.name !== 'groups')
          .map(figure)
          .join('\n')}`
      : '',
    page.groups?.length ? groupTableHtml(page.groups, page.groupColumn ?? 'group') : '',
    ...page.charts.filter((c) => c.name === 'groups').map(figure),
    page.gallery?.length ? galleryHtml(page.gallery, page.classes, page.sets.find((s) => s.scores)?.scores?.threshold ?? 0.5) : '',
    `<h2>Folds</h2>${foldTableHtml(page.table)}`,
    recipe,
    '</body></html>',
  ]
    .filter((part) => part !== '')
    .join('\n')}\n`;
}
