/**
 * crossValidate: every fold of a recipe, then the out-of-fold table, the fold ensemble on the test set, the
 * submission in sample_submit's order, the test AUC when labels exist, and report.html.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeOofCsv } from '../data/csv';
import { invalidData, invalidType, outOfRange, requireInteger } from '../errors';
import { formatFoldTable, foldTable, type EpochRecord } from '../metrics/foldTable';
import { aucOrNull } from '../metrics/auc';
import { ensembleFolds } from '../predict/ensemble';
import { writeSubmission } from '../predict/submission';
import { writeReport } from '../report/report';
import { prepareRun, type RunOptions } from './prepare';
import { writeFileAtomic } from '../files';
import type { RunDir } from './runDir';
import type { Recipe } from './recipe';
import { runFold, type FoldResult } from './trainFold';
import { runFoldsInWorkers } from './foldWorkers';
import { joinProcessGroup, readLaunchEnv, type ProcessGroup } from './distributed';
import { weightsSummary } from '../weights/summary';
import { galleryHeatmaps } from './explain';
import { reportImageDetails } from './reportImages';

export interface CrossValidationResult {
  run: string;
  folds: FoldResult[];
  oofAuc: number | null;
  testAuc: number | null;
  submission: string | null;
  report: string;
  /** The seed's per-fold table: train and valid AUC per epoch. */
  table: string;
  seconds: number;
}

/** RunOptions, `folds` included, and where folds run in parallel. */
export interface CrossValidateOptions extends RunOptions {
  /** Folds in parallel: one worker process per device, e.g. ['cuda:0', 'cuda:1']. */
  devices?: string[];
  /** Folds in parallel on the recipe's CPU: this many worker processes, splitting the cores. */
  workers?: number;
}

/** The worker devices of `devices` / `workers`, or null for a sequential run in this process. */
export function workerDevices(recipe: Recipe, options: Pick<CrossValidateOptions, 'devices' | 'workers'>): string[] | null {
  if (options.devices !== undefined && options.workers !== undefined) {
    throw outOfRange(
      'workers',
      'either devices or workers, not both',
      `devices ${options.devices.join(',')} and workers ${options.workers}`,
    );
  }
  if (options.devices !== undefined) {
    if (
      !Array.isArray(options.devices) ||
      options.devices.length === 0 ||
      options.devices.some((d) => typeof d !== 'string' || !/^(cpu|cuda(:\d+)?)$/.test(d))
    ) {
      throw invalidType('devices', 'a non-empty array of devices (cpu, cuda:N)', options.devices);
    }
    return [...options.devices];
  }
  if (options.workers === undefined) return null;
  const workers = requireInteger('workers', options.workers, 1, 64);
  if (recipe.device !== 'cpu')
    throw outOfRange('workers', `a CPU recipe (device is ${recipe.device}: name the GPUs with devices / --devices)`, workers);
  return Array.from({ length: workers }, () => 'cpu');
}

function compactTable(results: readonly FoldResult[]): string {
  const fmt = (v: number | null | undefined) => (v === null || v === undefined ? '   n/a' : v.toFixed(4));
  const rows = results.map((r) => {
    const last = r.epochs[r.epochs.length - 1];
    return `${String(r.fold).padEnd(5)} ${String(r.epochs.length).padStart(6)} ${String(r.bestEpoch + 1).padStart(10)} ${fmt(r.bestAuc).padStart(14)} ${fmt(last?.trainAuc).padStart(15)} ${fmt(last?.validAuc).padStart(15)} ${r.seconds.toFixed(0).padStart(8)}`;
  });
  return [
    'fold  epochs  best epoch  best valid AUC  last train AUC  last valid AUC  seconds',
    ...rows,
    '(every epoch: fold-table.txt)',
  ].join('\n');
}

/** Which weights the run started from, their licence, and how the new head was initialised. */
export function weightsNote(recipe: Recipe): string {
  if (recipe.model.pretrained === null) return `Weights: ${recipe.model.name} trained from scratch (random initialisation).`;
  const summary = weightsSummary(recipe.model.pretrained);
  const head =
    recipe.finetune.headInit === 'reset'
      ? "a fresh classifier as timm's reset_classifier makes it"
      : `the classifier as ${recipe.model.name}'s own initialisation makes it`;
  const from = summary ? summary.text : `the checkpoint ${recipe.model.pretrained} (licence not recorded)`;
  return `Weights: ${from} The ${recipe.model.numClasses}-class head is ${head}.`;
}

/** Fold numbers to train: distinct integers from 0 to count - 1 (`name` is the option that gave them). */
export function checkFolds(name: string, folds: unknown, count: number): number[] {
  if (!Array.isArray(folds)) throw invalidType(name, 'an array of fold numbers', folds);
  folds.forEach((fold) => requireInteger(name, fold, 0, count - 1));
  const repeated = folds.find((fold, i) => folds.indexOf(fold) !== i);
  if (repeated !== undefined) throw outOfRange(name, `each fold once (fold ${repeated} is given twice)`, folds.join(' '));
  return folds as number[];
}

export async function crossValidate(recipe: Recipe, options: CrossValidateOptions): Promise<CrossValidationResult> {
  const started = Date.now();
  if (recipe.model.numClasses !== 2) {
    // Scored by ROC AUC into a probability submission: two classes. Fail before training, not after a fold.
    throw invalidData(
      'model.numClasses',
      `is ${recipe.model.numClasses}; cross-validation scores two classes (ROC AUC, a probability submission). Train a many-class model with foldtorch pretrain`,
    );
  }
  // Checked before the run folder is touched: a fold out of range would train on everything and validate on nothing.
  const foldsToRun =
    options.folds === undefined ? Array.from({ length: recipe.folds }, (_, i) => i) : checkFolds('folds', options.folds, recipe.folds);
  const devices = workerDevices(recipe, options);
  const { group, rankRecipe } = await joinLaunchGroup(recipe);
  if (group && devices) throw outOfRange('devices', 'no fold workers inside a data-parallel launch (WORLD_SIZE is set)', devices.join(','));
  // Data-parallel: rank 0 makes the run folder; the others open it once it is there, writing nothing.
  const prepared =
    group && !group.isMain
      ? await group.barrier().then(() => prepareRun(rankRecipe, { ...options, resume: true }))
      : await prepareRun(rankRecipe, options);
  await (group?.isMain ? group.barrier() : undefined);
  const emit = group && !group.isMain ? () => undefined : (options.progress ?? (() => undefined));
  emit({ type: 'run-start', run: options.run, recipe: recipe.name, folds: foldsToRun, device: rankRecipe.device });
  const shouldStop = options.shouldStop ?? (() => false);
  const results: FoldResult[] = [];
  if (devices) {
    results.push(
      ...(await runFoldsInWorkers(foldsToRun, {
        recipe,
        data: options.data,
        run: options.run,
        skipUnreadable: options.skipUnreadable ?? false,
        devices,
        emit,
        shouldStop,
      })),
    );
  } else {
    for (const fold of foldsToRun) results.push(await runFold({ prepared, fold, emit, shouldStop, group }));
  }
  if (group && !group.isMain)
    return {
      run: prepared.run.dir,
      folds: results,
      oofAuc: null,
      testAuc: null,
      submission: null,
      report: '',
      table: '',
      seconds: (Date.now() - started) / 1000,
    };
  // oof.csv, the submission and the report cover every finished fold, not only those run now: `--fold 0` on a
  // finished run must not rewrite them with one fold.
  for (let fold = 0; fold < recipe.folds; fold++) {
    const done = foldsToRun.includes(fold) ? null : finishedFold(prepared.run, fold);
    if (done) results.push(done);
  }
  results.sort((a, b) => a.fold - b.fold);
  return summarise(prepared, results, started, emit);
}

/**
 * Under torchrun (RANK, WORLD_SIZE, ... in the environment): this process' group, with the recipe's device made
 * this rank's own GPU (cuda:LOCAL_RANK) when it names CUDA.
 */
async function joinLaunchGroup(recipe: Recipe): Promise<{ group: ProcessGroup | null; rankRecipe: Recipe }> {
  const launch = readLaunchEnv();
  if (!launch) return { group: null, rankRecipe: recipe };
  const device = recipe.device.startsWith('cuda') ? `cuda:${launch.localRank}` : recipe.device;
  return { group: await joinProcessGroup(launch, device), rankRecipe: { ...recipe, device } };
}

/** A fold finished earlier (state.json done, oof.json written), or null. */
function finishedFold(run: RunDir, fold: number): FoldResult | null {
  const file = run.foldOof(fold);
  if (!run.readState(fold).done || !fs.existsSync(file)) return null;
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as FoldResult;
  } catch (error) {
    throw invalidData(file, `unreadable fold result (${(error as Error).message})`);
  }
}

async function summarise(
  prepared: Awaited<ReturnType<typeof prepareRun>>,
  results: FoldResult[],
  started: number,
  emit: NonNullable<RunOptions['progress']>,
): Promise<CrossValidationResult> {
  const { run, dataset, recipe } = prepared;
  const oofRows = results.flatMap((r) =>
    r.oof.ids.map((imageName, i) => ({ imageName, label: r.oof.labels[i], fold: r.fold, probability: r.oof.probabilities[i] })),
  );
  await writeOofCsv(run.oofFile, oofRows);
  const oofAuc = aucOrNull(
    oofRows.map((r) => r.label),
    oofRows.map((r) => r.probability),
  );

  let submission: string | null = null;
  let testAuc: number | null = null;
  let testSet: { probabilities: Float64Array; labels?: number[] } | undefined;
  const withTest = results.filter((r) => r.test !== null);
  if (withTest.length > 0) {
    const ensemble = ensembleFolds(
      withTest.map((r) => ({ ids: r.test!.ids, probabilities: r.test!.probabilities, name: `fold ${r.fold}` })),
      { method: recipe.ensemble },
    );
    const sampleSubmit = path.join(dataset.root, 'sample_submit.csv');
    submission = (await writeSubmission(run.submissionFile, { ids: ensemble.ids, probabilities: ensemble.probabilities }, sampleSubmit))
      .file;
    const labels = dataset.hasTestLabels ? dataset.test.map((item) => item.label) : undefined;
    if (labels) testAuc = aucOrNull(labels, Array.from(ensemble.probabilities));
    testSet = { probabilities: ensemble.probabilities, labels };
  }
  const records: EpochRecord[] = results.flatMap((r) =>
    r.epochs.map((e) => ({
      fold: r.fold,
      epoch: e.epoch + 1,
      trainLoss: e.trainLoss,
      trainAuc: e.trainAuc ?? undefined,
      validLoss: e.validLoss,
      validAuc: e.validAuc ?? undefined,
    })),
  );
  const fullTable = formatFoldTable(foldTable(records));
  writeFileAtomic(path.join(run.dir, 'fold-table.txt'), `${fullTable}\n`);
  // The seed's table (every epoch) reads well for a few epochs; longer runs print one line per fold.
  const table = recipe.epochs <= 5 ? fullTable : compactTable(results);
  const images = reportImageDetails(dataset, recipe, results);
  const report = await writeReport(run.dir, {
    title: `foldtorch run ${path.basename(run.dir)} (${recipe.name})`,
    folds: results.map((r) => ({
      fold: r.fold,
      epochs: r.epochs.map(({ epoch, trainLoss, trainAuc, validLoss, validAuc }) => ({
        epoch: epoch + 1,
        trainLoss,
        trainAuc: trainAuc ?? undefined,
        validLoss,
        validAuc: validAuc ?? undefined,
      })),
      lr: r.lrs,
    })),
    oof: { probabilities: oofRows.map((r) => r.probability), labels: oofRows.map((r) => r.label), name: 'out-of-fold', images: images.oof },
    test: testSet
      ? { probabilities: testSet.probabilities, labels: testSet.labels, name: 'test (fold ensemble)', images: images.test }
      : undefined,
    groupColumn: images.groupColumn ?? undefined,
    // A folder dataset's class names (its sub-folders); a CSV dataset's are its label values.
    classNames: dataset.classes.length === 2 ? [dataset.classes[0], dataset.classes[1]] : undefined,
    heatmaps: (picks) => galleryHeatmaps(run, recipe, picks, results[0]?.fold ?? 0),
    notes: [
      results[0]?.ttaNote ?? '',
      `Folds: ${recipe.folds}, grouped by ${recipe.foldGroups}; ensemble: ${recipe.ensemble} of ${withTest.length} folds.`,
      weightsNote(recipe),
      ...(dataset.skipped.length
        ? [`Skipped ${dataset.skipped.length} unreadable images: ${dataset.skipped.map((s) => s.imageName).join(', ')}`]
        : []),
    ].filter(Boolean),
    recipe,
  });
  const seconds = (Date.now() - started) / 1000;
  emit({ type: 'run-end', oofAuc, testAuc, seconds });
  return { run: run.dir, folds: results, oofAuc, testAuc, submission, report: report.html, table, seconds };
}
