/**
 * Benchmark (not a test): a leak check. 1,000 train steps of a tiny EVA-02 (32 px, batch 8), with an eval forward
 * and a checkpoint save every 100 steps, tracing the process's RSS and the JS heap; the growth from step 200 on
 * (after the allocators warm up) is the figure to watch.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createModel } from '../src/native/model';
import { createLearner, manualSeed } from '../src/train/learner';

export interface SoakSample {
  step: number;
  rssMiB: number;
  heapMiB: number;
}

export interface SoakResult {
  samples: SoakSample[];
  /** RSS at the last sample minus RSS at step 200, in MiB. */
  rssGrowthMiB: number;
  seconds: number;
}

const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

export async function runSoak(options: { steps?: number; every?: number; log?: (line: string) => void } = {}): Promise<SoakResult> {
  const steps = options.steps ?? 1000;
  const every = options.every ?? 50;
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const started = Date.now();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'foldtorch-soak-'));
  manualSeed(1);
  const model = await createModel('eva02_tiny_patch14_224', {
    numClasses: 2,
    imgSize: 32,
    arch: { patchSize: 8, embedDim: 32, depth: 2, numHeads: 2 },
  });
  const learner = await createLearner(model, { optimizer: { lr: 1e-3, numEpochs: 1, numBatchesPerEpoch: steps }, seed: 1 });
  const batch = 8;
  const images = new Uint8Array(batch * 32 * 32 * 3);
  const labels = Array.from({ length: batch }, (_, i) => i % 2);
  const samples: SoakSample[] = [];
  const sample = (step: number) => {
    const usage = process.memoryUsage();
    samples.push({ step, rssMiB: mib(usage.rss), heapMiB: mib(usage.heapUsed) });
    log(
      `step ${String(step).padStart(5)}  rss ${mib(usage.rss).toFixed(1).padStart(7)} MiB  heap ${mib(usage.heapUsed).toFixed(1).padStart(6)} MiB`,
    );
  };
  try {
    sample(0);
    for (let step = 1; step <= steps; step++) {
      for (let i = 0; i < images.length; i++) images[i] = (i * 2654435761 + step * 40503) >>> 24;
      await learner.trainStep(images, labels, { shape: [batch, 32, 32, 3] });
      if (step % 100 === 0) {
        await model.forward(images, { shape: [batch, 32, 32, 3] });
        await learner.save(path.join(dir, 'soak'), { step });
      }
      if (step % every === 0) sample(step);
    }
  } finally {
    learner.dispose();
    model.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const base = samples.find((s) => s.step >= 200) ?? samples[0];
  const rssGrowthMiB = Math.round((samples[samples.length - 1].rssMiB - base.rssMiB) * 10) / 10;
  const seconds = (Date.now() - started) / 1000;
  log(`RSS growth from step ${base.step} to ${steps}: ${rssGrowthMiB} MiB (${seconds.toFixed(1)} s)`);
  return { samples, rssGrowthMiB, seconds };
}
