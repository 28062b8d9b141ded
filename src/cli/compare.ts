/**
 * `foldtorch compare`: the seed's comparison runs — the imbalanced sampler on vs off, or EVA-02 vs ConvNeXt —
 * trained on the same folds, then the per-fold tables and a summary side by side.
 */
import * as path from 'node:path';
import { outOfRange } from '../errors';
import { crossValidate, type CrossValidationResult } from '../train/crossValidate';
import { createProgress, type ProgressMode } from '../train/progress';
import { resolveRecipe, type Recipe } from '../train/recipe';
import { stopOnSigint } from './signals';

export const kComparisons = ['sampler', 'model'] as const;
export type Comparison = (typeof kComparisons)[number];

export interface CompareArgs {
  what: Comparison;
  data: string;
  recipe?: string;
  set?: string[];
  out?: string;
  progress?: ProgressMode;
}

/** The two (or more) recipes a comparison trains, named for the table. */
export function comparisonVariants(what: Comparison, base: string, sets: readonly string[]): { label: string; recipe: Recipe }[] {
  switch (what) {
    case 'sampler':
      return [
        { label: 'imbalanced sampler', recipe: resolveRecipe(base, [...sets, 'sampler=imbalanced']) },
        { label: 'plain shuffle', recipe: resolveRecipe(base, [...sets, 'sampler=shuffle']) },
      ];
    case 'model':
      return [
        { label: 'EVA-02 (seed-eva02)', recipe: resolveRecipe('seed-eva02', sets) },
        { label: 'ConvNeXt (seed-convnext)', recipe: resolveRecipe('seed-convnext', sets) },
      ];
    default:
      throw outOfRange('--what', kComparisons.join(' or '), what);
  }
}

export function formatComparison(rows: { label: string; result: CrossValidationResult }[]): string {
  const fmt = (v: number | null) => (v === null ? '   n/a' : v.toFixed(4));
  const lines = [
    'variant                          OOF AUC   test AUC   minutes',
    ...rows.map(
      ({ label, result }) => `${label.padEnd(32)} ${fmt(result.oofAuc)}    ${fmt(result.testAuc)}    ${(result.seconds / 60).toFixed(1)}`,
    ),
  ];
  return lines.join('\n');
}

export async function compareCommand(args: CompareArgs): Promise<number> {
  const variants = comparisonVariants(args.what, args.recipe ?? 'seed-eva02', args.set ?? []);
  const root = args.out ?? path.join('runs', `compare-${args.what}`);
  const progress = createProgress(args.progress ?? 'auto');
  const stop = stopOnSigint();
  const rows: { label: string; result: CrossValidationResult }[] = [];
  try {
    for (const { label, recipe } of variants) {
      const run = path.join(
        root,
        label
          .replace(/[^A-Za-z0-9]+/g, '-')
          .replace(/^-|-$/g, '')
          .toLowerCase(),
      );
      process.stdout.write(`\n== ${label} → ${run}\n`);
      const result = await crossValidate(recipe, { data: args.data, run, progress, shouldStop: stop.shouldStop });
      process.stdout.write(`${result.table}\n`);
      rows.push({ label, result });
    }
  } finally {
    stop.dispose();
  }
  process.stdout.write(`\n${formatComparison(rows)}\n`);
  return 0;
}
