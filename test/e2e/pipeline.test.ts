// End to end on a tiny generated dataset: every artifact of a cross-validation run, and kill + resume.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { crossValidate } from '../../src/train/crossValidate';
import { resolveRecipe } from '../../src/train/recipe';
import { cliPath, makeTinyDataset, runCliSync, tinyRecipe, tinyRecipeOverrides } from './fixtures';

let data: string;
let work: string;

beforeAll(async () => {
  data = await makeTinyDataset();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'foldtorch-runs-'));
});

afterAll(() => {
  fs.rmSync(data, { recursive: true, force: true });
  fs.rmSync(work, { recursive: true, force: true });
});

const lines = (file: string) => fs.readFileSync(file, 'utf8').trim().split('\n');

describe('crossValidate writes every artifact', () => {
  test('recipe, folds, per-fold files, oof, submission, report', async () => {
    const recipe = tinyRecipe(1);
    const run = path.join(work, 'full');
    const result = await crossValidate(recipe, { data, run });
    expect(JSON.parse(fs.readFileSync(path.join(run, 'recipe.json'), 'utf8'))).toEqual(recipe);

    const folds = lines(path.join(run, 'folds.csv'));
    expect(folds[0]).toBe('image_name,label,fold');
    expect(folds).toHaveLength(25);
    const foldOf = new Map(
      folds
        .slice(1)
        .map((l) => l.split(','))
        .map(([n, , f]) => [n, Number(f)]),
    );
    expect([...foldOf.values()].filter((f) => f === 0)).toHaveLength(12);

    for (const fold of [0, 1]) {
      const dir = path.join(run, `fold-${fold}`);
      for (const file of ['best.safetensors', 'last.safetensors', 'last.json', 'state.json', 'oof.json']) {
        expect(fs.existsSync(path.join(dir, file))).toBe(true);
      }
      const metrics = lines(path.join(dir, 'metrics.jsonl')).map((l) => JSON.parse(l));
      expect(metrics).toHaveLength(1);
      expect(Object.keys(metrics[0]).sort()).toEqual(
        ['epoch', 'lr', 'seconds', 'trainAuc', 'trainLoss', 'type', 'validAccuracy', 'validAuc', 'validLoss'].sort(),
      );
      expect(metrics[0].validAuc).toBe(result.folds[fold].bestAuc);
      expect(JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8'))).toMatchObject({
        fold,
        done: true,
        bestEpoch: 0,
        epochsDone: 1,
      });
    }

    const oof = lines(path.join(run, 'oof.csv'));
    expect(oof[0]).toBe('image_name,label,fold,probability');
    expect(oof).toHaveLength(25);
    for (const row of oof.slice(1)) {
      const [name, label, fold, p] = row.split(',');
      expect(foldOf.get(name)).toBe(Number(fold));
      expect(Number(label)).toBe(Number(name.slice(4, 7)) % 2);
      expect(Number(p)).toBeGreaterThanOrEqual(0);
      expect(Number(p)).toBeLessThanOrEqual(1);
    }

    // The submission: sample_submit's order, no header, the mean of the two folds' test probabilities.
    const submission = lines(path.join(run, 'submission.csv')).map((l) => l.split(','));
    const sample = lines(path.join(data, 'sample_submit.csv')).map((l) => l.split(',')[0]);
    expect(submission.map(([n]) => n)).toEqual(sample);
    const foldTests = result.folds.map((f) => new Map(f.test!.ids.map((id, i) => [id, f.test!.probabilities[i]])));
    for (const [name, p] of submission) {
      expect(Number(p)).toBeCloseTo((foldTests[0].get(name)! + foldTests[1].get(name)!) / 2, 12);
    }
    expect(result.testAuc).not.toBeNull();

    const html = fs.readFileSync(path.join(run, 'report.html'), 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain('TTA: 8 views, all distinct.');
    // Each image's 8 TTA views in oof.json; galleries of 12 and 8 highest-loss images, each with its Grad-CAM overlay.
    const foldOof = JSON.parse(fs.readFileSync(path.join(run, 'fold-0', 'oof.json'), 'utf8'));
    expect(foldOof.oof.views).toHaveLength(foldOof.oof.ids.length);
    expect(foldOof.oof.views.every((v: number[]) => v.length === 8 && v.every((p) => p >= 0 && p <= 1))).toBe(true);
    expect(foldOof.test.views).toHaveLength(8);
    const gallery = (set: string) => new RegExp(`data-set="${set}" data-kind="mistakes">([\\s\\S]*?)</div>`).exec(html)![1];
    for (const [set, count] of [
      ['out-of-fold', 12],
      ['test \\(fold ensemble\\)', 8],
    ] as const) {
      const sources = [...gallery(set).matchAll(/<img src="([^"]+)"/g)].map((m) => m[1]);
      expect(sources.filter((s) => s.endsWith('-cam.png'))).toHaveLength(count);
      expect(sources).toHaveLength(2 * count);
      for (const source of sources) expect(fs.existsSync(path.join(run, source))).toBe(true);
    }
    expect(result.table).toMatch(/fold\s+epoch\s+train_loss\s+train_auc\s+valid_loss\s+valid_auc/);
  });
});

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('node', [cliPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('keepWeights', () => {
  test('last: each fold predicts with its final epoch, whatever the validation AUC said', async () => {
    const recipe = resolveRecipe('demo-cpu-scratch', [...tinyRecipeOverrides(3), 'folds=2', 'keepWeights=last']);
    const run = path.join(work, 'keep-last');
    const result = await crossValidate(recipe, { data, run, folds: [0] });
    const metrics = lines(path.join(run, 'fold-0', 'metrics.jsonl')).map((l) => JSON.parse(l));
    expect(metrics.map((m) => m.epoch)).toEqual([0, 1, 2]);
    expect(result.folds[0].bestEpoch).toBe(2);
    expect(result.folds[0].bestAuc).toBe(metrics[2].validAuc);
    expect(JSON.parse(fs.readFileSync(path.join(run, 'fold-0', 'state.json'), 'utf8'))).toMatchObject({ bestEpoch: 2, epochsDone: 3 });
    expect(() => resolveRecipe('demo-cpu', ['keepWeights=first'])).toThrow('keepWeights');
    const bestRun = await crossValidate(resolveRecipe('demo-cpu-scratch', [...tinyRecipeOverrides(3), 'folds=2']), {
      data,
      run: path.join(work, 'keep-best'),
      folds: [0],
    });
    // The same run keeping the best epoch stops at epoch 1: epochs 1 and 2 tie on validation AUC (1.0).
    expect(metrics.map((m) => m.validAuc).slice(1)).toEqual([1, 1]);
    expect(bestRun.folds[0].bestEpoch).toBe(1);
  });
});

describe('kill and resume', () => {
  test('a run killed after a mid-epoch checkpoint resumes to the same result as an uninterrupted run', async () => {
    const sets = [...tinyRecipeOverrides(2), 'checkpointEvery=1'].flatMap((s) => ['--set', s]);
    const straight = path.join(work, 'straight');
    const straightRun = await runCli([
      'train',
      '--recipe',
      'demo-cpu-scratch',
      '--data',
      data,
      '--run',
      straight,
      '--progress',
      'silent',
      ...sets,
    ]);
    expect(straightRun.code).toBe(0);

    const killed = path.join(work, 'killed');
    const child = spawn('node', [cliPath, 'train', '--recipe', 'demo-cpu-scratch', '--data', data, '--run', killed, '--json', ...sets], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let checkpoints = 0;
    await new Promise<void>((resolve) => {
      let buffer = '';
      child.stdout.on('data', (chunk) => {
        buffer += chunk;
        for (const line of buffer.split('\n').slice(0, -1)) {
          // The third checkpoint of fold 0 lies in its second epoch: kill there, mid-epoch.
          if (line.includes('"type":"checkpoint"') && ++checkpoints === 3) child.kill('SIGKILL');
        }
        buffer = buffer.slice(buffer.lastIndexOf('\n') + 1);
      });
      child.on('close', () => resolve());
    });
    expect(checkpoints).toBeGreaterThanOrEqual(3);
    expect(fs.existsSync(path.join(killed, 'submission.csv'))).toBe(false);

    const resumed = await runCli(['train', '--resume', killed, '--data', data, '--progress', 'plain']);
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(/fold 0: resumed at epoch 1, batch \d+ \(step \d+\)/);
    for (const file of ['oof.csv', 'submission.csv', 'fold-0/metrics.jsonl', 'fold-1/metrics.jsonl']) {
      const strip = (text: string) => text.replace(/"seconds":[0-9.e+-]+/g, '');
      expect(strip(fs.readFileSync(path.join(killed, file), 'utf8'))).toBe(strip(fs.readFileSync(path.join(straight, file), 'utf8')));
    }
  });
});

describe('CLI help and errors', () => {
  const cli = runCliSync;

  test('--help lists every command', () => {
    const { code, out } = cli(['--help']);
    expect(code).toBe(0);
    for (const command of ['train', 'predict', 'evaluate', 'compare', 'dataset', 'parity', 'doctor', 'setup', 'build', 'demo', 'pretrain'])
      expect(out).toContain(`foldtorch ${command}`);
  });

  test.each([
    [['train', '--recipe', 'demo-cpuu', '--data', '.'], 'did you mean demo-cpu?'],
    [
      ['train', '--recipe', 'demo-cpu', '--data', '.', '--set', 'epochz=3'],
      'Expected a recipe key (did you mean epochs?) for --set but received "epochz"',
    ],
    [['train', '--recipe', 'demo-cpu', '--data', '/nonexistent/data'], 'Expected a dataset folder'],
    [['train', '--recipe', 'demo-cpu'], 'Missing required argument: data'],
    [
      ['train', '--recipe', 'demo-cpu', '--data', '.', '--set', 'optimizer.lr=-1'],
      'Expected a number from 0 to 10 for optimizer.lr but received -1',
    ],
    [['predict', '--run', '/nonexistent/run', '--data', '.'], 'Expected a run folder holding recipe.json for --run'],
    [['frobnicate'], 'Unknown argument: frobnicate'],
  ])('%j fails with a clear message', (args, message) => {
    const { code, out } = cli(args);
    expect(code).toBe(1);
    expect(out).toContain(message);
  });

  test('--resume of a run with another recipe is refused and nothing is written', async () => {
    const run = path.join(work, 'full');
    const before = fs.readFileSync(path.join(run, 'recipe.json'), 'utf8');
    const { code, out } = cli(['train', '--resume', run, '--data', data, '--set', 'epochs=5']);
    expect(code).toBe(1);
    expect(out).toContain('--resume with a different recipe: epochs differ');
    expect(fs.readFileSync(path.join(run, 'recipe.json'), 'utf8')).toBe(before);
  });

  test('predict with a run whose checkpoints are missing says how to fix it', () => {
    const run = path.join(work, 'nockpt');
    fs.mkdirSync(run, { recursive: true });
    fs.copyFileSync(path.join(work, 'full', 'recipe.json'), path.join(run, 'recipe.json'));
    const { code, out } = cli(['predict', '--run', run, '--data', data]);
    expect(code).toBe(1);
    expect(out).toContain('has no fold checkpoints (fold-i/best.safetensors); train it first');
  });

  test('predict and evaluate on a finished run', () => {
    const run = path.join(work, 'full');
    const out = path.join(work, 'pred.csv');
    const predicted = cli(['predict', '--run', run, '--data', data, '--out', out, '--tta', 'none']);
    expect(predicted.code).toBe(0);
    expect(predicted.out).toContain('(2 folds, TTA none)');
    const evaluated = cli(['evaluate', '--pred', out, '--labels', path.join(data, 'answer', 'test_labels.csv'), '--json']);
    expect(evaluated.code).toBe(0);
    const report = JSON.parse(evaluated.out);
    expect(report.auc).toBeGreaterThanOrEqual(0);
    expect(report.tp + report.fp + report.tn + report.fn).toBe(8);
  });
});
