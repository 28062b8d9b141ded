/** Benchmark (not a test): decode + augment + pack img/s of the sharp loader, and the same steps in Pillow + NumPy. */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, homedir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { kSeedAugment, type TransformConfig } from '../src/data/augment';
import { DecodedCache } from '../src/data/image';
import { loadBatches, type LoaderItem } from '../src/data/loader';
import { loadAddon } from '../src/native/addon';

export interface DataBenchCase {
  name: string;
  images: number;
  size: number;
  nodeImgPerSec: number;
  pythonImgPerSec: number | null;
  target: number;
}

export interface DataBenchOptions {
  /** Where the generated images go (default bench/tmp/data under the repo). */
  dir?: string;
  repeats?: number;
  batchSize?: number;
  log?: (line: string) => void;
}

const kRepoRoot = resolve(__dirname, existsSync(resolve(__dirname, '../package.json')) ? '..' : '../..');
const kCases = [
  { name: '128×128 JPEG', ext: 'jpg', size: 128, count: 1200, target: 1500 },
  { name: '448×448 PNG', ext: 'png', size: 448, count: 150, target: 150 },
] as const;

/** Photo-like content (smoothed noise) so the codecs do realistic work; written once and reused. */
async function generate(dir: string, ext: 'jpg' | 'png', size: number, count: number): Promise<string[]> {
  const folder = join(dir, `${ext}${size}`);
  mkdirSync(folder, { recursive: true });
  const paths: string[] = [];
  for (let i = 0; i < count; i++) {
    const path = join(folder, `${String(i).padStart(5, '0')}.${ext}`);
    paths.push(path);
    if (existsSync(path)) continue;
    const noise = sharp({
      create: { width: size, height: size, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 60 } },
    });
    const smooth = sharp(await noise.png().toBuffer()).blur(1.2);
    await (ext === 'jpg' ? smooth.jpeg({ quality: 90 }) : smooth.png()).toFile(path);
  }
  return paths;
}

async function nodeEpoch(
  items: LoaderItem[],
  transform: TransformConfig,
  batchSize: number,
  epoch: number,
  cache: DecodedCache | null,
  fastPath: boolean,
): Promise<void> {
  const order = items.map((_, i) => i);
  for await (const batch of loadBatches(items, order, { transform, batchSize, seed: 0, epoch, cache, fastPath })) {
    if (batch.data.length === 0) throw new Error('empty batch');
  }
}

/** Best of `repeats` timed epochs after one warm-up epoch (which also fills the cache, if any), in images per second. */
async function timeNode(
  paths: string[],
  size: number,
  batchSize: number,
  repeats: number,
  cache: DecodedCache | null = null,
  fastPath = true,
): Promise<number> {
  const items = paths.map((path) => ({ path, label: 0 }));
  const transform: TransformConfig = { size, interpolation: 'bicubic', mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], augment: kSeedAugment };
  await nodeEpoch(items, transform, batchSize, 0, cache, fastPath);
  let best = Infinity;
  for (let r = 1; r <= repeats; r++) {
    const started = process.hrtime.bigint();
    await nodeEpoch(items, transform, batchSize, r, cache, fastPath);
    best = Math.min(best, Number(process.hrtime.bigint() - started) / 1e9);
  }
  return paths.length / best;
}

/** $FOLDTORCH_BENCH_PYTHON, or a dev-only venv with Pillow + NumPy (created on first use). */
function benchPython(log: (line: string) => void): string | null {
  if (process.env.FOLDTORCH_BENCH_PYTHON) return process.env.FOLDTORCH_BENCH_PYTHON;
  const venv = join(homedir(), '.cache', 'foldtorch', 'bench-venv');
  const python = join(venv, 'bin', 'python');
  try {
    if (!existsSync(python)) {
      log(`creating ${venv} (pip install pillow numpy) for the Pillow comparison`);
      execFileSync('python3', ['-m', 'venv', venv], { stdio: 'ignore' });
      execFileSync(python, ['-m', 'pip', 'install', '--quiet', 'pillow', 'numpy'], { stdio: 'ignore' });
    }
    execFileSync(python, ['-c', 'import PIL, numpy'], { stdio: 'ignore' });
    return python;
  } catch (error) {
    log(`Pillow comparison skipped: no Python with Pillow + NumPy (${(error as Error).message.split('\n')[0]})`);
    return null;
  }
}

function timePython(python: string, paths: string[], size: number, batchSize: number, repeats: number, dir: string): number {
  const script = [join(__dirname, 'data_pillow.py'), join(kRepoRoot, 'bench', 'data_pillow.py')].find((p) => existsSync(p));
  if (script === undefined) throw new Error('bench/data_pillow.py not found');
  const list = join(dir, `list-${size}.txt`);
  writeFileSync(list, `${paths.join('\n')}\n`);
  const out = execFileSync(python, [script, list, String(size), String(batchSize), '0', String(repeats)], { encoding: 'utf8' });
  return (JSON.parse(out.trim().split('\n').pop() ?? '{}') as { img_per_s: number }).img_per_s;
}

/** `npm run bench -- data`: prints and returns img/s for both cases, with the Pillow + NumPy ratio. */
export async function runDataBench(options: DataBenchOptions = {}): Promise<DataBenchCase[]> {
  const log = options.log ?? ((line: string) => console.log(line));
  const dir = options.dir ?? join(kRepoRoot, 'bench', 'tmp', 'data');
  const repeats = options.repeats ?? 3;
  const batchSize = options.batchSize ?? 32;
  const python = benchPython(log);
  log(
    `data bench: decode + flips/rot90 + pack uint8 NHWC, batch ${batchSize}, ${availableParallelism()} cores, sharp ${sharp.versions.sharp} (libvips ${sharp.versions.vips}), JPEG fast path ${loadAddon().jpegFastPath ? 'on (libjpeg-turbo)' : 'off (built without turbojpeg.h)'}`,
  );
  const results: DataBenchCase[] = [];
  for (const c of kCases) {
    const paths = await generate(dir, c.ext, c.size, c.count);
    const nodeRate = await timeNode(paths, c.size, batchSize, repeats);
    const pythonRate = python === null ? null : timePython(python, paths, c.size, batchSize, repeats, dir);
    const ratio = pythonRate === null ? '' : `  Pillow+NumPy ${pythonRate.toFixed(0)} img/s  ratio ${(nodeRate / pythonRate).toFixed(2)}×`;
    const verdict = nodeRate >= c.target ? 'meets' : 'BELOW';
    log(
      `  ${c.name.padEnd(13)} n=${String(c.count).padEnd(5)} foldtorch ${nodeRate.toFixed(0)} img/s${ratio}  (${verdict} target ≥ ${c.target})`,
    );
    results.push({ name: c.name, images: c.count, size: c.size, nodeImgPerSec: nodeRate, pythonImgPerSec: pythonRate, target: c.target });
    if (c.ext === 'jpg') {
      const sharpOnly = await timeNode(paths, c.size, batchSize, repeats, null, false);
      log(
        `  ${`${c.name} sharp only`.padEnd(20)} foldtorch ${sharpOnly.toFixed(0)} img/s (fastPath: false: what the libjpeg-turbo path replaces)`,
      );
      // Small datasets can keep decoded images in memory: later epochs only augment and pack.
      const cached = await timeNode(paths, c.size, batchSize, repeats, new DecodedCache());
      log(`  ${`${c.name} cached`.padEnd(20)} foldtorch ${cached.toFixed(0)} img/s (DecodedCache: augment + pack only, from epoch 2 on)`);
    }
  }
  return results;
}

if (require.main === module) {
  runDataBench().catch((error: Error) => {
    console.error(error.message);
    process.exit(1);
  });
}
