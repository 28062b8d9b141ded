/**
 * `npm run fuzz -- safetensors|checkpoint|jpeg|png|csv [--count N] [--seed S] [--out DIR]`: mutates seed files and
 * runs foldtorch's own readers on them in child processes, counting loads, clean errors, crashes and hangs (> 10 s);
 * a JPEG the fast path decodes must decode to sharp's pixels. Failing cases are kept under --out.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { readTrainCsv } from '../src/data/csv';
import { decodeImage } from '../src/data/image';
import { outOfRange, requireInteger } from '../src/errors';
import { loadAddon } from '../src/native/addon';
import { createModel, readSafetensors } from '../src/native/model';
import { createLearner, manualSeed, type Learner } from '../src/train/learner';
import { mutate, Prng, type Format } from './mutate';

export const kFuzzTargets = ['safetensors', 'checkpoint', 'jpeg', 'png', 'csv'] as const;
type Target = (typeof kFuzzTargets)[number];

const kSide = 24;
const kChunk = 2000;
// Test hooks: FOLDTORCH_FUZZ_HANG_MS shortens the hang limit; FOLDTORCH_FUZZ_INJECT="crash:3,hang:5" makes the
// child die or stall at those cases, so the harness's own bookkeeping can be checked.
const kHangMs = Number(process.env.FOLDTORCH_FUZZ_HANG_MS ?? 10_000);
const kStartMs = 120_000;
const kInjected = new Map(
  (process.env.FOLDTORCH_FUZZ_INJECT ?? '')
    .split(',')
    .filter(Boolean)
    .map((item) => {
      const [kind, index] = item.split(':');
      return [Number(index), kind] as const;
    }),
);
const kIdentity = { hflip: false, vflip: false, rot90: 0 as const };
const kFormats: Record<Target, Format> = { safetensors: 'safetensors', checkpoint: 'safetensors', jpeg: 'jpeg', png: 'png', csv: 'csv' };
const kExtensions: Record<Target, string> = {
  safetensors: '.safetensors',
  checkpoint: '.safetensors',
  jpeg: '.jpg',
  png: '.png',
  csv: '.csv',
};

type Outcome = { kind: 'load' | 'error' | 'disagree' | 'crash' | 'hang'; message?: string; unnamed?: boolean };

/** A tiny EVA-02 learner: the checkpoint seeds come from it and the checkpoint cases load into one like it. */
async function tinyLearner(): Promise<Learner> {
  manualSeed(1);
  const model = await createModel('eva02_tiny_patch14_224', {
    numClasses: 2,
    imgSize: 32,
    arch: { patchSize: 8, embedDim: 32, depth: 1, numHeads: 2 },
  });
  return createLearner(model, { optimizer: { lr: 1e-3, numEpochs: 1, numBatchesPerEpoch: 10 }, seed: 1 });
}

/** Valid files of the target's format: what the mutations start from. */
async function makeSeeds(target: Target, dir: string): Promise<string[]> {
  const file = (name: string) => path.join(dir, name);
  const noise = () =>
    sharp({
      create: { width: kSide, height: kSide, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 60 } },
    });
  switch (target) {
    case 'jpeg': {
      const seeds = [file('seed-420.jpg'), file('seed-444.jpg'), file('seed-grey.jpg'), file('seed-progressive.jpg')];
      await noise().jpeg({ quality: 90 }).toFile(seeds[0]);
      await noise().jpeg({ quality: 85, chromaSubsampling: '4:4:4' }).toFile(seeds[1]);
      await noise().greyscale().jpeg({ quality: 90 }).toFile(seeds[2]);
      await noise().jpeg({ quality: 80, progressive: true }).toFile(seeds[3]);
      return seeds;
    }
    case 'png': {
      const seeds = [file('seed-rgb.png'), file('seed-palette.png')];
      await noise().png().toFile(seeds[0]);
      await noise().png({ palette: true, colours: 16 }).toFile(seeds[1]);
      return seeds;
    }
    case 'csv': {
      fs.writeFileSync(file('seed.csv'), 'image_name,label,source\na.jpg,1,x\n"b, ""c"".jpg",0,y\r\nd.jpg,0,z\n');
      return [file('seed.csv')];
    }
    case 'safetensors': {
      const learner = await tinyLearner();
      await learner.model.saveWeights(file('seed.safetensors'), { epoch: '1' });
      learner.model.dispose();
      return [file('seed.safetensors')];
    }
    case 'checkpoint': {
      const learner = await tinyLearner();
      await learner.save(file('seed'), { epoch: 0, nextBatch: 0 });
      learner.model.dispose();
      return [file('seed.safetensors')];
    }
  }
}

/** One case in the child: what the project's reader does with it. */
async function runCase(target: Target, file: string, learner: Learner | null): Promise<Outcome> {
  try {
    switch (target) {
      case 'safetensors':
        await readSafetensors(file);
        break;
      case 'checkpoint':
        await learner!.load(file.replace(/\.safetensors$/, ''));
        break;
      case 'png':
        await decodeImage(file, { size: kSide, interpolation: 'nearest' });
        break;
      case 'csv':
        await readTrainCsv(file);
        break;
      case 'jpeg': {
        const fast = await loadAddon().decodeJpegExact(fs.readFileSync(file), kSide, kIdentity);
        let general: Buffer;
        try {
          general = await decodeImage(file, { size: kSide, interpolation: 'nearest', fastPath: false });
        } catch (error) {
          if (fast) return { kind: 'disagree', message: `the fast path decodes what sharp refuses (${(error as Error).message})` };
          throw error;
        }
        if (fast && !fast.equals(general)) return { kind: 'disagree', message: 'the fast path and sharp decode to different pixels' };
        break;
      }
    }
    return { kind: 'load' };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { kind: 'error', message, unnamed: !message.includes(path.basename(file)) };
  }
}

/** Child mode: runs the listed cases from `start` in order, one JSON line each, so the parent knows where it stopped. */
async function child(target: Target, listFile: string, start: number): Promise<void> {
  const files = fs.readFileSync(listFile, 'utf8').split('\n').filter(Boolean);
  const learner = target === 'checkpoint' ? await tinyLearner() : null;
  process.stdout.write('{"ready":true}\n');
  for (let i = start; i < files.length; i++) {
    if (kInjected.get(i) === 'crash') process.kill(process.pid, 'SIGSEGV');
    if (kInjected.get(i) === 'hang') await new Promise(() => setInterval(() => undefined, 1000));
    const outcome = await runCase(target, files[i], learner);
    process.stdout.write(`${JSON.stringify({ i, ...outcome })}\n`);
  }
}

/** Runs every case in children, restarting after a crash or a hang with the case after the culprit. */
async function runCases(target: Target, listFile: string, count: number): Promise<Outcome[]> {
  const outcomes: Outcome[] = new Array(count);
  let next = 0;
  while (next < count) {
    await new Promise<void>((resolve) => {
      const proc = spawn(process.execPath, [__filename, '--child', target, listFile, String(next)], { stdio: ['ignore', 'pipe', 'pipe'] });
      let buffer = '';
      let stderr = '';
      let hung = false;
      let ready = false;
      // The hang limit counts from the child's "ready" (libtorch and sharp loaded: slow on a busy machine).
      let timer = setTimeout(() => {
        hung = true;
        proc.kill('SIGKILL');
      }, kStartMs);
      proc.stderr.on('data', (chunk) => {
        stderr = (stderr + chunk).slice(-2000);
      });
      proc.stdout.on('data', (chunk) => {
        buffer += chunk;
        const lines = buffer.split('\n');
        buffer = lines.pop() ?? '';
        for (const line of lines) {
          if (!line.startsWith('{"i":') && !line.startsWith('{"ready":')) continue; // anything a library prints
          clearTimeout(timer);
          timer = setTimeout(() => {
            hung = true;
            proc.kill('SIGKILL');
          }, kHangMs);
          ready = true;
          if (line.startsWith('{"ready":')) continue;
          const { i, ...outcome } = JSON.parse(line) as Outcome & { i: number };
          outcomes[i] = outcome;
          next = i + 1;
        }
      });
      proc.on('close', (code, signal) => {
        clearTimeout(timer);
        if (next < count) {
          outcomes[next] = hung
            ? { kind: 'hang', message: ready ? `no answer in ${kHangMs / 1000} s` : `the child did not start in ${kStartMs / 1000} s` }
            : { kind: 'crash', message: `exit ${signal ?? code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}` };
          next += 1;
        }
        resolve();
      });
    });
  }
  return outcomes;
}

export interface FuzzSummary {
  target: Target;
  seed: number;
  files: number;
  loads: number;
  cleanErrors: number;
  /** Clean errors whose message does not name the file, and the first few of their messages. */
  errorsWithoutFileName: number;
  unnamedExamples: string[];
  crashes: number;
  hangs: number;
  disagreements: number;
  seconds: number;
  /** The failing cases (crash, hang, disagreement), copied under --out. */
  kept: string[];
}

export async function fuzz(target: Target, options: { count: number; seed: number; out: string }): Promise<FuzzSummary> {
  const started = Date.now();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `foldtorch-fuzz-${target}-`));
  try {
    const seeds = (await makeSeeds(target, work)).map((file) => fs.readFileSync(file));
    const outcomes: Outcome[] = [];
    const kept: string[] = [];
    // In chunks, so a long run never holds more than kChunk cases on disk.
    for (let first = 0; first < options.count; first += kChunk) {
      const files: string[] = [];
      for (let i = first; i < Math.min(options.count, first + kChunk); i++) {
        const rng = new Prng(options.seed, i);
        const file = path.join(work, `case-${i}${kExtensions[target]}`);
        fs.writeFileSync(file, mutate(seeds[rng.below(seeds.length)], kFormats[target], rng));
        files.push(file);
      }
      const listFile = path.join(work, 'cases.txt');
      fs.writeFileSync(listFile, `${files.join('\n')}\n`);
      (await runCases(target, listFile, files.length)).forEach((outcome, j) => {
        outcomes.push(outcome);
        if (outcome.kind !== 'load' && outcome.kind !== 'error') {
          fs.mkdirSync(options.out, { recursive: true });
          const saved = path.join(options.out, `${target}-${options.seed}-${first + j}-${outcome.kind}${kExtensions[target]}`);
          fs.copyFileSync(files[j], saved);
          fs.writeFileSync(`${saved}.txt`, `${outcome.message ?? ''}\n`);
          kept.push(saved);
        }
      });
      for (const file of files) fs.rmSync(file, { force: true });
    }
    const count = (kind: Outcome['kind']) => outcomes.filter((o) => o.kind === kind).length;
    return {
      target,
      seed: options.seed,
      files: outcomes.length,
      loads: count('load'),
      cleanErrors: count('error'),
      errorsWithoutFileName: outcomes.filter((o) => o.kind === 'error' && o.unnamed).length,
      unnamedExamples: [...new Set(outcomes.filter((o) => o.kind === 'error' && o.unnamed).map((o) => o.message ?? ''))].slice(0, 3),
      crashes: count('crash'),
      hangs: count('hang'),
      disagreements: count('disagree'),
      seconds: (Date.now() - started) / 1000,
      kept,
    };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

function option(args: string[], name: string, fallback: number): number {
  const at = args.indexOf(name);
  return at < 0 ? fallback : requireInteger(name, Number(args[at + 1]), name === '--seed' ? 0 : 1);
}

async function main(args: string[]): Promise<number> {
  if (args[0] === '--child') {
    await child(args[1] as Target, args[2], Number(args[3]));
    return 0;
  }
  const target = args[0] as Target;
  if (!(kFuzzTargets as readonly string[]).includes(target)) throw outOfRange('target', `one of ${kFuzzTargets.join(', ')}`, target);
  const outAt = args.indexOf('--out');
  const summary = await fuzz(target, {
    count: option(args, '--count', 200),
    seed: option(args, '--seed', 1),
    out: outAt < 0 ? path.join('bench', 'tmp', 'fuzz') : args[outAt + 1],
  });
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  return summary.crashes + summary.hangs + summary.disagreements > 0 ? 1 : 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: Error) => {
      process.stderr.write(`fuzz: ${error.message}\n`);
      process.exitCode = 1;
    },
  );
}
