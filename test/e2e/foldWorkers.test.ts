// `foldtorch train --workers 2`: folds trained concurrently by two worker processes end with a sequential run's
// folds.csv and per-fold results, byte for byte (timings aside); a worker that dies fails its fold, and --resume
// finishes the run.
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cliPath, makeTinyDataset, runCliSync, tinyRecipeOverrides } from './fixtures';

let data: string;
let root: string;
beforeAll(async () => {
  data = await makeTinyDataset();
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'foldtorch-workers-'));
});
afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
  fs.rmSync(data, { recursive: true, force: true });
});

const base = () => [
  'train',
  '--recipe',
  'demo-cpu-scratch',
  ...tinyRecipeOverrides(2).flatMap((s) => ['--set', s]),
  '--data',
  data,
  '--progress',
  'plain',
];
const read = (run: string, file: string) => fs.readFileSync(path.join(root, run, file), 'utf8');
/** A fold's oof.json without its timings. */
function foldResult(run: string, fold: number): string {
  const result = JSON.parse(read(run, `fold-${fold}/oof.json`));
  delete result.seconds;
  for (const epoch of result.epochs) delete epoch.seconds;
  return JSON.stringify(result);
}

test("two workers train the two folds concurrently into a sequential run's files", () => {
  // Each of the two workers has one of the two cores; the sequential run gets one thread too, as libtorch's
  // reductions add in another order with another thread count (validation losses then differ by ~1e-10).
  const sequential = runCliSync([...base(), '--run', path.join(root, 'sequential')], {
    FOLDTORCH_NUM_THREADS: String(Math.max(1, Math.floor(os.availableParallelism() / 2))),
  });
  expect(sequential.code).toBe(0);
  const parallel = runCliSync([...base(), '--run', path.join(root, 'parallel'), '--workers', '2']);
  expect(parallel.code === 0 ? '' : parallel.out).toBe('');
  // One display, fed by both workers.
  expect(parallel.out).toMatch(/fold 0: best epoch/);
  expect(parallel.out).toMatch(/fold 1: best epoch/);
  expect(parallel.out.match(/^run folder: /gm)).toHaveLength(1);
  expect(read('parallel', 'folds.csv')).toBe(read('sequential', 'folds.csv'));
  for (const fold of [0, 1]) expect(foldResult('parallel', fold)).toBe(foldResult('sequential', fold));
  expect(read('parallel', 'oof.csv')).toBe(read('sequential', 'oof.csv'));
  expect(read('parallel', 'submission.csv')).toBe(read('sequential', 'submission.csv'));
});

test('--workers with --devices, and a device list with a non-device, are refused', () => {
  const both = runCliSync([...base(), '--run', path.join(root, 'both'), '--workers', '2', '--devices', 'cpu,cpu']);
  expect(both.code).toBe(1);
  expect(both.out).toContain('Expected either devices or workers, not both for workers but received "devices cpu,cpu and workers 2"');
  const bad = runCliSync([...base(), '--run', path.join(root, 'bad'), '--devices', 'gpu0']);
  expect(bad.out).toContain('Expected a non-empty array of devices (cpu, cuda:N) for devices');
});

test('a worker killed mid-fold fails that fold with a clear error; --resume finishes the run as the sequential one', async () => {
  const run = path.join(root, 'killed');
  const args = [
    ...base().filter((a) => a !== 'plain' && a !== '--progress'),
    '--set',
    'checkpointEvery=1',
    '--json',
    '--run',
    run,
    '--workers',
    '2',
  ];
  const cli = spawn('node', [cliPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let killed = '';
  cli.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  let buffered = '';
  cli.stdout.on('data', (chunk) => {
    buffered += chunk;
    // At fold 1's first checkpoint, SIGKILL the second worker forked (the higher pid), which took fold 1.
    if (!killed && /"type":"checkpoint","fold":1/.test(buffered)) {
      const workers = execFileSync('pgrep', ['-P', String(cli.pid)], { encoding: 'utf8' })
        .trim()
        .split('\n')
        .map(Number)
        .sort((a, b) => a - b);
      killed = String(workers[1]);
      process.kill(Number(killed), 'SIGKILL');
    }
  });
  const code = await new Promise<number | null>((resolve) => cli.on('exit', resolve));
  expect(killed).not.toBe('');
  expect(code).toBe(1);
  expect(stderr).toMatch(/fold 1: its worker on cpu died \(signal SIGKILL\); the fold's last checkpoint is kept: continue with --resume/);
  const resumed = runCliSync(['train', '--resume', run, '--data', data, '--progress', 'plain', '--workers', '2']);
  expect(resumed.code === 0 ? '' : resumed.out).toBe('');
  expect(resumed.out).toMatch(/fold 1: resumed at epoch \d, batch \d \(step \d\)/);
  for (const fold of [0, 1]) expect(foldResult('killed', fold)).toBe(foldResult('sequential', fold));
  expect(read('killed', 'oof.csv')).toBe(read('sequential', 'oof.csv'));
});
