/**
 * Benchmark (not a test): how long the event loop stalls. (1) The addon's first load on the main thread, cold
 * and after preloadAddon() mapped libtorch on a worker thread, each in a fresh process; (2) the event loop's
 * longest stall during a tiny crossValidate (2 folds, 1 epoch, 16 images of 32 px) from a fresh process.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const distSrc = path.resolve(__dirname, '..', 'src');

/** Milliseconds the main thread spends in loadAddon(), measured in a fresh node process. */
function firstLoadMs(preload: boolean): number {
  const script = `
    const { loadAddon, preloadAddon } = require(${JSON.stringify(path.join(distSrc, 'native', 'addon.js'))});
    (async () => {
      if (${preload}) await preloadAddon();
      const started = process.hrtime.bigint();
      loadAddon();
      process.stdout.write(String(Number(process.hrtime.bigint() - started) / 1e6));
    })();`;
  return Number(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }));
}

async function writeDataset(root: string): Promise<void> {
  const sharp = (await import('sharp')).default;
  fs.mkdirSync(path.join(root, 'train'), { recursive: true });
  fs.mkdirSync(path.join(root, 'test'), { recursive: true });
  const rows = ['image_name,label'];
  const submit: string[] = [];
  for (let i = 0; i < 20; i++) {
    const label = i % 2;
    const pixels = Buffer.alloc(32 * 32 * 3, label ? 200 : 40).map((v, j) => (v + ((j * 7 + i * 13) % 50)) & 255);
    const name = `img_${i}.png`;
    const dir = i < 16 ? 'train' : 'test';
    await sharp(pixels, { raw: { width: 32, height: 32, channels: 3 } })
      .png()
      .toFile(path.join(root, dir, name));
    if (i < 16) rows.push(`${name},${label}`);
    else submit.push(`${name},0.5`);
  }
  fs.writeFileSync(path.join(root, 'train.csv'), `${rows.join('\n')}\n`);
  fs.writeFileSync(path.join(root, 'sample_submit.csv'), `${submit.join('\n')}\n`);
}

/** The longest event-loop stall (ms) during a tiny crossValidate, in a fresh process (the addon not yet loaded). */
function crossValidateLagMs(data: string, run: string): { trainingMaxMs: number; summaryMaxMs: number; seconds: number } {
  const script = `
    const { monitorEventLoopDelay } = require('perf_hooks');
    const { crossValidate } = require(${JSON.stringify(path.join(distSrc, 'train', 'crossValidate.js'))});
    const { resolveRecipe } = require(${JSON.stringify(path.join(distSrc, 'train', 'recipe.js'))});
    const recipe = resolveRecipe('demo-cpu-scratch', ['epochs=1', 'folds=2', 'foldGroups=none', 'batchSize=8', 'evalBatchSize=8',
      'model.imgSize=32', 'model.overrides.embedDim=32', 'model.overrides.depth=1', 'model.overrides.numHeads=2', 'tta=hflip', 'amp=fp32']);
    const histogram = monitorEventLoopDelay({ resolution: 5 });
    histogram.enable();
    const started = Date.now();
    // Up to the last fold's end (loading, training, predicting), and after it (oof.csv, submission, report).
    let trainingMax = 0;
    const progress = (event) => {
      if (event.type !== 'fold-end') return;
      trainingMax = Math.max(trainingMax, histogram.max);
      histogram.reset();
    };
    crossValidate(recipe, { data: ${JSON.stringify(data)}, run: ${JSON.stringify(run)}, progress }).then(() => {
      histogram.disable();
      process.stdout.write(JSON.stringify({ trainingMaxMs: trainingMax / 1e6, summaryMaxMs: histogram.max / 1e6, seconds: (Date.now() - started) / 1000 }));
    });`;
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }));
}

export async function runLagBench(): Promise<void> {
  const cold = [firstLoadMs(false), firstLoadMs(false), firstLoadMs(false)];
  const warm = [firstLoadMs(true), firstLoadMs(true), firstLoadMs(true)];
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[1];
  process.stdout.write(
    `addon first load on the main thread: ${median(cold).toFixed(1)} ms cold, ${median(warm).toFixed(1)} ms after preloadAddon() (median of 3)\n`,
  );
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'foldtorch-lag-'));
  try {
    await writeDataset(path.join(root, 'data'));
    const lag = crossValidateLagMs(path.join(root, 'data'), path.join(root, 'run'));
    process.stdout.write(
      `tiny crossValidate (${lag.seconds.toFixed(1)} s), event-loop max lag: ${lag.trainingMaxMs.toFixed(1)} ms up to the last fold's end ` +
        `(addon load, dataset check, training, prediction), ${lag.summaryMaxMs.toFixed(1)} ms after it (oof.csv, submission, report)\n`,
    );
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}
