// A tiny generated dataset in the competition layout, for end-to-end runs in seconds.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { resolveRecipe, type Recipe } from '../../src/train/recipe';

export const repoRoot = path.resolve(__dirname, '..', '..');
export const cliPath = path.join(repoRoot, 'dist', 'src', 'cli', 'cli.js');

/** Runs the built CLI to completion: its exit code and stdout + stderr. */
export function runCliSync(args: string[], env: Record<string, string> = {}): { code: number; out: string } {
  try {
    return {
      code: 0,
      out: execFileSync('node', [cliPath, ...args], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, ...env },
      }),
    };
  } catch (error) {
    const e = error as { status: number; stderr: string; stdout: string };
    return { code: e.status, out: `${e.stdout}${e.stderr}` };
  }
}

type Shape = 'disc' | 'bar' | 'triangle';

/** A red disc, a blue bar or a green triangle on white, with position, size and colour jittered by `k`. */
async function drawShape(file: string, shape: Shape, k: number): Promise<void> {
  const offset = 6 + (k % 5) * 3;
  const body = {
    disc: `<circle cx="${20 + offset}" cy="${22 + (k % 3) * 4}" r="${10 + (k % 4)}" fill="rgb(${200 + (k % 50)},40,30)"/>`,
    bar: `<rect x="${offset}" y="${8 + (k % 4) * 2}" width="${12 + (k % 3)}" height="30" fill="rgb(30,60,${190 + (k % 60)})"/>`,
    triangle: `<polygon points="${offset},40 ${offset + 20},40 ${offset + 10},${10 + (k % 4) * 2}" fill="rgb(40,${170 + (k % 60)},50)"/>`,
  }[shape];
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="48" height="48"><rect width="48" height="48" fill="white"/>${body}</svg>`;
  await sharp(Buffer.from(svg)).jpeg({ quality: 90 }).toFile(file);
}

/** One folder per class (by default bar, disc, triangle), `perClass` images per class. */
export async function makeTinyFolderDataset(
  perClass = 12,
  shapes: readonly ('disc' | 'bar' | 'triangle')[] = ['disc', 'bar', 'triangle'],
): Promise<string> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'foldtorch-folders-'));
  for (const shape of shapes) {
    fs.mkdirSync(path.join(root, shape));
    for (let k = 0; k < perClass; k++) await drawShape(path.join(root, shape, `${shape}_${k}.jpg`), shape, k);
  }
  return root;
}

/** Food = a red disc, drink = a blue bar, on white, with jittered position and size; test images have labels in answer/. */
export async function makeTinyDataset(trainCount = 24, testCount = 8): Promise<string> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'foldtorch-e2e-'));
  fs.mkdirSync(path.join(root, 'train'));
  fs.mkdirSync(path.join(root, 'test'));
  fs.mkdirSync(path.join(root, 'answer'));
  const draw = (file: string, label: number, k: number) => drawShape(file, label === 1 ? 'disc' : 'bar', k);
  const trainRows = ['image_name,label'];
  for (let i = 0; i < trainCount; i++) {
    const label = i % 2;
    const name = `img_${String(i).padStart(3, '0')}.jpg`;
    await draw(path.join(root, 'train', name), label, i);
    trainRows.push(`${name},${label}`);
  }
  const sampleRows: string[] = [];
  const labelRows = ['image_name,label'];
  for (let i = 0; i < testCount; i++) {
    const label = (i + 1) % 2;
    const name = `t_${String(testCount - i).padStart(3, '0')}.jpg`;
    await draw(path.join(root, 'test', name), label, i + 100);
    sampleRows.push(`${name},0.5`);
    labelRows.push(`${name},${label}`);
  }
  fs.writeFileSync(path.join(root, 'train.csv'), `${trainRows.join('\n')}\n`);
  fs.writeFileSync(path.join(root, 'sample_submit.csv'), `${sampleRows.join('\n')}\n`);
  fs.writeFileSync(path.join(root, 'answer', 'test_labels.csv'), `${labelRows.join('\n')}\n`);
  return root;
}

/** demo-cpu-scratch shrunk to seconds: 2 folds, a 1-block EVA-02 at 32 px. */
/** A one-block EVA-02 at 32 px in fp32, batches of 8: the size of every end-to-end run. */
export const kTinyModelOverrides = [
  'batchSize=8',
  'evalBatchSize=16',
  'model.imgSize=32',
  'model.overrides.patchSize=8',
  'model.overrides.embedDim=32',
  'model.overrides.depth=1',
  'model.overrides.numHeads=2',
  'amp=fp32',
];

export function tinyRecipeOverrides(epochs = 1): string[] {
  return ['name=tiny', 'folds=2', `epochs=${epochs}`, 'foldGroups=none', ...kTinyModelOverrides, 'tta=hflip,rot90', 'augment.hue=0.5'];
}

export function tinyRecipe(epochs = 1): Recipe {
  return resolveRecipe('demo-cpu-scratch', tinyRecipeOverrides(epochs));
}
