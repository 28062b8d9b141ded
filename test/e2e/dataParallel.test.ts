// `foldtorch train --nproc-per-node 2`: two local ranks (Gloo over loopback) train every fold of a tiny run; rank 0
// alone writes the run folder, which has a single process' files with the same folds.
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadAddon } from '../../src/native/addon';
import { cliPath, makeTinyDataset, runCliSync, tinyRecipeOverrides } from './fixtures';

const missing = loadAddon().distributedAvailable();
if (missing) console.warn(`dataParallel e2e: skipped: ${missing}`);
const maybe = missing ? test.skip : test;

maybe("two local ranks train a tiny run into one run folder; folds.csv is the single process' one", async () => {
  const data = await makeTinyDataset();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'foldtorch-ddp-run-'));
  try {
    const sets = tinyRecipeOverrides(2).flatMap((s) => ['--set', s]);
    const base = ['train', '--recipe', 'demo-cpu-scratch', ...sets, '--data', data, '--progress', 'silent'];
    const ddp = runCliSync([...base, '--run', path.join(root, 'ddp'), '--nproc-per-node', '2']);
    expect(ddp.code === 0 ? '' : ddp.out).toBe('');
    // One display: rank 0's table and paths, once.
    expect(ddp.out.match(/run folder: /g)).toHaveLength(1);
    const single = runCliSync([...base, '--run', path.join(root, 'single')]);
    expect(single.code).toBe(0);
    const read = (run: string, file: string) => fs.readFileSync(path.join(root, run, file), 'utf8');
    expect(read('ddp', 'folds.csv')).toBe(read('single', 'folds.csv'));
    for (const fold of [0, 1]) {
      const [a, b] = ['ddp', 'single'].map((run) => JSON.parse(read(run, `fold-${fold}/oof.json`)));
      // Every validation image predicted once, in the single process' order, from gathered rank blocks.
      expect(a.oof.ids).toEqual(b.oof.ids);
      expect(a.oof.probabilities).toHaveLength(b.oof.probabilities.length);
      expect(a.test.ids).toEqual(b.test.ids);
      expect(a.epochs).toHaveLength(2);
      // Each rank takes half the fold's batches: half the optimizer steps of one process with the same batch.
      expect(a.lrs.length).toBe(Math.ceil(b.lrs.length / 2));
      const checkpoint = JSON.parse(read('ddp', `fold-${fold}/last.json`));
      expect(checkpoint.user.worldSize).toBe(2);
    }
    expect(read('ddp', 'oof.csv').split('\n').length).toBe(read('single', 'oof.csv').split('\n').length);
    expect(fs.existsSync(path.join(root, 'ddp', 'report.html'))).toBe(true);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(data, { recursive: true, force: true });
  }
});

maybe('a data-parallel run killed mid-fold resumes only with as many ranks', async () => {
  const data = await makeTinyDataset();
  const run = fs.mkdtempSync(path.join(os.tmpdir(), 'foldtorch-ddp-resume-'));
  try {
    const sets = [...tinyRecipeOverrides(2), 'checkpointEvery=1'].flatMap((s) => ['--set', s]);
    const cli = spawn(
      'node',
      [cliPath, 'train', '--recipe', 'demo-cpu-scratch', ...sets, '--data', data, '--run', run, '--json', '--nproc-per-node', '2'],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    let out = '';
    let killed = false;
    cli.stdout.on('data', (chunk) => {
      out += chunk;
      if (!killed && /"type":"checkpoint","fold":0/.test(out)) {
        killed = true;
        // Both ranks at once, as a lost node would.
        for (const pid of execFileSync('pgrep', ['-P', String(cli.pid)], { encoding: 'utf8' })
          .trim()
          .split('\n'))
          process.kill(Number(pid), 'SIGKILL');
      }
    });
    await new Promise((resolve) => cli.on('exit', resolve));
    expect(killed).toBe(true);
    const alone = runCliSync(['train', '--resume', run, '--data', data, '--progress', 'silent']);
    expect(alone.code).toBe(1);
    expect(alone.out).toContain(
      "Expected the world size that wrote fold 0's checkpoint (2): resume with as many ranks for WORLD_SIZE but received 1",
    );
    const resumed = runCliSync(['train', '--resume', run, '--data', data, '--progress', 'plain', '--nproc-per-node', '2']);
    expect(resumed.code === 0 ? '' : resumed.out).toBe('');
    expect(resumed.out).toMatch(/fold 0: resumed at epoch \d, batch \d \(step \d\)/);
    expect(JSON.parse(fs.readFileSync(path.join(run, 'fold-1', 'oof.json'), 'utf8')).epochs).toHaveLength(2);
  } finally {
    fs.rmSync(run, { recursive: true, force: true });
    fs.rmSync(data, { recursive: true, force: true });
  }
});
