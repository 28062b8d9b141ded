/** What the report shows of each image of a run: its file, fold, group and TTA views, from the dataset and fold results. */
import type { Dataset } from '../data/dataset';
import type { ImageDetails } from '../report/gallery';
import { kGroupColumns } from './prepare';
import type { Recipe } from './recipe';
import type { FoldResult } from './trainFold';

/**
 * The column the report groups scores by: meta.csv's art style when it has one (what a domain shift follows),
 * else the recipe's fold-group column; null without meta.csv.
 */
export function reportGroupColumn(dataset: Dataset, recipe: Recipe): string | null {
  if (dataset.meta === null || dataset.meta.size === 0) return null;
  const first = dataset.meta.values().next().value as Record<string, string>;
  if ('style' in first) return 'style';
  return recipe.foldGroups === 'none' ? null : kGroupColumns[recipe.foldGroups];
}

function groupsOf(dataset: Dataset, column: string | null, ids: readonly string[]): string[] | undefined {
  if (column === null) return undefined;
  const groups = ids.map((id) => dataset.meta?.get(id)?.[column]);
  return groups.every((g): g is string => typeof g === 'string') ? groups : undefined;
}

/** Element-wise mean of the folds' view probabilities of the test images, when every fold recorded the same views. */
function meanViews(folds: readonly FoldResult[]): number[][] | undefined {
  const lists = folds.map((f) => f.test?.views);
  if (lists.length === 0 || !lists.every((l): l is number[][] => Array.isArray(l) && l.length === lists[0]?.length)) return undefined;
  return lists[0]
    .map((row, i) => row.map((_, v) => lists.reduce((sum, l) => sum + (l[i]?.[v] ?? NaN), 0) / lists.length))
    .map((row) => (row.every(Number.isFinite) ? row : []));
}

/** Images of the out-of-fold set (in `results` order) and of the test set (in dataset order). */
export function reportImageDetails(
  dataset: Dataset,
  recipe: Recipe,
  results: readonly FoldResult[],
): { oof: ImageDetails; test: ImageDetails | undefined; groupColumn: string | null } {
  const column = reportGroupColumn(dataset, recipe);
  const paths = new Map(dataset.train.map((item) => [item.imageName, item.path]));
  const ids = results.flatMap((r) => r.oof.ids);
  const views = results.every((r) => r.oof.views?.length === r.oof.ids.length)
    ? results.flatMap((r) => r.oof.views as number[][])
    : undefined;
  const oof: ImageDetails = {
    ids,
    paths: ids.every((id) => paths.has(id)) ? ids.map((id) => paths.get(id) as string) : undefined,
    folds: results.flatMap((r) => r.oof.ids.map(() => r.fold)),
    groups: groupsOf(dataset, column, ids),
    views,
  };
  const withTest = results.filter((r) => r.test !== null);
  const testIds = dataset.test.map((item) => item.imageName);
  const testViews = meanViews(withTest);
  const test: ImageDetails | undefined =
    withTest.length === 0
      ? undefined
      : {
          ids: testIds,
          paths: dataset.test.map((item) => item.path),
          groups: groupsOf(dataset, column, testIds),
          views: testViews?.every((row) => row.length > 0) ? testViews : undefined,
        };
  return { oof, test, groupColumn: column };
}
