/** The report page: one self-contained HTML file (inline SVG and CSS, no scripts) from precomputed results. */
import type { ThresholdScores } from '../metrics/confusion';
import { epochMetricKeys, type FoldTable } from '../metrics/foldTable';

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
}

const kStyle = `
body { font-family: "DejaVu Sans", Arial, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.5rem 0; } th, td { padding: 0.25rem 0.7rem; text-align: right; }
th { background: #f3f3f3; } tr:nth-child(even) td { background: #fafafa; } td:first-child, th:first-child { text-align: left; }
tr.best td { font-weight: bold; } figure { display: inline-block; margin: 0.5rem 1rem 1rem 0; vertical-align: top; }
figcaption { font-size: 0.85rem; color: #555; } pre { background: #f6f6f6; padding: 0.8rem; overflow-x: auto; }
.notes li { margin: 0.3rem 0; }`;

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
  const body = sets.map((s) => row([
    escapeHtml(s.name), String(s.count), s.auc === null ? escapeHtml(s.why ?? '–') : num(s.auc),
    num(s.scores?.accuracy), num(s.scores?.precision), num(s.scores?.recall), num(s.scores?.f1),
  ]));
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
  const mean = table.meanBestValidAuc === null ? ''
    : `<p>Best valid AUC per fold (bold): mean ${num(table.meanBestValidAuc)} ± ${num(table.stdBestValidAuc)} over ${table.best.length} folds.</p>`;
  return `<table>${head}${body.join('')}</table>${mean}`;
}

const kCaptions: Record<string, string> = {
  roc: 'ROC curves (out-of-fold and test)',
  confusion: 'Confusion matrices',
  loss: 'Loss per epoch',
  auc: 'ROC AUC per epoch',
  lr: 'Learning-rate schedule',
};

function figure(chart: ChartImage): string {
  const caption = kCaptions[chart.name] ?? chart.name;
  return `<figure>${chart.svg}<figcaption>${escapeHtml(caption)} · <a href="${escapeHtml(chart.png)}">PNG</a></figcaption></figure>`;
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
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>${escapeHtml(page.title)}</title><style>${kStyle}</style></head><body>`,
    `<h1>${escapeHtml(page.title)}</h1>`,
    summaryTable(page.sets, page.classes),
    notes,
    page.charts.length ? `<h2>Charts</h2>${page.charts.map(figure).join('\n')}` : '',
    `<h2>Folds</h2>${foldTableHtml(page.table)}`,
    recipe,
    '</body></html>',
  ].filter((part) => part !== '').join('\n') + '\n';
}
