// The foundation: the addon loads, doctor reports real values, the tensor bridge is exact, the event loop stays
// free during native work, and native failures arrive as JS errors.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadAddon } from '../../src/native/addon';
import { doctor, imagesToTensor, setNumThreads } from '../../src/native/runtime';
import { raiseNativeError } from '../../src/testing';

const repoRoot = path.resolve(__dirname, '..', '..');

function expectedThreads(): number {
  const fromEnv = Number(process.env.FOLDTORCH_NUM_THREADS);
  return fromEnv > 0 ? fromEnv : (os.availableParallelism?.() ?? os.cpus().length);
}

describe('addon and doctor', () => {
  test('doctor reports the located libtorch, real threads and BLAS', async () => {
    const located = JSON.parse(execFileSync('node', [path.join(repoRoot, 'scripts', 'libtorch.js'), '--json'], { encoding: 'utf8' }));
    const report = await doctor();
    expect(located.version.startsWith(report.torchVersion)).toBe(true);
    expect(report.intraOpThreads).toBe(expectedThreads());
    expect(report.availableCores).toBe(os.availableParallelism?.() ?? os.cpus().length);
    expect(report.blas.length).toBeGreaterThan(0);
    expect(report.cpuCapability).toMatch(/^(DEFAULT|AVX2|AVX512|ZVECTOR|VSX|SVE\d*|NEON)$/);
    expect(report.addonPath).toMatch(/foldtorch\.node$/);
    expect(report.builtWithCuda).toBe(report.cudaDevices.length > 0 || report.builtWithCuda);
    if (!report.builtWithCuda) expect(report.cudaAvailable).toBe(false);
  });

  test('setNumThreads validates and applies to the compute thread', async () => {
    expect(() => setNumThreads(0)).toThrow('Expected an integer from 1 to 1024 for threads but received 0');
    setNumThreads(1);
    expect((await doctor()).intraOpThreads).toBe(1);
    expect((await doctor()).kernelThreads).toBe(1);
    // Our own kernels' chunks run on the same OpenMP threads as ATen's (an addon compiled without -fopenmp ran
    // them all on one, at::parallel_for being a header template).
    setNumThreads(2);
    expect(await doctor()).toMatchObject({ intraOpThreads: 2, kernelThreads: 2 });
    setNumThreads(expectedThreads());
    expect((await doctor()).intraOpThreads).toBe(expectedThreads());
  });
});

describe('tensor bridge', () => {
  // Two 2x3 RGB images with distinct values at each position.
  const shape: [number, number, number, number] = [2, 2, 3, 3];
  const pixels = Buffer.from(Array.from({ length: 36 }, (_, i) => (i * 37) % 256));
  const at = (b: number, y: number, x: number, c: number) => pixels[((b * 2 + y) * 3 + x) * 3 + c];

  test('uint8 NHWC → float32 NCHW keeps every pixel in place (x/255, mean 0, std 1)', async () => {
    const t = await imagesToTensor(pixels, { shape, mean: [0, 0, 0], std: [1, 1, 1] });
    expect(t.shape).toEqual([2, 3, 2, 3]);
    for (let b = 0; b < 2; b++)
      for (let c = 0; c < 3; c++)
        for (let y = 0; y < 2; y++)
          for (let x = 0; x < 3; x++) {
            expect(t.data[((b * 3 + c) * 2 + y) * 3 + x]).toBe(Math.fround(at(b, y, x, c) / 255));
          }
  });

  test('normalisation matches (x/255 − mean)/std computed by hand in float32', async () => {
    const mean = [0.48145466, 0.4578275, 0.40821073];
    const std = [0.26862954, 0.26130258, 0.27577711];
    for (const channelsLast of [false, true]) {
      const t = await imagesToTensor(pixels, { shape, mean, std, channelsLast });
      for (let b = 0; b < 2; b++)
        for (let c = 0; c < 3; c++)
          for (let y = 0; y < 2; y++)
            for (let x = 0; x < 3; x++) {
              const f = Math.fround;
              const expected = f(f(f(at(b, y, x, c) / 255) - f(mean[c])) / f(std[c]));
              expect(Math.abs(t.data[((b * 3 + c) * 2 + y) * 3 + x] - expected)).toBeLessThanOrEqual(1e-6);
            }
    }
  });

  test('bad input gets a worded TypeError/RangeError naming the argument', async () => {
    const norm = { mean: [0, 0, 0], std: [1, 1, 1] };
    await expect(imagesToTensor(Buffer.alloc(10), { shape: [1, 2, 2, 3], ...norm })).rejects.toThrow(
      'Expected 12 bytes for shape [1, 2, 2, 3] for images but received a Buffer of 10 bytes',
    );
    await expect(imagesToTensor(Buffer.alloc(0), { shape: [0, 2, 2, 3], ...norm })).rejects.toThrow(
      'Expected an integer from 1 to 9007199254740991 for images shape batch but received 0',
    );
    await expect(imagesToTensor(Buffer.alloc(12), { shape: [-1, 2, 2, 3], ...norm })).rejects.toThrow(RangeError);
    await expect(imagesToTensor('pixels' as unknown as Buffer, { shape: [1, 2, 2, 3], ...norm })).rejects.toThrow(
      'Expected a Buffer or Uint8Array for images but received "pixels"',
    );
    await expect(imagesToTensor(Buffer.alloc(12), { shape: [1, 2, 2, 3], mean: [0, 0], std: [1, 1, 1] })).rejects.toThrow(
      'Expected an array of 3 numbers (one per channel) for mean but received an array of length 2',
    );
    await expect(imagesToTensor(Buffer.alloc(12), { shape: [1, 2, 2, 3], mean: [0, 0, 0], std: [1, 0, 1] })).rejects.toThrow(
      'Expected positive numbers for std',
    );
    await expect(imagesToTensor(Buffer.alloc(12), { shape: [1, 2, 2, 3], ...norm, device: 'gpu' })).rejects.toThrow(
      'Expected "cpu", "cuda" or "cuda:N" for device but received "gpu"',
    );
  });

  test('the native layer re-checks what would crash, with the same wording', () => {
    const addon = loadAddon();
    const call = (buffer: unknown, options: unknown) => addon.imagesToTensor(buffer as Buffer, options as never);
    expect(() => call(Buffer.alloc(2), { shape: [1, 1, 2, 3], mean: [0, 0, 0], std: [1, 1, 1], device: 'cpu' })).toThrow(
      new RangeError('Expected 6 bytes (1x1x2x3) for images but received 2'),
    );
    expect(() => call(Buffer.alloc(6), { shape: [1, 1, 2, 3], mean: [0], std: [1, 1, 1], device: 'cpu' })).toThrow(
      'Expected mean and std of length 3 for imagesToTensor options but received 1 and 3',
    );
    expect(() => call(Buffer.alloc(6), { shape: [0, 1, 2, 3], mean: [0, 0, 0], std: [1, 1, 1], device: 'cpu' })).toThrow(
      'Expected a positive batch for images but received 0',
    );
    expect(() => call(Buffer.alloc(6), { shape: [1, 1, 2, 3], mean: [0, 0, 0], std: [1, 1, 1], device: 'tpu' })).toThrow(
      'Expected "cpu", "cuda" or "cuda:N" for imagesToTensor options.device but received "tpu"',
    );
    // One native precision parser: every call that takes a dtype name refuses an unknown one in the same words.
    expect(() => addon.matmulBenchmark({ size: 8, repeats: 1, dtype: 'fp32' as never })).toThrow(
      'Expected "float32", "bfloat16" or "float16" for dtype but received "fp32"',
    );
  });

  test('cuda on a machine without CUDA is a RangeError, not a crash', async () => {
    const report = await doctor();
    if (report.cudaAvailable) {
      console.log('skipped: this machine has CUDA; the no-CUDA error path cannot be shown here');
      return;
    }
    await expect(imagesToTensor(Buffer.alloc(3), { shape: [1, 1, 1, 3], mean: [0, 0, 0], std: [1, 1, 1], device: 'cuda' })).rejects.toThrow(
      /Expected an available device for imagesToTensor options.device but received "cuda": (this addon was built without CUDA|no CUDA device)/,
    );
  });
});

describe('asynchronous native work', () => {
  test('a JS timer keeps firing while a long native op runs', async () => {
    const addon = loadAddon();
    let ticks = 0;
    let last = Date.now();
    let worstLag = 0;
    const timer = setInterval(() => {
      const now = Date.now();
      worstLag = Math.max(worstLag, now - last - 10);
      last = now;
      ticks++;
    }, 10);
    const started = Date.now();
    await addon.matmulBenchmark({ size: 1536, repeats: 40, device: 'cpu' });
    const elapsed = Date.now() - started;
    clearInterval(timer);
    // The op itself takes hundreds of ms; the JS thread stayed free to run the timer throughout.
    expect(elapsed).toBeGreaterThan(100);
    expect(ticks).toBeGreaterThanOrEqual(Math.floor(elapsed / 10 / 4));
    expect(worstLag).toBeLessThan(Math.max(250, elapsed / 2));
  });

  test.each([
    ['type', 'TypeError', 'selfcheck: a type error (got type)'],
    ['value', 'RangeError', 'selfcheck: a value error (got value)'],
    ['error', 'Error', 'selfcheck: a native error (got error)'],
  ])('a native %s exception arrives as a %s with its message and the caller stack', async (kind, name, message) => {
    // Errors made by the addon belong to Node's main realm, not jest's sandbox: compare by name.
    const error = await raiseNativeError(kind as 'type').catch((e: Error) => e);
    expect((error as Error).name).toBe(name);
    expect((error as Error).message).toBe(message);
    expect((error as Error).message).not.toMatch(/Exception raised from|frame #/);
    expect((error as Error).stack).toContain('bridge.test.ts');
  });

  test('an ATen error inside an op is a JS Error without the C++ backtrace', async () => {
    const error = (await raiseNativeError('shape').catch((e: Error) => e)) as Error & { code: string };
    expect(error.message).toMatch(/mat1 and mat2 shapes cannot be multiplied \(2x3 and 2x3\)/);
    expect(error.message).not.toMatch(/frame #/);
    expect(error.code).toBe('ERR_NATIVE');
  });
});

describe('prebuilt binary (the CI inference path)', () => {
  const prebuilt = path.join(repoRoot, 'prebuilds', 'linux-x64', 'foldtorch.node');
  const loader = path.join(repoRoot, 'dist', 'src', 'native', 'addon.js');

  test('loads and runs from a clean copy with no build/ folder', () => {
    expect(fs.existsSync(prebuilt)).toBe(true);
    expect(fs.existsSync(loader)).toBe(true);
    const clean = fs.mkdtempSync(path.join(os.tmpdir(), 'foldtorch-prebuilt-'));
    // The prebuilt, its libtorch preloader and foldtorch.json, as the package ships them.
    fs.cpSync(path.dirname(prebuilt), path.join(clean, 'prebuilds', 'linux-x64'), { recursive: true });
    const script = `
      const { loadAddon, addonLocation } = require(${JSON.stringify(loader)});
      const addon = loadAddon(${JSON.stringify(clean)});
      addon.imagesToTensor(Buffer.from([0, 51, 255]), { shape: [1, 1, 1, 3], mean: [0, 0, 0], std: [1, 1, 1], device: 'cpu' })
        .then((t) => console.log(JSON.stringify({ kind: addonLocation().kind, data: Array.from(t.data) })));`;
    const env = { ...process.env };
    delete env.FOLDTORCH_ADDON;
    const out = JSON.parse(execFileSync('node', ['-e', script], { cwd: clean, env, encoding: 'utf8' }));
    expect(out).toEqual({ kind: 'prebuilt', data: [0, 0.20000000298023224, 1] });
    fs.rmSync(clean, { recursive: true, force: true });
  });

  test('with neither build, the error lists the causes and the fixing command', () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'foldtorch-none-'));
    const script = `try { require(${JSON.stringify(loader)}).loadAddon(${JSON.stringify(empty)}) } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })) }`;
    const env = { ...process.env };
    delete env.FOLDTORCH_ADDON;
    const out = JSON.parse(execFileSync('node', ['-e', script], { env, encoding: 'utf8' }));
    expect(out.code).toBe('ERR_ADDON_LOAD');
    expect(out.message).toContain(`local build: ${path.join(empty, 'build', 'Release', 'foldtorch.node')} does not exist`);
    expect(out.message).toMatch(/\n {2}- libtorch: torch \d+\.\d+\.\d+\S* \(\w+\) at \//);
    expect(out.message).toContain('1. No torch on this machine: run `npx foldtorch setup`');
    expect(out.message).toContain('2. The addon was never built for this torch, and no prebuilt fits it: run `npx foldtorch build`');
    fs.rmSync(empty, { recursive: true, force: true });
  });

  test('without any torch, the prebuilt is not tried and the error says to run setup', () => {
    const clean = fs.mkdtempSync(path.join(os.tmpdir(), 'foldtorch-notorch-'));
    fs.cpSync(path.dirname(prebuilt), path.join(clean, 'prebuilds', 'linux-x64'), { recursive: true });
    const script = `try { require(${JSON.stringify(loader)}).loadAddon(${JSON.stringify(clean)}); console.log('{}') } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })) }`;
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: '/nonexistent', FOLDTORCH_ENV: path.join(clean, 'no-env') };
    for (const key of ['FOLDTORCH_ADDON', 'FOLDTORCH_PYTHON', 'LIBTORCH']) delete env[key];
    const out = JSON.parse(execFileSync(process.execPath, ['-e', script], { env, encoding: 'utf8' }));
    expect(out.code).toBe('ERR_ADDON_LOAD');
    expect(out.message).toContain(
      '  - libtorch: not found (no LIBTORCH, no FOLDTORCH_PYTHON, no project environment, no python3 with torch)\n',
    );
    expect(out.message).toContain(
      `  - prebuilt: ${path.join(clean, 'prebuilds', 'linux-x64', 'foldtorch.node')} needs libtorch, and none was found (see above)\n`,
    );
    expect(out.message).toContain(
      `1. No torch on this machine: run \`npx foldtorch setup\` (installs torch==2.13.0 for CPU into ${path.join(clean, 'no-env')};`,
    );
    fs.rmSync(clean, { recursive: true, force: true });
  });

  test('the preloader: dlopen errors as ERR_ADDON_LOAD, bad arguments by name', () => {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const { preload } = require(path.join(path.dirname(prebuilt), 'foldtorch_preload.node')) as { preload(file?: unknown): void };
    expect(() => preload('/nonexistent/libtorch.so')).toThrow(
      expect.objectContaining({
        code: 'ERR_ADDON_LOAD',
        message: expect.stringContaining('/nonexistent/libtorch.so: cannot open shared object file'),
      }),
    );
    expect(() => preload()).toThrow(new TypeError('preload: expected a library path (got none)'));
    expect(() => preload(42)).toThrow(new TypeError('preload: expected a library path (got a non-string)'));
    expect(() => preload(`/${'a'.repeat(5000)}`)).toThrow(new RangeError('preload: library path too long (over 4094 bytes)'));
  });

  test('a prebuilt for another torch is refused before loading, naming both torches and the pip command', () => {
    const other = fs.mkdtempSync(path.join(os.tmpdir(), 'foldtorch-other-'));
    const dir = path.join(other, 'prebuilds', 'linux-x64');
    fs.cpSync(path.dirname(prebuilt), dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'foldtorch.json'), JSON.stringify({ torch: '2.0.1', variant: 'cpu', abi: 1 }));
    const script = `try { require(${JSON.stringify(loader)}).loadAddon(${JSON.stringify(other)}); console.log('{}') } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })) }`;
    const env = { ...process.env };
    delete env.FOLDTORCH_ADDON;
    const out = JSON.parse(execFileSync('node', ['-e', script], { env, encoding: 'utf8' }));
    expect(out.code).toBe('ERR_ADDON_LOAD');
    expect(out.message).toMatch(
      new RegExp(
        `prebuilt: ${path.join(dir, 'foldtorch.node').replace(/[.]/g, '\\.')} was built for torch 2\\.0\\.1 \\(cpu, C\\+\\+11 ABI 1\\) but the torch found is torch \\d`,
      ),
    );
    expect(out.message).toMatch(
      /Install the torch it was built for: \S*python3? -m pip install torch==2\.0\.1 --index-url https:\/\/download\.pytorch\.org\/whl\/cpu\n/,
    );
    expect(out.message).not.toMatch(/undefined symbol/);
    fs.rmSync(other, { recursive: true, force: true });
  });
});

describe('preloadAddon (the first load off the main thread)', () => {
  const loader = path.join(repoRoot, 'dist', 'src', 'native', 'addon.js');
  const mapped = "require('fs').readFileSync('/proc/self/maps', 'utf8').includes('libtorch_cpu.so')";

  test('maps libtorch on a worker thread; the main thread then loads the addon and runs it', () => {
    const script = `
      const { loadAddon, loadAddonAsync, preloadAddon, addonLocation } = require(${JSON.stringify(loader)});
      const before = ${mapped};
      preloadAddon().then(async () => {
        const preloaded = { mapped: ${mapped}, loadedOnMain: addonLocation() !== undefined };
        const same = (await loadAddonAsync()) === loadAddon();
        const t = await loadAddon().imagesToTensor(Buffer.from([0, 51, 255]), { shape: [1, 1, 1, 3], mean: [0, 0, 0], std: [1, 1, 1], device: 'cpu' });
        console.log(JSON.stringify({ before, preloaded, same, data: Array.from(t.data) }));
      });`;
    const out = JSON.parse(execFileSync('node', ['-e', script], { encoding: 'utf8' }));
    expect(out).toEqual({ before: false, preloaded: { mapped: true, loadedOnMain: false }, same: true, data: [0, 0.20000000298023224, 1] });
  });

  test('with nothing to load it resolves, and loadAddon still gives the guided error', () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'foldtorch-none-'));
    const script = `
      const { loadAddonAsync } = require(${JSON.stringify(loader)});
      loadAddonAsync(${JSON.stringify(empty)}).catch((e) => console.log(JSON.stringify({ code: e.code })));`;
    const env = { ...process.env };
    delete env.FOLDTORCH_ADDON;
    expect(JSON.parse(execFileSync('node', ['-e', script], { env, encoding: 'utf8' }))).toEqual({ code: 'ERR_ADDON_LOAD' });
    fs.rmSync(empty, { recursive: true, force: true });
  });
});
