/** A two-class folder dataset (torchvision ImageFolder layout) cross-validates, and its report names the classes. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { crossValidate } from '../../src/train/crossValidate';
import { makeTinyFolderDataset, tinyRecipe } from './fixtures';

test("the report names a folder dataset's classes (sorted folder names), not label numbers", async () => {
  const data = await makeTinyFolderDataset(8, ['disc', 'bar']);
  const run = fs.mkdtempSync(path.join(os.tmpdir(), 'foldtorch-folder-run-'));
  try {
    const result = await crossValidate(tinyRecipe(1), { data, run, verifyImages: false });
    const html = fs.readFileSync(result.report, 'utf8');
    // Classes are the sorted folder names: bar = 0, disc = 1; the positive class heads the precision column.
    expect(html).toContain('precision (disc)');
    expect(html).not.toContain('precision (1)');
    expect(result.folds.map((f) => f.oof.ids.length).reduce((a, b) => a + b, 0)).toBe(16);
  } finally {
    fs.rmSync(data, { recursive: true, force: true });
    fs.rmSync(run, { recursive: true, force: true });
  }
}, 180_000);
