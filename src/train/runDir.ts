/**
 * The run folder `runs/<name>/`: recipe.json, folds.csv, fold-i/ (checkpoints, metrics.jsonl, oof), oof.csv,
 * submission.csv, report.html. Every file is written atomically so a killed run never leaves a half file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { invalidData, outOfRange } from '../errors';
import type { Recipe } from './recipe';

import { removeStaleTemporaries, writeFileAtomic } from '../files';

export interface FoldState {
  fold: number;
  done: boolean;
  bestEpoch: number;
  bestAuc: number | null;
  /** What picked the best epoch: the AUC for two classes, the accuracy for more (absent in older runs: the AUC). */
  bestScore?: number | null;
  /** Epochs fully finished (their metrics written). */
  epochsDone: number;
}

export class RunDir {
  constructor(readonly dir: string) {}

  get recipeFile(): string {
    return path.join(this.dir, 'recipe.json');
  }
  get foldsFile(): string {
    return path.join(this.dir, 'folds.csv');
  }
  get oofFile(): string {
    return path.join(this.dir, 'oof.csv');
  }
  get submissionFile(): string {
    return path.join(this.dir, 'submission.csv');
  }
  get reportFile(): string {
    return path.join(this.dir, 'report.html');
  }
  foldDir(fold: number): string {
    return path.join(this.dir, `fold-${fold}`);
  }
  metricsFile(fold: number): string {
    return path.join(this.foldDir(fold), 'metrics.jsonl');
  }
  stateFile(fold: number): string {
    return path.join(this.foldDir(fold), 'state.json');
  }
  bestWeights(fold: number): string {
    return path.join(this.foldDir(fold), 'best.safetensors');
  }
  /** The resumable training checkpoint (model + optimizer + scaler + counters + RNG). */
  lastCheckpoint(fold: number): string {
    return path.join(this.foldDir(fold), 'last');
  }
  foldOof(fold: number): string {
    return path.join(this.foldDir(fold), 'oof.json');
  }
  foldTest(fold: number): string {
    return path.join(this.foldDir(fold), 'test.json');
  }

  /**
   * Opens `dir` for a new run (must not hold another run) or, with resume, for continuing one (its recipe must
   * equal `recipe` apart from device and progress-only fields).
   */
  static open(dir: string, recipe: Recipe, resume: boolean): RunDir {
    const run = new RunDir(dir);
    if (fs.existsSync(run.recipeFile)) {
      const saved = run.readRecipe();
      const differences = recipeDifferences(saved, recipe);
      if (!resume) {
        if (differences.length > 0) {
          throw outOfRange(
            'run folder',
            `a new folder or --resume (${dir} holds a run of recipe "${saved.name}" that differs in ${differences.slice(0, 3).join(', ')})`,
            dir,
          );
        }
      } else if (differences.length > 0) {
        throw invalidData(
          run.recipeFile,
          `--resume with a different recipe: ${differences.slice(0, 5).join(', ')} differ; resume with the saved recipe (--recipe ${run.recipeFile}) or start a new run`,
        );
      }
    } else {
      if (resume) throw outOfRange('--resume', 'a run folder holding recipe.json', dir);
      fs.mkdirSync(dir, { recursive: true });
      writeFileAtomic(run.recipeFile, `${JSON.stringify(recipe, null, 2)}\n`);
    }
    return run;
  }

  /** Removes what saves killed mid-write left (`*.tmp-PID[-N]`) in the run folder and its fold folders. */
  removeStaleTemporaries(): string[] {
    const folds = fs.existsSync(this.dir)
      ? fs
          .readdirSync(this.dir, { withFileTypes: true })
          .filter((e) => e.isDirectory() && /^fold-\d+$/.test(e.name))
          .map((e) => Number(e.name.slice(5)))
          .sort((a, b) => a - b)
          .map((fold) => this.foldDir(fold))
      : [];
    return [this.dir, ...folds].flatMap((dir) => removeStaleTemporaries(dir));
  }

  readRecipe(): Recipe {
    try {
      return JSON.parse(fs.readFileSync(this.recipeFile, 'utf8')) as Recipe;
    } catch (error) {
      throw invalidData(this.recipeFile, `unreadable recipe (${(error as Error).message})`);
    }
  }

  readState(fold: number): FoldState {
    const file = this.stateFile(fold);
    if (!fs.existsSync(file)) return { fold, done: false, bestEpoch: -1, bestAuc: null, epochsDone: 0 };
    let state: FoldState | null;
    try {
      state = JSON.parse(fs.readFileSync(file, 'utf8')) as FoldState | null;
    } catch (error) {
      throw invalidData(file, `unreadable fold state (${(error as Error).message})`);
    }
    if (state === null || typeof state !== 'object' || typeof state.done !== 'boolean' || typeof state.bestEpoch !== 'number') {
      throw invalidData(
        file,
        `Expected a fold state ({fold, done, bestEpoch, bestAuc, epochsDone}) but received ${JSON.stringify(state)?.slice(0, 80)}`,
      );
    }
    return state;
  }

  writeState(state: FoldState): void {
    writeFileAtomic(this.stateFile(state.fold), `${JSON.stringify(state, null, 2)}\n`);
  }

  /** Appends one JSON line; a line cut by a kill is dropped on read. */
  appendMetrics(fold: number, record: object): void {
    fs.mkdirSync(this.foldDir(fold), { recursive: true });
    fs.appendFileSync(this.metricsFile(fold), `${JSON.stringify(record)}\n`);
  }

  readMetrics<T = Record<string, unknown>>(fold: number): T[] {
    const file = this.metricsFile(fold);
    if (!fs.existsSync(file)) return [];
    return fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .flatMap((line) => {
        if (!line.trim()) return [];
        try {
          return [JSON.parse(line) as T];
        } catch {
          return [];
        }
      });
  }

  /** Keeps only metrics of epochs before `epoch` (a resumed epoch is recomputed in full). */
  truncateMetrics(fold: number, epoch: number): void {
    const kept = this.readMetrics<{ epoch?: number }>(fold).filter((r) => (r.epoch ?? 0) < epoch);
    writeFileAtomic(this.metricsFile(fold), kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
  }
}

/** Fields whose change alters results; device and bookkeeping may differ on resume. */
export function recipeDifferences(a: Recipe, b: Recipe): string[] {
  const ignored = new Set(['device', 'prefetch', 'checkpointEvery', 'cacheImages', 'evalBatchSize']);
  const out: string[] = [];
  const walk = (x: unknown, y: unknown, prefix: string) => {
    if (x && y && typeof x === 'object' && typeof y === 'object' && !Array.isArray(x) && !Array.isArray(y)) {
      const keys = new Set([...Object.keys(x), ...Object.keys(y)]);
      for (const k of keys)
        if (!ignored.has(k)) walk((x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k], prefix ? `${prefix}.${k}` : k);
    } else if (JSON.stringify(x) !== JSON.stringify(y)) {
      out.push(prefix);
    }
  };
  walk(a, b, '');
  return out;
}
