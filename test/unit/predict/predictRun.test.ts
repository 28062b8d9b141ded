import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openRunFolder, predictRun } from '../../../src/predict/predictRun';

describe('predictRun: the run folder is checked before any model is built', () => {
  test('a folder without recipe.json is refused, naming the option', async () => {
    await expect(predictRun({ run: '/nonexistent/run', data: '.' })).rejects.toThrow(
      'Expected a run folder holding recipe.json for run but received "/nonexistent/run"',
    );
    expect(() => openRunFolder('--run', '/nonexistent/run')).toThrow(
      'Expected a run folder holding recipe.json for --run but received "/nonexistent/run"',
    );
  });

  test('a run without fold checkpoints says how to make them', async () => {
    const run = fs.mkdtempSync(path.join(os.tmpdir(), 'foldtorch-predictrun-'));
    fs.copyFileSync(path.join(__dirname, '..', '..', 'consumer', 'fixture', 'run', 'recipe.json'), path.join(run, 'recipe.json'));
    await expect(predictRun({ run, data: '.' })).rejects.toThrow(
      `${run}: has no fold checkpoints (fold-i/best.safetensors); train it first: foldtorch train --resume ${run} --data DIR`,
    );
    fs.rmSync(run, { recursive: true, force: true });
  });
});
