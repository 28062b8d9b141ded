/** Finds a dataset's images and labels: the competition layout (train.csv, train/, test/, sample_submit.csv) or one folder per class. */
import { promises as fs, type Stats } from 'node:fs';
import { extname, join, relative } from 'node:path';
import { invalidData, invalidType, requireChoice } from '../errors';
import { csvWhere, kDefaultClasses, readCsvTable, readLabelCsv, readSampleSubmit } from './csv';
import { kDefaultPixelLimit, probeImage, verifyImage } from './image';

export const kImageExtensions = ['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif'] as const;
export const kVerifyModes = ['none', 'header', 'full', 'auto'] as const;
/** `auto` decodes every image in full when that is estimated to take at most this long, else reads headers. */
export const kAutoVerifySeconds = 5;
export type VerifyMode = (typeof kVerifyModes)[number];

export interface ImageItem {
  imageName: string;
  path: string;
  /** Class index, or -1 when unknown (a test image without answer labels). */
  label: number;
}

export interface SkippedImage {
  imageName: string;
  path: string;
  reason: string;
}

export interface Dataset {
  layout: 'competition' | 'folders';
  root: string;
  /** Label values (competition) or folder names (folders), in class-index order. */
  classes: string[];
  train: ImageItem[];
  /** In sample_submit.csv order: the submission's order. */
  test: ImageItem[];
  hasTestLabels: boolean;
  /** answer/meta.csv rows by image name (style, family, hexcode, ... for the emoji dataset), if present. */
  meta: Map<string, Record<string, string>> | null;
  /** Images left out because `skipUnreadable` was set, with the reason: for the run log. */
  skipped: SkippedImage[];
}

export interface DatasetOptions {
  /** Allowed labels of train.csv in class-index order (default 0, 1). */
  classes?: readonly string[];
  /**
   * 'header' (default) reads every image header, 'full' decodes every image, 'none' only checks the files, 'auto'
   * decodes every image when a timed sample says the whole set takes at most kAutoVerifySeconds, else 'header'.
   */
  verify?: VerifyMode;
  /** Leave out missing, empty or unreadable images (listed in `skipped`) instead of failing. */
  skipUnreadable?: boolean;
  limitInputPixels?: number;
}

/** macOS zip litter: `__MACOSX/` folders and `._name` resource forks; also other dot files. */
export function isIgnoredEntry(name: string): boolean {
  return name === '__MACOSX' || name.startsWith('.');
}

async function statOrNull(path: string): Promise<Stats | null> {
  try {
    return await fs.stat(path);
  } catch {
    return null;
  }
}

async function exists(path: string): Promise<boolean> {
  return (await statOrNull(path)) !== null;
}

/** The file-level problem of a listed image, or null when it is a non-empty file. */
async function fileProblem(path: string): Promise<string | null> {
  const stats = await statOrNull(path);
  if (stats === null) return `${path} does not exist`;
  if (stats.isDirectory()) return `${path} is a directory, not an image`;
  if (!stats.isFile()) return `${path} is not a regular file`;
  if (stats.size === 0) return `${path} is empty (0 bytes)`;
  return null;
}

/** Runs `task` over items with a small concurrency, in order of results. */
async function mapLimited<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

interface Listed extends ImageItem {
  where: string;
}

/** Images decoded in parallel: sharp's decodes run on libuv's pool (4 threads unless UV_THREADPOOL_SIZE says). */
const kDecodeParallelism = 8;
const kAutoSample = 12;

/**
 * 'auto' → 'full' when decoding a sample spread over the list, scaled to the whole list at the pool's
 * parallelism, is estimated at most kAutoVerifySeconds; else 'header'. Other modes pass through.
 */
export async function resolveVerifyMode(
  listed: readonly { path: string }[],
  verify: VerifyMode,
  limit = kDefaultPixelLimit,
): Promise<Exclude<VerifyMode, 'auto'>> {
  if (verify !== 'auto') return verify;
  if (listed.length === 0) return 'full';
  const count = Math.min(kAutoSample, listed.length);
  const sample = Array.from({ length: count }, (_, i) => listed[Math.floor((i * listed.length) / count)]);
  const started = process.hrtime.bigint();
  // A bad image in the sample is found again (and named) by the full check itself.
  for (const item of sample) await verifyImage(item.path, limit).catch(() => undefined);
  const perImage = Number(process.hrtime.bigint() - started) / 1e9 / count;
  const threads = Math.max(1, Math.min(Number(process.env.UV_THREADPOOL_SIZE) || 4, kDecodeParallelism));
  return (perImage * listed.length) / threads <= kAutoVerifySeconds ? 'full' : 'header';
}

/** One error naming every bad image (the first in the usual "{file} line {n}: {problem}" form). */
function unreadableError(bad: readonly { where: string; problem: string }[]): Error {
  const [first, ...others] = bad;
  const more =
    others.length === 0
      ? ''
      : `\n${others.length} more unreadable image${others.length === 1 ? '' : 's'}:\n${others.map((b) => `  ${b.where}: ${b.problem}`).join('\n')}`;
  return invalidData(first.where, `${first.problem}${more}${bad.length > 1 ? '\n(--skip-unreadable leaves them out)' : ''}`);
}

/** Checks listed images; returns the good ones, throwing (naming every bad one) or (skipUnreadable) collecting them. */
async function checkImages(listed: readonly Listed[], options: DatasetOptions, skipped: SkippedImage[]): Promise<ImageItem[]> {
  const limit = options.limitInputPixels ?? kDefaultPixelLimit;
  const verify = await resolveVerifyMode(listed, requireChoice('verify', options.verify ?? 'header', kVerifyModes), limit);
  const problems = await mapLimited(listed, kDecodeParallelism, async (item): Promise<string | null> => {
    const problem = await fileProblem(item.path);
    if (problem !== null || verify === 'none') return problem;
    try {
      if (verify === 'header') await probeImage(item.path, limit);
      else await verifyImage(item.path, limit);
      return null;
    } catch (error) {
      return (error as Error).message;
    }
  });
  const good: ImageItem[] = [];
  const bad: { where: string; problem: string }[] = [];
  listed.forEach((item, i) => {
    const problem = problems[i];
    if (problem === null) good.push({ imageName: item.imageName, path: item.path, label: item.label });
    else if (options.skipUnreadable) skipped.push({ imageName: item.imageName, path: item.path, reason: problem });
    else bad.push({ where: item.where, problem });
  });
  if (bad.length > 0) throw unreadableError(bad);
  return good;
}

async function readTestLabels(root: string, classes: readonly string[]): Promise<Map<string, number> | null> {
  const file = join(root, 'answer', 'test_labels.csv');
  if (!(await exists(file))) return null;
  const rows = await readLabelCsv(file, { classes });
  return new Map(rows.map((row) => [row.imageName, row.label]));
}

async function readMeta(root: string): Promise<Map<string, Record<string, string>> | null> {
  const file = join(root, 'answer', 'meta.csv');
  if (!(await exists(file))) return null;
  const { rows } = await readCsvTable(file, ['image_name']);
  return new Map(rows.map((row) => [row.values.image_name, row.values]));
}

/** Loads the competition layout; either half (train.csv + train/, sample_submit.csv + test/) may be absent, not both. */
export async function loadCompetitionDataset(root: string, options: DatasetOptions = {}): Promise<Dataset> {
  const classes = [...(options.classes ?? kDefaultClasses)];
  const trainCsv = join(root, 'train.csv');
  const submitCsv = join(root, 'sample_submit.csv');
  const hasTrain = await exists(trainCsv);
  const hasTest = await exists(submitCsv);
  if (!hasTrain && !hasTest) throw invalidData(root, 'Expected train.csv or sample_submit.csv in the competition layout but found neither');
  const listedTrain: Listed[] = hasTrain
    ? (await readLabelCsv(trainCsv, { classes })).map((row) => ({
        imageName: row.imageName,
        path: join(root, 'train', row.imageName),
        label: row.label,
        where: csvWhere(trainCsv, row.line),
      }))
    : [];
  const testLabels = hasTest ? await readTestLabels(root, classes) : null;
  const listedTest: Listed[] = hasTest
    ? (await readSampleSubmit(submitCsv)).map((row) => {
        const label = testLabels === null ? -1 : testLabels.get(row.imageName);
        if (label === undefined) {
          throw invalidData(csvWhere(submitCsv, row.line), `image ${JSON.stringify(row.imageName)} has no label in answer/test_labels.csv`);
        }
        return { imageName: row.imageName, path: join(root, 'test', row.imageName), label, where: csvWhere(submitCsv, row.line) };
      })
    : [];
  const skipped: SkippedImage[] = [];
  // 'auto' decides once for both halves: the time budget is the dataset's.
  const checked = {
    ...options,
    verify: await resolveVerifyMode(
      [...listedTrain, ...listedTest],
      requireChoice('verify', options.verify ?? 'header', kVerifyModes),
      options.limitInputPixels,
    ),
  };
  return {
    layout: 'competition',
    root,
    classes,
    train: await checkImages(listedTrain, checked, skipped),
    test: await checkImages(listedTest, checked, skipped),
    hasTestLabels: testLabels !== null,
    meta: await readMeta(root),
    skipped,
  };
}

/** Image files under `dir` (recursive, sorted by relative path); a folder named like an image is an error. */
async function listImages(dir: string, base: string): Promise<string[]> {
  const entries = (await fs.readdir(dir, { withFileTypes: true })).filter((e) => !isIgnoredEntry(e.name));
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const found: string[] = [];
  for (const entry of entries) {
    const path = join(dir, entry.name);
    const isImageName = (kImageExtensions as readonly string[]).includes(extname(entry.name).toLowerCase());
    if (entry.isDirectory()) {
      if (isImageName) throw invalidData(path, `${path} is a directory, not an image`);
      found.push(...(await listImages(path, base)));
    } else if (isImageName) {
      found.push(relative(base, path));
    }
  }
  return found;
}

/** One sub-folder per class (torchvision ImageFolder): classes are the folder names in sorted order. */
export async function loadFolderDataset(root: string, options: DatasetOptions = {}): Promise<Dataset> {
  const entries = (await fs.readdir(root, { withFileTypes: true })).filter((e) => e.isDirectory() && !isIgnoredEntry(e.name));
  const classes = entries.map((e) => e.name).sort();
  if (classes.length < 2) throw invalidData(root, `Expected at least 2 class folders but found ${classes.length}`);
  const listed: Listed[] = [];
  for (const [label, name] of classes.entries()) {
    for (const file of await listImages(join(root, name), root)) {
      listed.push({ imageName: file, path: join(root, file), label, where: join(root, file) });
    }
  }
  const skipped: SkippedImage[] = [];
  const train = await checkImages(listed, options, skipped);
  return { layout: 'folders', root, classes, train, test: [], hasTestLabels: false, meta: null, skipped };
}

/** Detects the layout: train.csv or sample_submit.csv → competition, otherwise one folder per class. */
export async function loadDataset(root: string, options: DatasetOptions = {}): Promise<Dataset> {
  if (typeof root !== 'string' || root === '') throw invalidType('root', 'a dataset folder path', root);
  const stats = await statOrNull(root);
  if (stats === null || !stats.isDirectory()) throw invalidData(root, 'Expected a dataset folder but it does not exist or is not a folder');
  if ((await exists(join(root, 'train.csv'))) || (await exists(join(root, 'sample_submit.csv')))) {
    return loadCompetitionDataset(root, options);
  }
  return loadFolderDataset(root, options);
}

/** Group ids for StratifiedGroupKFold from a meta.csv column (e.g. 'family', 'style', 'hexcode'). */
export function metaGroups(dataset: Dataset, column: string, items: readonly ImageItem[] = dataset.train): string[] {
  if (dataset.meta === null)
    throw invalidData(dataset.root, `Expected answer/meta.csv for groups by ${JSON.stringify(column)} but there is none`);
  return items.map((item) => {
    const row = dataset.meta?.get(item.imageName);
    if (row === undefined || row[column] === undefined) {
      throw invalidData(
        join(dataset.root, 'answer', 'meta.csv'),
        `no ${JSON.stringify(column)} for image ${JSON.stringify(item.imageName)}`,
      );
    }
    return row[column];
  });
}
