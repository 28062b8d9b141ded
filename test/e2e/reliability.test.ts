// Issue #16: what a run refuses before writing anything, and what it never loses once written.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { crossValidate } from '../../src/train/crossValidate';
import { type Recipe, resolveRecipe } from '../../src/train/recipe';
import { trainFold } from '../../src/train/trainFold';
import { makeTinyDataset, runCliSync, tinyRecipe, tinyRecipeOverrides } from './fixtures';

let data: string;
let work: string;

beforeAll(async () => {
  data = await makeTinyDataset();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'foldtorch-reliability-'));
});

afterAll(() => {
  fs.rmSync(data, { recursive: true, force: true });
  fs.rmSync(work, { recursive: true, force: true });
});

const read = (file: string) => fs.readFileSync(file, 'utf8');

describe('a finished run keeps every fold (D7)', () => {
  test('--resume --fold 0 on a finished run rewrites oof.csv, submission and report with both folds', async () => {
    const recipe = tinyRecipe(1);
    const run = path.join(work, 'finished');
    await crossValidate(recipe, { data, run });
    const oof = read(path.join(run, 'oof.csv'));
    const submission = read(path.join(run, 'submission.csv'));
    expect(oof.trim().split('\n')).toHaveLength(25);

    const again = await crossValidate(recipe, { data, run, resume: true, folds: [0] });
    expect(again.folds.map((f) => f.fold)).toEqual([0, 1]);
    expect(read(path.join(run, 'oof.csv'))).toBe(oof);
    expect(read(path.join(run, 'submission.csv'))).toBe(submission);
    expect(read(path.join(run, 'report.html'))).toContain('ensemble: mean of 2 folds');
  });
});

describe('a start the model refuses leaves nothing behind (D8)', () => {
  test.each([
    ['model.imgSize=33', 'eva02: img_size must be a multiple of the patch size 8 (got [33, 33])'],
    ['model.pretrained=/nonexistent/weights.safetensors', 'Expected a weights name'],
    ['model.name=eva02_tiny_patch14_225', 'Expected a registered model name'],
  ])('%s: no recipe.json, and the corrected command then trains', async (bad, message) => {
    const run = path.join(work, `refused-${bad.split('=')[0]}`);
    await expect(crossValidate(resolveRecipe('demo-cpu-scratch', [...tinyRecipeOverrides(1), bad]), { data, run })).rejects.toThrow(
      message,
    );
    expect(fs.existsSync(path.join(run, 'recipe.json'))).toBe(false);
    expect(fs.existsSync(path.join(run, 'folds.csv'))).toBe(false);
    const result = await crossValidate(tinyRecipe(1), { data, run, folds: [0] });
    expect(result.folds.map((f) => f.fold)).toEqual([0]);
  });
});

describe('--fold is checked before anything is written (D6)', () => {
  const sets = tinyRecipeOverrides(1).flatMap((s) => ['--set', s]);

  test.each([
    [['7'], 'Expected an integer from 0 to 1 for --fold but received 7'],
    [['-1'], 'Expected an integer from 0 to 1 for --fold but received -1'],
    [['0.5'], 'Expected an integer from 0 to 1 for --fold but received 0.5'],
    [['x'], 'Expected a number for --fold but received NaN'],
    [['1', '1'], 'Expected each fold once (fold 1 is given twice) for --fold but received "1 1"'],
  ])('train --fold %j', (folds, message) => {
    const run = path.join(work, `fold-${folds.join('-')}`);
    const { code, out } = runCliSync([
      'train',
      '--recipe',
      'demo-cpu-scratch',
      '--data',
      data,
      '--run',
      run,
      '--progress',
      'silent',
      ...sets,
      ...folds.flatMap((f) => ['--fold', f]),
    ]);
    expect(out).toContain(message);
    expect(code).toBe(1);
    expect(fs.existsSync(run)).toBe(false);
  });

  test('crossValidate and trainFold name their own option', async () => {
    const run = path.join(work, 'fold-api');
    await expect(crossValidate(tinyRecipe(1), { data, run, folds: [2] })).rejects.toThrow(
      'Expected an integer from 0 to 1 for folds but received 2',
    );
    await expect(trainFold(0.5, tinyRecipe(1), { data, run })).rejects.toThrow('Expected an integer from 0 to 1 for fold but received 0.5');
    expect(fs.existsSync(run)).toBe(false);
  });
});

describe('errors name the file (D13)', () => {
  test('a header-only train.csv is refused naming it, before the run folder is touched', async () => {
    const copy = path.join(work, 'header-only-data');
    fs.cpSync(data, copy, { recursive: true });
    fs.writeFileSync(path.join(copy, 'train.csv'), 'image_name,label\n');
    const run = path.join(work, 'header-only');
    await expect(crossValidate(tinyRecipe(1), { data: copy, run })).rejects.toThrow(
      `${path.join(copy, 'train.csv')}: lists 0 training images; 2 folds need at least 2`,
    );
    expect(fs.existsSync(run)).toBe(false);
  });

  test('a corrupt fold-i/state.json met on resume names the file', async () => {
    // The finished run of the D7 test above.
    const run = path.join(work, 'finished');
    fs.writeFileSync(path.join(run, 'fold-1', 'state.json'), '{"fold": 1, "do');
    await expect(crossValidate(tinyRecipe(1), { data, run, resume: true, folds: [0] })).rejects.toThrow(
      `${path.join(run, 'fold-1', 'state.json')}: unreadable fold state (`,
    );
  });
});

describe('gradAccumulation must divide an epoch (D5)', () => {
  test('one that does not is refused with the numbers before anything is written; one that does trains', async () => {
    const run = path.join(work, 'accumulation');
    const recipe = resolveRecipe('demo-cpu-scratch', [...tinyRecipeOverrides(1), 'gradAccumulation=3']);
    await expect(crossValidate(recipe, { data, run })).rejects.toThrow(
      "Expected a divisor of each fold's batches per epoch (fold 0 trains 12 images in 2 batches of 8; fold 1 trains 12 images in 2 batches of 8) for gradAccumulation but received 3",
    );
    await expect(trainFold(1, recipe, { data, run })).rejects.toThrow(
      '(fold 1 trains 12 images in 2 batches of 8) for gradAccumulation but received 3',
    );
    expect(fs.existsSync(run)).toBe(false);
    const result = await crossValidate(resolveRecipe('demo-cpu-scratch', [...tinyRecipeOverrides(1), 'gradAccumulation=2']), {
      data,
      run,
      folds: [0],
    });
    expect(result.folds[0].lrs).toHaveLength(1);
  });
});

describe('temporaries of killed saves (D10)', () => {
  test('a resumed run removes those of exited processes in the run and fold folders, and says so', async () => {
    const run = path.join(work, 'temporaries');
    const recipe = tinyRecipe(1);
    await crossValidate(recipe, { data, run, folds: [0] });
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    const stale = [
      path.join('fold-0', `last.safetensors.tmp-${dead}-7`),
      `oof.csv.tmp-${dead}`,
      path.join('fold-1', `best.safetensors.tmp-${dead}-0`),
    ];
    fs.mkdirSync(path.join(run, 'fold-1'), { recursive: true });
    for (const name of stale) fs.writeFileSync(path.join(run, name), 'partial');
    const live = path.join(run, 'fold-0', `last.safetensors.tmp-${process.pid}-1`);
    fs.writeFileSync(live, 'being written');
    const messages: string[] = [];
    await crossValidate(recipe, {
      data,
      run,
      resume: true,
      folds: [0],
      progress: (e) => {
        if (e.type === 'message') messages.push(e.text);
      },
    });
    for (const name of stale) expect([name, fs.existsSync(path.join(run, name))]).toEqual([name, false]);
    expect(fs.existsSync(live)).toBe(true);
    expect(messages).toContain(
      `removed 3 temporary files that interrupted saves left: ${[`oof.csv.tmp-${dead}`, stale[0], stale[2]].join(', ')}`,
    );
  });
});

/** Trains fold 0 of `recipe` into `run` and stops it after `step` optimizer steps, as a signal would. */
async function interruptFoldZeroAt(recipe: Recipe, run: string, step: number): Promise<void> {
  let steps = 0;
  await expect(
    crossValidate(recipe, {
      data,
      run,
      folds: [0],
      progress: (e) => {
        if (e.type === 'step') steps++;
      },
      shouldStop: () => steps >= step,
    }),
  ).rejects.toThrow(`training interrupted in fold 0 at step ${step}`);
}
describe('a stop after the last batch of an epoch, before its end (D9)', () => {
  test('the resumed epoch records the learning rate of its last step, as an uninterrupted run does', async () => {
    const recipe = resolveRecipe('demo-cpu-scratch', [...tinyRecipeOverrides(2), 'checkpointEvery=1000']);
    const straight = path.join(work, 'lr-straight');
    await crossValidate(recipe, { data, run: straight, folds: [0] });
    const stopped = path.join(work, 'lr-stopped');
    // 12 images in batches of 8: step 2 is the last of epoch 0; the stop saves there, before validation.
    await interruptFoldZeroAt(recipe, stopped, 2);
    expect(fs.existsSync(path.join(stopped, 'fold-0', 'metrics.jsonl'))).toBe(false);
    await crossValidate(recipe, { data, run: stopped, resume: true, folds: [0] });
    const metrics = (run: string) =>
      read(path.join(run, 'fold-0', 'metrics.jsonl'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { lr: number });
    const expected = metrics(straight);
    expect(expected[0].lr).toBeGreaterThan(0);
    expect(metrics(stopped).map((m) => m.lr)).toEqual(expected.map((m) => m.lr));
  });
});

describe('a fold resumed after an epoch end (found by npm run kill-resume)', () => {
  test('writes the same oof.json as an uninterrupted fold, timings aside', async () => {
    const recipe = resolveRecipe('demo-cpu-scratch', [...tinyRecipeOverrides(2), 'checkpointEvery=1000']);
    const straight = path.join(work, 'lr-straight'); // the D9 test's uninterrupted run
    const stopped = path.join(work, 'oof-stopped');
    // Step 3 is the first of epoch 1: epoch 0's metrics are read back from metrics.jsonl on resume.
    await interruptFoldZeroAt(recipe, stopped, 3);
    await crossValidate(recipe, { data, run: stopped, resume: true, folds: [0] });
    const oof = (run: string) => read(path.join(run, 'fold-0', 'oof.json')).replace(/"seconds":[0-9.e+-]+/g, '"seconds":0');
    expect(JSON.parse(oof(stopped)).epochs[0]).not.toHaveProperty('type');
    expect(oof(stopped)).toBe(oof(straight));
  });
});
