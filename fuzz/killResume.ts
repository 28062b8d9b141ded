/**
 * `npm run kill-resume -- [--kills N] [--seed S] [--keep]`: trains a tiny recipe once straight through, then again
 * killed with SIGKILL at N random points (after a random progress event, plus 0–40 ms so that some kills land inside
 * saves) and resumed each time, and compares the two run folders byte for byte, timings aside.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { requireInteger } from '../src/errors';
import { kTinyModelOverrides } from '../test/e2e/fixtures';
import { Prng } from './mutate';

const cli = path.resolve(__dirname, '..', 'src', 'cli', 'cli.js');
const kSets = ['name=tiny', 'folds=2', 'epochs=3', 'foldGroups=none', ...kTinyModelOverrides, 'tta=hflip', 'checkpointEvery=1'].flatMap(
  (s) => ['--set', s],
);

/** A two-class dataset in the competition layout: red discs (1) and blue bars (0) on white, 24 train, 8 test. */
async function makeDataset(root: string): Promise<void> {
  for (const sub of ['train', 'test']) fs.mkdirSync(path.join(root, sub), { recursive: true });
  const draw = (file: string, label: number, k: number) => {
    const body =
      label === 1
        ? `<circle cx="${18 + (k % 5) * 3}" cy="${20 + (k % 3) * 4}" r="${9 + (k % 4)}" fill="rgb(${200 + (k % 50)},40,30)"/>`
        : `<rect x="${6 + (k % 5) * 3}" y="${8 + (k % 4) * 2}" width="${12 + (k % 3)}" height="30" fill="rgb(30,60,${190 + (k % 60)})"/>`;
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="48" height="48"><rect width="48" height="48" fill="white"/>${body}</svg>`;
    return sharp(Buffer.from(svg)).jpeg({ quality: 90 }).toFile(file);
  };
  const train = ['image_name,label'];
  for (let i = 0; i < 24; i++) {
    await draw(path.join(root, 'train', `img_${i}.jpg`), i % 2, i);
    train.push(`img_${i}.jpg,${i % 2}`);
  }
  const sample: string[] = [];
  for (let i = 0; i < 8; i++) {
    await draw(path.join(root, 'test', `t_${i}.jpg`), (i + 1) % 2, i + 100);
    sample.push(`t_${i}.jpg,0.5`);
  }
  fs.writeFileSync(path.join(root, 'train.csv'), `${train.join('\n')}\n`);
  fs.writeFileSync(path.join(root, 'sample_submit.csv'), `${sample.join('\n')}\n`);
}

/** Runs `foldtorch train`; with `killAfter`, SIGKILLs it `delayMs` after its killAfter-th JSON event. */
function train(
  args: string[],
  killAfter?: { events: number; delayMs: number },
): Promise<{ code: number | null; killed: boolean; events: number; stderr: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [cli, 'train', '--json', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let events = 0;
    let killed = false;
    let stderr = '';
    proc.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    proc.stdout.on('data', (chunk: Buffer) => {
      events += chunk.toString('utf8').split('\n').length - 1;
      if (killAfter && !killed && events >= killAfter.events) {
        killed = true;
        setTimeout(() => proc.kill('SIGKILL'), killAfter.delayMs);
      }
    });
    proc.on('close', (code) => resolve({ code, killed: killed && code !== 0, events, stderr }));
  });
}

/** Every file under `dir`, relative, sorted. */
function listFiles(dir: string, base = dir): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const full = path.join(dir, entry.name);
      return entry.isDirectory() ? listFiles(full, base) : [path.relative(base, full)];
    })
    .sort();
}

/**
 * File contents with the timings taken out: JSON "seconds" fields, and the report (it prints durations; its
 * summary.json's title names the run folder, which differs between the two runs).
 */
function comparable(file: string, bytes: Buffer): Buffer | string {
  if (/report\.html$|report\/summary\.json$|\.png$|\.svg$/.test(file)) return '(report: not compared)';
  if (/\.(json|jsonl|txt|csv)$/.test(file)) return bytes.toString('utf8').replace(/"seconds":\s*[0-9.e+-]+/g, '"seconds":0');
  return bytes;
}

export interface KillResumeSummary {
  /** Runs killed (one kill point each) and resumes made. */
  kills: number;
  resumes: number;
  files: number;
  /** Relative paths that differ (or exist on one side only), timings aside. */
  differences: string[];
  seconds: number;
}

export async function killResume(options: { kills: number; seed: number; keep: boolean }): Promise<KillResumeSummary> {
  const started = Date.now();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'foldtorch-kill-'));
  try {
    const data = path.join(work, 'data');
    await makeDataset(data);
    const straight = path.join(work, 'straight');
    const reference = await train(['--recipe', 'demo-cpu-scratch', '--data', data, '--run', straight, ...kSets]);
    if (reference.code !== 0) throw new Error(`the uninterrupted run failed: ${reference.stderr.trim()}`);
    const a = listFiles(straight);
    const differences: string[] = [];
    let kills = 0;
    let resumes = 0;
    // One run per kill point, each killed once and resumed (again and again if a resume dies) to the end.
    for (let trial = 0; trial < options.kills; trial++) {
      const rng = new Prng(options.seed, trial);
      const killedRun = path.join(work, `killed-${trial}`);
      const fresh = ['--recipe', 'demo-cpu-scratch', '--data', data, '--run', killedRun, ...kSets];
      let killAfter: { events: number; delayMs: number } | undefined = { events: 1 + rng.below(reference.events), delayMs: rng.below(40) };
      for (let attempt = 0; attempt < 5; attempt++) {
        // A kill before recipe.json was written leaves nothing to resume: that start is made again.
        const resume = fs.existsSync(path.join(killedRun, 'recipe.json'));
        const result = await train(resume ? ['--resume', killedRun, '--data', data] : fresh, killAfter);
        killAfter = undefined;
        if (resume) resumes++;
        if (result.killed) kills++;
        else if (result.code !== 0) throw new Error(`${killedRun} failed: ${result.stderr.trim()}`);
        else break;
      }
      const b = listFiles(killedRun);
      for (const file of [...new Set([...a, ...b])].sort()) {
        const same =
          a.includes(file) &&
          b.includes(file) &&
          (() => {
            const x = comparable(file, fs.readFileSync(path.join(straight, file)));
            const y = comparable(file, fs.readFileSync(path.join(killedRun, file)));
            return typeof x === 'string' ? x === y : Buffer.isBuffer(y) && x.equals(y);
          })();
        if (!same) differences.push(path.join(`killed-${trial}`, file));
      }
    }
    return { kills, resumes, files: a.length, differences, seconds: (Date.now() - started) / 1000 };
  } finally {
    if (!options.keep) fs.rmSync(work, { recursive: true, force: true });
    else process.stderr.write(`kept ${work}\n`);
  }
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const value = (name: string, fallback: number) =>
    args.includes(name) ? requireInteger(name, Number(args[args.indexOf(name) + 1]), 0) : fallback;
  killResume({ kills: value('--kills', 10), seed: value('--seed', 1), keep: args.includes('--keep') }).then(
    (summary) => {
      process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
      process.exitCode = summary.differences.length > 0 ? 1 : 0;
    },
    (error: Error) => {
      process.stderr.write(`kill-resume: ${error.message}\n`);
      process.exitCode = 1;
    },
  );
}
