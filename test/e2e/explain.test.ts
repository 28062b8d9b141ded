// `foldtorch explain` and `foldtorch report --compare` on a real (tiny) run, through the built CLI.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { crossValidate } from '../../src/train/crossValidate';
import { makeTinyDataset, runCliSync, tinyRecipe } from './fixtures';

let work: string;
let data: string;
let run: string;
beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'explain-'));
  data = await makeTinyDataset(24, 8);
  run = path.join(work, 'run');
  await crossValidate(tinyRecipe(1), { data, run, folds: [1] });
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe('foldtorch explain', () => {
  test('writes one 256 px overlay by the first trained fold and says what it explained', async () => {
    const image = path.join(data, 'test', 't_001.jpg');
    const { code, out } = runCliSync(['explain', '--run', run, '--image', image]);
    expect(code).toBe(0);
    const file = path.join(run, 'explain', 't_001-fold1.png');
    expect(out).toMatch(
      new RegExp(`^fold 1: p\\(class 1\\) 0\\.\\d{4}, Grad-CAM of class [01]: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n$`),
    );
    const meta = await sharp(file).metadata();
    expect([meta.width, meta.height, meta.format]).toEqual([256, 256, 'png']);
  });

  test('--class and --out choose the class and the file', () => {
    const out = path.join(work, 'mine.png');
    const result = runCliSync(['explain', '--run', run, '--image', path.join(data, 'train', 'img_000.jpg'), '--class', '0', '--out', out]);
    expect(result.out).toContain('Grad-CAM of class 0');
    expect(fs.existsSync(out)).toBe(true);
  });

  test.each([
    [
      'a folder that is no run',
      () => ['--run', work, '--image', path.join(data, 'train', 'img_000.jpg')],
      `Expected a run folder holding recipe.json for --run but received "${'WORK'}"`,
    ],
    ['a missing image', () => ['--run', run, '--image', path.join(work, 'nope.jpg')], 'Expected an image file for --image but received'],
    [
      'a fold out of range',
      () => ['--run', run, '--image', path.join(data, 'train', 'img_000.jpg'), '--fold', '5'],
      'Expected an integer from 0 to 1 for --fold but received 5',
    ],
    [
      'a fold not trained',
      () => ['--run', run, '--image', path.join(data, 'train', 'img_000.jpg'), '--fold', '0'],
      'has no weights for fold 0 (fold-0/best.safetensors); train that fold first',
    ],
    [
      'a class out of range',
      () => ['--run', run, '--image', path.join(data, 'train', 'img_000.jpg'), '--class', '2'],
      'Expected an integer from 0 to 1 for --class but received 2',
    ],
  ])('%s is refused with a clear message', (_name, args, message) => {
    const { code, out } = runCliSync(['explain', ...args()]);
    expect(code).toBe(1);
    expect(out).toContain(message.replace('WORK', work));
  });
});

describe('foldtorch report --compare', () => {
  test('one page for two runs', () => {
    const copy = path.join(work, 'copy');
    fs.cpSync(run, copy, { recursive: true });
    const out = path.join(work, 'compare.html');
    const { code, out: printed } = runCliSync(['report', '--compare', run, copy, '--out', out]);
    expect(code).toBe(0);
    expect(printed).toBe(`comparison of 2 runs: ${out}\n`);
    const html = fs.readFileSync(out, 'utf8');
    expect(html).toContain('<h1>run vs copy</h1>');
    expect(html.match(/<tr><td>(run|copy)<\/td><td>out-of-fold<\/td>/g)).toHaveLength(2);
  });

  test('one run is refused', () => {
    const { code, out } = runCliSync(['report', '--compare', run]);
    expect(code).toBe(1);
    expect(out).toContain('Expected two or more run folders for --compare');
  });
});
