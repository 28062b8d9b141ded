/**
 * compareReports: runs side by side on one page — their metrics, ROC curves overlaid and per-group scores — from
 * the report/summary.json each run's report wrote.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { invalidData, invalidType, outOfRange } from '../errors';
import { writeFileAtomicAsync } from '../files';
import type { GroupScore } from './groups';
import { escapeHtml, reportStyle, type SetSummary } from './html';
import { kConfig, kSchema, rocSpec, scopeSvgIds } from './plots';
import { renderSvgs } from './render';
import type { TopLevelSpec } from 'vega-lite';

interface RunSummary {
  title: string;
  sets: SetSummary[];
  curves: { name: string; fpr: number[]; tpr: number[] }[];
  groups: GroupScore[];
  groupColumn: string;
}

export interface CompareFiles {
  html: string;
  runs: string[];
}

async function readSummary(run: string): Promise<RunSummary> {
  const file = path.join(run, 'report', 'summary.json');
  let text: string;
  try {
    text = await fs.promises.readFile(file, 'utf8');
  } catch {
    throw invalidData(file, `is missing: ${run} has no report yet (it is written at the end of foldtorch train)`);
  }
  let parsed: RunSummary;
  try {
    parsed = JSON.parse(text) as RunSummary;
  } catch (error) {
    throw invalidData(file, `is not JSON (${(error as Error).message})`);
  }
  if (!Array.isArray(parsed?.sets) || !Array.isArray(parsed.curves) || !Array.isArray(parsed.groups)) {
    throw invalidData(file, 'has no sets, curves and groups: write the report again with this version');
  }
  return parsed;
}

/** Names that tell the runs apart: folder names, with the parent added where two are the same. */
export function runLabels(runs: readonly string[]): string[] {
  const base = runs.map((r) => path.basename(path.resolve(r)));
  return runs.map((r, i) =>
    base.filter((b) => b === base[i]).length > 1 ? path.join(path.basename(path.dirname(path.resolve(r))), base[i]) : base[i],
  );
}

function num(value: number | null | undefined): string {
  return value === null || value === undefined ? '–' : value.toFixed(4);
}

/** Per-group ROC AUC of every run, one panel per set: bars side by side by run. */
function groupCompareSpec(rows: readonly (GroupScore & { run: string })[], column: string, runs: readonly string[]): TopLevelSpec {
  return {
    $schema: kSchema,
    config: kConfig,
    title: { text: `ROC AUC per ${column}`, subtitle: 'no bar where a group holds one class' },
    data: { values: rows.filter((r) => r.auc !== null) },
    // Each set's own groups on its own axis (the test set is often one style never seen in training).
    resolve: { scale: { x: 'independent' } },
    facet: { row: { field: 'set', type: 'nominal', title: null } },
    spec: {
      width: { step: 40 },
      height: 160,
      mark: 'bar',
      encoding: {
        x: { field: 'group', type: 'nominal', title: null, sort: 'ascending', axis: { labelAngle: -30 } },
        xOffset: { field: 'run', type: 'nominal', sort: [...runs] },
        y: { field: 'auc', type: 'quantitative', title: 'ROC AUC', scale: { domain: [0, 1] } },
        color: { field: 'run', type: 'nominal', title: 'Run', sort: [...runs], legend: { labelLimit: 320 } },
      },
    },
  };
}

/** Writes one page comparing `runs` (each a run folder with report/summary.json) to `out`. */
export async function compareReports(runs: readonly string[], out: string): Promise<CompareFiles> {
  if (!Array.isArray(runs) || runs.length < 2)
    throw outOfRange('--compare', 'two or more run folders', Array.isArray(runs) ? runs.join(' ') : runs);
  if (typeof out !== 'string' || out === '') throw invalidType('out', 'a file path', out);
  const summaries = await Promise.all(runs.map(readSummary));
  const labels = runLabels(runs);
  const head =
    '<tr><th>run</th><th>set</th><th>images</th><th>ROC AUC</th><th>accuracy</th><th>precision</th><th>recall</th><th>F1</th></tr>';
  const metricRows = summaries.flatMap((s, r) =>
    s.sets.map(
      (set) =>
        `<tr><td>${escapeHtml(labels[r])}</td><td>${escapeHtml(set.name)}</td><td>${set.count}</td><td>${set.auc === null ? escapeHtml(set.why ?? '–') : num(set.auc)}</td><td>${num(set.scores?.accuracy)}</td><td>${num(set.scores?.precision)}</td><td>${num(set.scores?.recall)}</td><td>${num(set.scores?.f1)}</td></tr>`,
    ),
  );
  const curves = summaries.flatMap((s, r) => s.curves.map((c) => ({ ...c, name: `${labels[r]}: ${c.name}` })));
  const groups = summaries.flatMap((s, r) => s.groups.map((g) => ({ ...g, run: labels[r] })));
  const column = summaries.find((s) => s.groups.length)?.groupColumn ?? 'group';
  const specs = [
    ...(curves.length ? [rocSpec(curves)] : []),
    ...(groups.some((g) => g.auc !== null) ? [groupCompareSpec(groups, column, labels)] : []),
  ];
  const svgs = (await renderSvgs(specs)).map((svg, i) => `<figure>${scopeSvgIds(svg, `chart${i}`)}</figure>`);
  const groupHead = `<tr><th>run</th><th>set</th><th>${escapeHtml(column)}</th><th>images</th><th>ROC AUC</th><th>accuracy</th></tr>`;
  const groupRows = groups.map(
    (g) =>
      `<tr><td>${escapeHtml(g.run)}</td><td>${escapeHtml(g.set)}</td><td>${escapeHtml(g.group)}</td><td>${g.count}</td><td>${g.auc === null ? 'one class' : num(g.auc)}</td><td>${num(g.accuracy)}</td></tr>`,
  );
  const html = `${[
    '<!DOCTYPE html>',
    `<html lang="en"><head><meta charset="utf-8"><title>foldtorch: ${escapeHtml(labels.join(' vs '))}</title><style>${reportStyle}
table.runs td:nth-child(-n+2), table.runs th:nth-child(-n+2), table.per-group td:nth-child(3), table.per-group th:nth-child(3) { text-align: left; }</style></head><body>`,
    `<h1>${escapeHtml(labels.join(' vs '))}</h1>`,
    `<ul class="notes">${summaries.map((s, r) => `<li>${escapeHtml(labels[r])}: ${escapeHtml(s.title)} (${escapeHtml(path.resolve(runs[r]))})</li>`).join('')}</ul>`,
    `<h2>Metrics</h2><table class="runs">${head}${metricRows.join('')}</table>`,
    svgs.length ? `<h2>Charts</h2>${svgs.join('\n')}` : '',
    groups.length ? `<h2>Per ${escapeHtml(column)}</h2><table class="runs per-group">${groupHead}${groupRows.join('')}</table>` : '',
    '</body></html>',
  ]
    .filter(Boolean)
    .join('\n')}\n`;
  await writeFileAtomicAsync(out, html);
  return { html: out, runs: [...runs] };
}
