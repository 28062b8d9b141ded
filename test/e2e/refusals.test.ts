// Issue #16 (D14 and after): what a new run refuses before writing anything — a model or step too big for the
// device's memory, a train.csv with one label, unreadable images (each named) — and what it reports when allowed.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { crossValidate } from '../../src/train/crossValidate';
import { prepareRun } from '../../src/train/prepare';
import { resolveRecipe } from '../../src/train/recipe';
import { writeTruncatedPng } from '../unit/data/images';
import { makeTinyDataset, runCliSync, tinyRecipe, tinyRecipeOverrides } from './fixtures';

let data: string;
let work: string;

beforeAll(async () => {
  data = await makeTinyDataset();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'foldtorch-refusals-'));
});

afterAll(() => {
  fs.rmSync(data, { recursive: true, force: true });
  fs.rmSync(work, { recursive: true, force: true });
});

/** A copy of the tiny dataset with train.csv rewritten by `edit`. */
function copyWith(name: string, edit: (csv: string) => string): string {
  const root = path.join(work, name);
  fs.cpSync(data, root, { recursive: true });
  const csv = path.join(root, 'train.csv');
  fs.writeFileSync(csv, edit(fs.readFileSync(csv, 'utf8')));
  return root;
}

const nothingWritten = (run: string) => expect(fs.existsSync(path.join(run, 'recipe.json'))).toBe(false);

describe('memory (D14): refused with the figures before allocating, nothing written', () => {
  test('model.overrides.embedDim=1048576 names the override, the parameter memory and what is available', async () => {
    const run = path.join(work, 'huge-embed');
    const recipe = resolveRecipe('demo-cpu-scratch', [...tinyRecipeOverrides(1), 'model.overrides.embedDim=1048576']);
    await expect(crossValidate(recipe, { data, run })).rejects.toThrow(
      /^model\.overrides\.patchSize=8, model\.overrides\.embedDim=1048576, model\.overrides\.depth=1, model\.overrides\.numHeads=2, model\.imgSize=32 \(eva02_tiny_patch14_224\) needs about [0-9.]+ TB for parameters; [0-9.]+ [kMGT]B available on cpu$/,
    );
    nothingWritten(run);
  });

  test('a batch too big for a training step names batchSize and imgSize and says what to change', async () => {
    const run = path.join(work, 'huge-batch');
    const recipe = resolveRecipe('demo-cpu-scratch', [...tinyRecipeOverrides(1), 'batchSize=65536', 'model.imgSize=4096']);
    await expect(crossValidate(recipe, { data, run })).rejects.toThrow(
      /^batchSize=65536 at model\.overrides\.patchSize=8, .*model\.imgSize=4096 \(eva02_tiny_patch14_224\) needs about [0-9.]+ [TP]B to train \([0-9.]+ [TP]B of it activations\); [0-9.]+ [kMGT]B available on cpu: try a smaller batchSize or imgSize, or model\.gradCheckpointing$/,
    );
    nothingWritten(run);
  });
});

describe('a train.csv with one label', () => {
  const oneLabel = () => copyWith('one-label', (csv) => csv.replace(/,1$/gm, ',0'));

  test('is refused naming the file and the label; the CLI names --allow-single-class', async () => {
    const root = oneLabel();
    const run = path.join(work, 'one-label-run');
    await expect(crossValidate(tinyRecipe(1), { data: root, run })).rejects.toThrow(
      `${path.join(root, 'train.csv')}: has only label "0" (all 24 training images): a classifier needs two classes to tell apart; pass --allow-single-class (allowSingleClass: true) to train anyway`,
    );
    nothingWritten(run);
    const sets = tinyRecipeOverrides(1).flatMap((s) => ['--set', s]);
    const cli = runCliSync(['train', '--recipe', 'demo-cpu-scratch', '--data', root, '--run', path.join(work, 'one-label-cli'), ...sets]);
    expect(cli.code).not.toBe(0);
    expect(cli.out).toContain('has only label "0" (all 24 training images)');
  });

  test('with allowSingleClass it trains; each fold reports validAuc null, not NaN', async () => {
    const result = await crossValidate(tinyRecipe(1), {
      data: oneLabel(),
      run: path.join(work, 'one-label-allowed'),
      allowSingleClass: true,
    });
    expect(result.folds).toHaveLength(2);
    for (const fold of result.folds) {
      expect(fold.bestAuc).toBeNull();
      expect(fold.epochs.map((e) => e.validAuc)).toEqual([null]);
      expect(Number.isFinite(fold.epochs[0].validLoss)).toBe(true);
    }
    expect(result.oofAuc).toBeNull();
  });
});

describe('verifyImages', () => {
  test('auto decodes a small set in full: every truncated image is named, with its train.csv line', async () => {
    const root = copyWith('truncated', (csv) => csv);
    const first = await writeTruncatedPng(path.join(root, 'train', 'img_003.jpg'));
    const second = await writeTruncatedPng(path.join(root, 'train', 'img_010.jpg'));
    const run = path.join(work, 'truncated-run');
    const error = await crossValidate(tinyRecipe(1), { data: root, run }).catch((e: Error) => e);
    const csv = path.join(root, 'train.csv');
    // libvips appends its own reason in brackets, which varies between decoder threads.
    const lines = (error as Error).message.split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0].startsWith(`${csv} line 5: ${first}: cannot decode image: unreadable or truncated`)).toBe(true);
    expect(lines[1]).toBe('1 more unreadable image:');
    expect(lines[2].startsWith(`  ${csv} line 12: ${second}: cannot decode image: unreadable or truncated`)).toBe(true);
    expect(lines[3]).toBe('(--skip-unreadable leaves them out)');
    nothingWritten(run);
    await expect(crossValidate(tinyRecipe(1), { data: root, run, verifyImages: 'yes' as never })).rejects.toThrow(
      'Expected true, false or \'auto\' for verifyImages but received "yes"',
    );
    // false (--no-verify-images): headers only, which a truncated PNG passes.
    const prepared = await prepareRun(tinyRecipe(1), { data: root, run: path.join(work, 'truncated-unverified'), verifyImages: false });
    expect(prepared.dataset.train.map((item) => item.path)).toContain(first);
  });
});
