/**
 * Benchmark (not a test): the event loop's worst stall while writing the report of a realistic run — 5 folds of 30
 * epochs, 6,540 learning-rate steps, 574 out-of-fold and 124 test images with files, 8 TTA views, 8 art styles and
 * a Grad-CAM map per gallery image.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import sharp from 'sharp';
import { heatmapKey } from '../src/report/gallery';
import { writeReport, type ReportData } from '../src/report/report';

const kRepoRoot = resolve(__dirname, existsSync(resolve(__dirname, '../package.json')) ? '..' : '../..');
const kStyles = ['twemoji', 'noto', 'noto-v1', 'emojione', 'emojione-v1', 'fxemoji', 'streamline', 'openmoji'];

export interface ReportBenchResult {
  seconds: number;
  /** Longest stall of the event loop while the report was written (ms). */
  maxLagMs: number;
  p99LagMs: number;
  /** The longest gap between 1 ms timer ticks (ms): what a progress bar or a socket would notice. */
  maxTickGapMs: number;
}

/** A deterministic pseudo-random stream (the figures must not depend on Math.random). */
function stream(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
}

async function images(dir: string, count: number): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const file = join(dir, `${i}.jpg`);
    if (!existsSync(file)) {
      const colour = { r: (i * 37) % 256, g: (i * 91) % 256, b: (i * 53) % 256 };
      await sharp({ create: { width: 128, height: 128, channels: 3, background: colour } })
        .jpeg({ quality: 90 })
        .toFile(file);
    }
    files.push(file);
  }
  return files;
}

/** The report data of a run of the emoji dataset's size, with image files under `dir`. */
export async function realisticReportData(dir: string): Promise<ReportData> {
  const random = stream(7);
  const [oofCount, testCount, views] = [574, 124, 8];
  const files = await images(join(dir, 'images'), oofCount + testCount);
  const scored = (count: number, offset: number) => {
    const labels = Array.from({ length: count }, (_, i) => (i % 6 === 0 ? 0 : 1));
    const probabilities = labels.map((y) => Math.min(1, Math.max(0, (y ? 0.7 : 0.3) + (random() - 0.5) * 0.9)));
    return {
      labels,
      probabilities,
      images: {
        ids: labels.map((_, i) => `img_${offset + i}.jpg`),
        paths: files.slice(offset, offset + count),
        groups: labels.map((_, i) => kStyles[(offset + i) % kStyles.length]),
        views: probabilities.map((p) => Array.from({ length: views }, () => Math.min(1, Math.max(0, p + (random() - 0.5) * 0.3)))),
        ...(offset === 0 ? { folds: labels.map((_, i) => i % 5) } : {}),
      },
    };
  };
  return {
    title: 'bench: a realistic run',
    folds: Array.from({ length: 5 }, (_, fold) => ({
      fold,
      epochs: Array.from({ length: 30 }, (_, e) => ({
        epoch: e + 1,
        trainLoss: 0.7 / (e + 1),
        validLoss: 0.6 / (e + 1) + 0.1,
        trainAuc: 0.9,
        validAuc: 0.8 + e / 300,
      })),
      lr: Array.from({ length: 1308 }, (_, s) => 1e-4 * Math.min(1, s / 100) * (1 - s / 1308)),
    })),
    oof: { ...scored(oofCount, 0), name: 'out-of-fold' },
    test: { ...scored(testCount, oofCount), name: 'test (fold ensemble)' },
    classNames: ['drink', 'food'],
    groupColumn: 'style',
    notes: ['TTA: 8 views, all distinct.'],
    recipe: { name: 'bench' },
    heatmaps: async (picks) =>
      new Map(picks.map((p) => [heatmapKey(p), { width: 4, height: 4, data: Array.from({ length: 16 }, () => random()) }])),
  };
}

/** Writes the report of realisticReportData while the event loop's delay is measured. */
export async function measureReport(dir: string): Promise<ReportBenchResult> {
  const data = await realisticReportData(dir);
  const run = join(dir, 'run');
  rmSync(run, { recursive: true, force: true });
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  let last = performance.now();
  let maxGap = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
  }, 1);
  histogram.enable();
  const started = performance.now();
  await writeReport(run, data);
  const seconds = (performance.now() - started) / 1000;
  histogram.disable();
  clearInterval(timer);
  return { seconds, maxLagMs: histogram.max / 1e6, p99LagMs: histogram.percentile(99) / 1e6, maxTickGapMs: maxGap };
}

export async function runReportBench(
  log: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): Promise<ReportBenchResult[]> {
  const dir = join(kRepoRoot, 'bench', 'tmp', 'report');
  const results: ReportBenchResult[] = [];
  // The first write loads sharp's and the worker's modules: reported, and the two after it show the steady state.
  for (let i = 0; i < 3; i++) {
    const r = await measureReport(dir);
    results.push(r);
    log(
      `report ${i + 1}: ${r.seconds.toFixed(2)} s; event-loop lag max ${r.maxLagMs.toFixed(1)} ms, p99 ${r.p99LagMs.toFixed(1)} ms; longest 1 ms timer gap ${r.maxTickGapMs.toFixed(1)} ms`,
    );
  }
  return results;
}
