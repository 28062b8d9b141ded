/** Scores per group (an art style, an emoji family): ROC AUC, accuracy and count, so a group the model fails on shows. */
import type { TopLevelSpec } from 'vega-lite';
import { rocAucScore } from '../metrics/auc';
import { scoresAtThreshold } from '../metrics/confusion';
import { kConfig, kSchema } from './plots';

export interface GroupScore {
  /** The scored set, e.g. "out-of-fold". */
  set: string;
  group: string;
  count: number;
  /** null when the group holds one class only. */
  auc: number | null;
  accuracy: number;
}

/** One row per group of `groups` (sorted by name), scored at `threshold`. */
export function groupScores(
  set: string,
  groups: readonly string[],
  labels: ArrayLike<number>,
  probabilities: ArrayLike<number>,
  threshold: number,
): GroupScore[] {
  const members = new Map<string, number[]>();
  groups.forEach((group, i) => {
    const list = members.get(group);
    if (list) list.push(i);
    else members.set(group, [i]);
  });
  return [...members.keys()].sort().map((group) => {
    const indices = members.get(group) as number[];
    const y = indices.map((i) => labels[i]);
    const p = indices.map((i) => probabilities[i]);
    const auc = new Set(y).size < 2 ? null : rocAucScore(y, p);
    return { set, group, count: indices.length, auc, accuracy: scoresAtThreshold(y, p, threshold).accuracy };
  });
}

/** Bars of ROC AUC and accuracy per group, one panel per set; a missing AUC (one class) has no bar. */
export function groupSpec(rows: readonly GroupScore[], title = 'Scores per group'): TopLevelSpec {
  const values = rows.flatMap((r) => [
    ...(r.auc === null ? [] : [{ set: r.set, group: r.group, metric: 'ROC AUC', value: r.auc, count: r.count }]),
    { set: r.set, group: r.group, metric: 'accuracy', value: r.accuracy, count: r.count },
  ]);
  const sets = [...new Set(rows.map((r) => r.set))];
  return {
    $schema: kSchema,
    config: kConfig,
    title: { text: title, subtitle: 'bars from 0 to 1; no AUC bar where a group holds one class' },
    data: { values },
    // Each set's own groups on its own axis (the test set is often one style never seen in training).
    resolve: { scale: { x: 'independent' } },
    facet: { row: { field: 'set', type: 'nominal', title: null, sort: sets } },
    spec: {
      width: { step: 34 },
      height: 160,
      mark: { type: 'bar' },
      encoding: {
        x: { field: 'group', type: 'nominal', title: null, sort: 'ascending', axis: { labelAngle: -30 } },
        xOffset: { field: 'metric', type: 'nominal', sort: ['ROC AUC', 'accuracy'] },
        y: { field: 'value', type: 'quantitative', title: null, scale: { domain: [0, 1] } },
        color: { field: 'metric', type: 'nominal', title: null, sort: ['ROC AUC', 'accuracy'], scale: { range: ['#4c78a8', '#f58518'] } },
        tooltip: [{ field: 'group' }, { field: 'metric' }, { field: 'value', format: '.4f' }, { field: 'count' }],
      },
    },
  };
}
