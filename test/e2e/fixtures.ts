// A tiny generated dataset in the competition layout, for end-to-end runs in seconds.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { resolveRecipe, type Recipe } from '../../src/train/recipe';

export const repoRoot = path.resolve(__dirname, '..', '..');
export const cliPath = path.join(repoRoot, 'dist', 'src', 'cli', 'cli.js');

/** Food = a red disc, drink = a blue bar, on white, with jittered position and size; test images have labels in answer/. */
export async function makeTinyDataset(trainCount = 24, testCount = 8): Promise<string> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'foldtorch-e2e-'));
  fs.mkdirSync(path.join(root, 'train'));
  fs.mkdirSync(path.join(root, 'test'));
  fs.mkdirSync(path.join(root, 'answer'));
  const draw = async (file: string, label: number, k: number) => {
    const offset = 6 + (k % 5) * 3;
    const shape = label === 1
      ? `<circle cx="${20 + offset}" cy="${22 + (k % 3) * 4}" r="${10 + (k % 4)}" fill="rgb(${200 + (k % 50)},40,30)"/>`
      : `<rect x="${offset}" y="${8 + (k % 4) * 2}" width="${12 + (k % 3)}" height="30" fill="rgb(30,60,${190 + (k % 60)})"/>`;
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="48" height="48"><rect width="48" height="48" fill="white"/>${shape}</svg>`;
    await sharp(Buffer.from(svg)).jpeg({ quality: 90 }).toFile(file);
  };
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

/** demo-cpu shrunk to seconds: 2 folds, a 1-block EVA-02 at 32 px. */
export function tinyRecipeOverrides(epochs = 1): string[] {
  return [
    'name=tiny', 'folds=2', `epochs=${epochs}`, 'batchSize=8', 'evalBatchSize=16', 'foldGroups=none',
    'model.imgSize=32', 'model.overrides.patchSize=8', 'model.overrides.embedDim=32', 'model.overrides.depth=1',
    'model.overrides.numHeads=2', 'amp=fp32', 'tta=hflip,rot90', 'augment.hue=0.5',
  ];
}

export function tinyRecipe(epochs = 1): Recipe {
  return resolveRecipe('demo-cpu', tinyRecipeOverrides(epochs));
}
