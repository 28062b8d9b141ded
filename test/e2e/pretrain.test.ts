// Pretraining a backbone on a many-class folder dataset, loading it into a two-class model, and the backbone cache.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createModel } from '../../src/native/model';
import { crossValidate } from '../../src/train/crossValidate';
import { ensureBackbone, pretrainBackbone } from '../../src/train/pretrain';
import { resolveRecipe, type Recipe } from '../../src/train/recipe';
import { kTinyModelOverrides, makeTinyDataset, makeTinyFolderDataset, runCliSync } from './fixtures';

let shapes: string;
let work: string;

// emoji-pretrain shrunk to seconds: a 1-block EVA-02 at 32 px; 4 folds hold out 3 images per class.
const kTiny = [...kTinyModelOverrides, 'folds=4'];
const tinyPretrain = (...sets: string[]): Recipe => resolveRecipe('emoji-pretrain', [...kTiny, ...sets]);
const epochsOf = (run: string) =>
  fs
    .readFileSync(path.join(run, 'fold-0', 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));

beforeAll(async () => {
  shapes = await makeTinyFolderDataset();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'foldtorch-pretrain-'));
});

afterAll(() => {
  fs.rmSync(shapes, { recursive: true, force: true });
  fs.rmSync(work, { recursive: true, force: true });
});

describe('pretrainBackbone', () => {
  test('trains on every class, keeps the epoch with the best hold-out accuracy, and writes a loadable backbone', async () => {
    const out = path.join(work, 'shapes.safetensors');
    const result = await pretrainBackbone(tinyPretrain('epochs=3', 'keepWeights=best'), { data: shapes, out });
    expect(result.classes).toEqual(['bar', 'disc', 'triangle']);
    expect(result.run).toBe(path.join(work, 'shapes.run'));
    const epochs = epochsOf(result.run);
    expect(epochs.map((e) => e.epoch)).toEqual([0, 1, 2]);
    for (const e of epochs) {
      expect(e.validAuc).toBeNull();
      expect(e.trainAuc).toBeNull();
      // 9 hold-out images (3 per class): accuracy is a multiple of 1/9.
      expect(Math.abs(e.validAccuracy * 9 - Math.round(e.validAccuracy * 9))).toBeLessThan(1e-9);
    }
    const accuracies = epochs.map((e) => e.validAccuracy);
    expect(result.bestEpoch).toBe(accuracies.indexOf(Math.max(...accuracies)));
    expect(result.validAccuracy).toBe(Math.max(...accuracies));
    expect(JSON.parse(fs.readFileSync(path.join(result.run, 'fold-0', 'state.json'), 'utf8'))).toMatchObject({
      done: true,
      bestEpoch: result.bestEpoch,
      bestAuc: null,
      bestScore: Math.max(...accuracies),
    });
    expect(fs.readFileSync(out).equals(fs.readFileSync(path.join(result.run, 'fold-0', 'best.safetensors')))).toBe(true);

    // Into a two-class model: the 3-class head is replaced, every other tensor loads.
    const model = await createModel('eva02_tiny_patch14_224', {
      numClasses: 2,
      imgSize: 32,
      pretrained: out,
      arch: { patchSize: 8, embedDim: 32, depth: 1, numHeads: 2 },
    });
    try {
      expect(model.loadReport.replaced).toEqual(['head.weight', 'head.bias']);
      expect(model.loadReport).toMatchObject({ missing: [], unexpected: [], resampled: [] });
      expect(model.loadReport.loaded.length).toBeGreaterThan(10);
    } finally {
      model.dispose();
    }
  });

  test('never replaces an existing file, and refuses two-class data', async () => {
    const out = path.join(work, 'taken.safetensors');
    fs.writeFileSync(out, 'mine');
    await expect(pretrainBackbone(tinyPretrain('epochs=1'), { data: shapes, out })).rejects.toThrow(
      `${out}: already exists; pretraining never replaces a checkpoint: remove it or choose another --out`,
    );
    expect(fs.readFileSync(out, 'utf8')).toBe('mine');
    await expect(pretrainBackbone(tinyPretrain('epochs=1'), { data: shapes, out: path.join(work, 'b.pt') })).rejects.toThrow(
      'Expected a .safetensors file path for --out',
    );
    const binary = await makeTinyDataset(8, 2);
    try {
      await expect(
        pretrainBackbone(tinyPretrain('epochs=1'), { data: binary, out: path.join(work, 'binary.safetensors') }),
      ).rejects.toThrow('has 2 classes; pretraining is for many-class data (a two-class dataset trains with foldtorch train)');
    } finally {
      fs.rmSync(binary, { recursive: true, force: true });
    }
    expect(fs.existsSync(path.join(work, 'binary.safetensors'))).toBe(false);
  });

  test('cross-validation refuses a many-class recipe before writing anything', async () => {
    const run = path.join(work, 'cv-three');
    await expect(crossValidate(tinyPretrain('model.numClasses=3'), { data: shapes, run })).rejects.toThrow(
      'model.numClasses: is 3; cross-validation scores two classes (ROC AUC, a probability submission). Train a many-class model with foldtorch pretrain',
    );
    expect(fs.existsSync(run)).toBe(false);
  });
});

describe('ensureBackbone', () => {
  test('trains once, reuses while recipe and data stay, retrains a stale one, refuses foreign folders', async () => {
    const dir = path.join(work, 'cache');
    const first = await ensureBackbone(tinyPretrain('epochs=1'), { data: shapes, dir });
    expect(first).toEqual({ file: path.join(dir, 'backbone.safetensors'), trained: true });
    const bytes = fs.readFileSync(first.file);
    expect(await ensureBackbone(tinyPretrain('epochs=1'), { data: shapes, dir })).toEqual({ file: first.file, trained: false });
    const again = await ensureBackbone(tinyPretrain('epochs=2'), { data: shapes, dir });
    expect(again.trained).toBe(true);
    expect(epochsOf(path.join(dir, 'run'))).toHaveLength(2);
    expect(fs.readFileSync(again.file).equals(bytes)).toBe(false);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'backbone.json'), 'utf8')).recipe.epochs).toBe(2);

    // Stopped (Ctrl-C) after its first step, then called again: it continues from the saved step to the same weights.
    const stopped = path.join(work, 'stopped');
    await expect(ensureBackbone(tinyPretrain('epochs=2'), { data: shapes, dir: stopped, shouldStop: () => true })).rejects.toThrow(
      `pretraining interrupted at step 1; its last checkpoint is saved in ${path.join(stopped, 'run')}: run the same command again to continue`,
    );
    expect(fs.existsSync(path.join(stopped, 'backbone.safetensors'))).toBe(false);
    expect(await ensureBackbone(tinyPretrain('epochs=2'), { data: shapes, dir: stopped })).toMatchObject({ trained: true });
    expect(fs.readFileSync(path.join(stopped, 'backbone.safetensors')).equals(fs.readFileSync(again.file))).toBe(true);

    const foreign = path.join(work, 'foreign');
    fs.mkdirSync(foreign);
    fs.writeFileSync(path.join(foreign, 'notes.txt'), 'mine');
    await expect(ensureBackbone(tinyPretrain('epochs=1'), { data: shapes, dir: foreign })).rejects.toThrow(
      `${foreign}: holds files that are not a foldtorch backbone cache; choose another folder`,
    );
    expect(fs.readdirSync(foreign)).toEqual(['notes.txt']);
  });
});

describe('CLI', () => {
  const cli = runCliSync;

  test('foldtorch pretrain writes a backbone and says how to use it', () => {
    const out = path.join(work, 'cli.safetensors');
    const { code, out: text } = cli([
      'pretrain',
      '--data',
      shapes,
      '--out',
      out,
      '--progress',
      'silent',
      ...[...kTiny, 'epochs=1'].flatMap((s) => ['--set', s]),
    ]);
    expect(code).toBe(0);
    expect(text).toContain(`backbone: ${out} (3 classes, epoch 1, hold-out accuracy `);
    expect(text).toContain('use it: foldtorch train --pretrained ');
    expect(fs.existsSync(out)).toBe(true);
  });

  test.each([
    [['pretrain', '--data', '.'], 'Missing required argument: out'],
    [
      ['pretrain', '--out', 'x.safetensors', '--data', '/nonexistent/corpus'],
      'Expected a dataset folder (one folder per class, e.g. foldtorch dataset emoji-corpus) for --data',
    ],
    [['pretrain', '--out', 'x.safetensors', '--data', '.', '--set', 'epochz=3'], 'did you mean epochs?'],
    [['dataset', 'emoji-corpora'], 'Choices: "emoji", "emoji-corpus"'],
    [['demo', '--pretrain', '--data', '/nonexistent/emoji', '--set', 'epochz=1'], 'did you mean epochs?'],
  ])('%j fails with a clear message', (args, message) => {
    const { code, out } = cli(args);
    expect(code).toBe(1);
    expect(out).toContain(message);
  });
});
