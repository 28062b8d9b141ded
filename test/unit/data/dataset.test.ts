import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { loadCompetitionDataset, loadDataset, loadFolderDataset, metaGroups, resolveVerifyMode } from '../../../src/data/dataset';
import { writeGreyPng, writeIndexPng, writeTruncatedPng } from './images';

let base: string;
beforeAll(() => (base = mkdtempSync(join(tmpdir(), 'foldtorch-dataset-'))));
afterAll(() => rmSync(base, { recursive: true, force: true }));

let counter = 0;
/** A fresh competition-layout folder: 3 train images, 2 test images, answers, and macOS zip litter. */
async function competition(): Promise<string> {
  const root = join(base, `comp${counter++}`);
  for (const sub of ['train', 'test', 'answer', '__MACOSX/train']) mkdirSync(join(root, sub), { recursive: true });
  for (const name of ['a.jpg', 'b.jpg', 'c.jpg']) await writeIndexPng(join(root, 'train', name), 4);
  for (const name of ['t1.jpg', 't0.jpg']) await writeGreyPng(join(root, 'test', name), 10);
  writeFileSync(join(root, 'train', '._a.jpg'), 'resource fork');
  writeFileSync(join(root, '__MACOSX', 'train', '._b.jpg'), 'resource fork');
  writeFileSync(join(root, 'train.csv'), 'image_name,label\r\nc.jpg,1\r\na.jpg,0\r\nb.jpg,1\r\n');
  writeFileSync(join(root, 'sample_submit.csv'), 't1.jpg,0.5\nt0.jpg,0.5\n');
  writeFileSync(join(root, 'answer', 'test_labels.csv'), 'image_name,label\nt0.jpg,0\nt1.jpg,1\n');
  writeFileSync(join(root, 'answer', 'meta.csv'), 'image_name,style,family\na.jpg,noto,noto\nb.jpg,noto-v1,noto\nc.jpg,twemoji,twemoji\n');
  return root;
}

describe('competition layout', () => {
  test('train in train.csv order, test in sample_submit order with answer labels, meta by name', async () => {
    const root = await competition();
    const dataset = await loadDataset(root, { verify: 'full' });
    expect(dataset.layout).toBe('competition');
    expect(dataset.classes).toEqual(['0', '1']);
    expect(dataset.train).toEqual([
      { imageName: 'c.jpg', path: join(root, 'train', 'c.jpg'), label: 1 },
      { imageName: 'a.jpg', path: join(root, 'train', 'a.jpg'), label: 0 },
      { imageName: 'b.jpg', path: join(root, 'train', 'b.jpg'), label: 1 },
    ]);
    expect(dataset.test.map((t) => [t.imageName, t.label])).toEqual([
      ['t1.jpg', 1],
      ['t0.jpg', 0],
    ]);
    expect(dataset.hasTestLabels).toBe(true);
    expect(dataset.skipped).toEqual([]);
    expect(metaGroups(dataset, 'family')).toEqual(['twemoji', 'noto', 'noto']);
    expect(() => metaGroups(dataset, 'hexcode')).toThrow('no "hexcode" for image "c.jpg"');
  });

  test('without answers the test labels are -1; test-only folders load', async () => {
    const root = await competition();
    rmSync(join(root, 'answer'), { recursive: true });
    rmSync(join(root, 'train.csv'));
    const dataset = await loadDataset(root);
    expect(dataset.train).toEqual([]);
    expect(dataset.test.map((t) => t.label)).toEqual([-1, -1]);
    expect(dataset.hasTestLabels).toBe(false);
    expect(dataset.meta).toBeNull();
    expect(() => metaGroups(dataset, 'style')).toThrow(`${root}: Expected answer/meta.csv for groups by "style" but there is none`);
  });

  test.each([
    ['a listed image that does not exist', (path: string) => rmSync(path), 'a.jpg', 3, 'does not exist'],
    [
      'a folder named like an image',
      (path: string) => {
        rmSync(path);
        mkdirSync(path);
      },
      'b.jpg',
      4,
      'is a directory, not an image',
    ],
    ['a zero-byte file', (path: string) => writeFileSync(path, ''), 'c.jpg', 2, 'is empty (0 bytes)'],
    ['a file that is not an image', (path: string) => writeFileSync(path, 'text'), 'c.jpg', 2, ': not an image in a format sharp reads'],
  ])('%s is an error naming the file and CSV line', async (_, breakIt, name, line, problem) => {
    const root = await competition();
    const path = join(root, 'train', name);
    breakIt(path);
    const separator = problem.startsWith(':') ? '' : ' ';
    await expect(loadCompetitionDataset(root)).rejects.toThrow(`${join(root, 'train.csv')} line ${line}: ${path}${separator}${problem}`);
  });

  test('a truncated image passes the header check and fails the full check; skipUnreadable lists it', async () => {
    const root = await competition();
    const path = await writeTruncatedPng(join(root, 'train', 'a.jpg'));
    await expect(loadCompetitionDataset(root)).resolves.toBeDefined();
    await expect(loadCompetitionDataset(root, { verify: 'full' })).rejects.toThrow(
      `${join(root, 'train.csv')} line 3: ${path}: cannot decode image: unreadable or truncated`,
    );
    writeFileSync(join(root, 'test', 't0.jpg'), '');
    const dataset = await loadCompetitionDataset(root, { verify: 'full', skipUnreadable: true });
    expect(dataset.train.map((t) => t.imageName)).toEqual(['c.jpg', 'b.jpg']);
    expect(dataset.test.map((t) => t.imageName)).toEqual(['t1.jpg']);
    expect(dataset.skipped.map((s) => [s.imageName, s.reason.replace(root, '<root>').slice(0, 60)])).toEqual([
      ['a.jpg', `${path.replace(root, '<root>')}: cannot decode image: unreadable or truncated`.slice(0, 60)],
      ['t0.jpg', `${join('<root>', 'test', 't0.jpg')} is empty (0 bytes)`],
    ]);
  });

  test("verify 'auto' decodes a small set in full (every bad image named); a set estimated over 5 s gets headers only", async () => {
    const root = await competition();
    const a = await writeTruncatedPng(join(root, 'train', 'a.jpg'));
    const t0 = await writeTruncatedPng(join(root, 'test', 't0.jpg'));
    await expect(loadCompetitionDataset(root, { verify: 'auto' })).rejects.toThrow(
      `${join(root, 'train.csv')} line 3: ${a}: cannot decode image: unreadable or truncated`,
    );
    const both = await loadCompetitionDataset(root, { verify: 'auto', skipUnreadable: true });
    expect(both.skipped.map((s) => s.path)).toEqual([a, t0]);
    expect(await resolveVerifyMode([{ path: a }], 'auto')).toBe('full');
    expect(await resolveVerifyMode([], 'auto')).toBe('full');
    expect(await resolveVerifyMode([{ path: a }], 'header')).toBe('header');
    // 100,000 listings of a 512² noise PNG (a millisecond or more to decode each): far over the 5 s budget.
    const big = join(root, 'big.png');
    await sharp({
      create: { width: 512, height: 512, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 40 } },
    })
      .png()
      .toFile(big);
    expect(
      await resolveVerifyMode(
        Array.from({ length: 100000 }, () => ({ path: big })),
        'auto',
      ),
    ).toBe('header');
  });

  test('every unreadable image is named in one error, the first in the usual form', async () => {
    const root = await competition();
    writeFileSync(join(root, 'train', 'c.jpg'), '');
    rmSync(join(root, 'train', 'b.jpg'));
    const csv = join(root, 'train.csv');
    await expect(loadCompetitionDataset(root)).rejects.toThrow(
      `${csv} line 2: ${join(root, 'train', 'c.jpg')} is empty (0 bytes)\n1 more unreadable image:\n  ${csv} line 4: ${join(root, 'train', 'b.jpg')} does not exist\n(--skip-unreadable leaves them out)`,
    );
  });

  test('a test image without an answer label, and a folder with neither CSV', async () => {
    const root = await competition();
    writeFileSync(join(root, 'answer', 'test_labels.csv'), 'image_name,label\nt0.jpg,0\n');
    await expect(loadCompetitionDataset(root)).rejects.toThrow(
      `${join(root, 'sample_submit.csv')} line 1: image "t1.jpg" has no label in answer/test_labels.csv`,
    );
    const empty = join(base, 'empty');
    mkdirSync(empty);
    await expect(loadCompetitionDataset(empty)).rejects.toThrow(
      `${empty}: Expected train.csv or sample_submit.csv in the competition layout but found neither`,
    );
  });

  test('a train.csv or sample_submit.csv that is a folder names the file', async () => {
    const root = await competition();
    rmSync(join(root, 'train.csv'));
    mkdirSync(join(root, 'train.csv'));
    await expect(loadDataset(root)).rejects.toThrow(`${join(root, 'train.csv')}: Expected a CSV file but it is a folder`);
    const other = await competition();
    rmSync(join(other, 'sample_submit.csv'));
    mkdirSync(join(other, 'sample_submit.csv'));
    await expect(loadDataset(other)).rejects.toThrow(`${join(other, 'sample_submit.csv')}: Expected a CSV file but it is a folder`);
  });

  test('labels outside the allowed classes come from the CSV reader with file and line', async () => {
    const root = await competition();
    writeFileSync(join(root, 'train.csv'), 'image_name,label\na.jpg,food\n');
    rmSync(join(root, 'answer'), { recursive: true });
    await expect(loadDataset(root)).rejects.toThrow(
      `${join(root, 'train.csv')} line 2: Expected one of 0, 1 for label but received "food"`,
    );
    await expect(loadDataset(root, { classes: ['drink', 'food'], verify: 'none' })).resolves.toMatchObject({ classes: ['drink', 'food'] });
  });
});

describe('folder-per-class layout', () => {
  async function folders(): Promise<string> {
    const root = join(base, `folders${counter++}`);
    for (const sub of ['food/sub', 'drink', '__MACOSX/food']) mkdirSync(join(root, sub), { recursive: true });
    await writeIndexPng(join(root, 'food', 'b.png'), 4);
    await writeIndexPng(join(root, 'food', 'sub', 'a.png'), 4);
    await writeGreyPng(join(root, 'drink', 'z.png'), 3);
    writeFileSync(join(root, 'food', '._b.png'), 'fork');
    writeFileSync(join(root, 'food', 'notes.txt'), 'ignored');
    writeFileSync(join(root, '__MACOSX', 'food', '._b.png'), 'fork');
    return root;
  }

  test('classes are sorted folder names; images found recursively; litter ignored', async () => {
    const root = await folders();
    const dataset = await loadDataset(root);
    expect(dataset.layout).toBe('folders');
    expect(dataset.classes).toEqual(['drink', 'food']);
    expect(dataset.train.map((t) => [t.imageName, t.label])).toEqual([
      [join('drink', 'z.png'), 0],
      [join('food', 'b.png'), 1],
      [join('food', 'sub', 'a.png'), 1],
    ]);
  });

  test('a folder named like an image, and too few classes', async () => {
    const root = await folders();
    mkdirSync(join(root, 'drink', 'x.jpg'));
    await expect(loadFolderDataset(root)).rejects.toThrow(`${join(root, 'drink', 'x.jpg')} is a directory, not an image`);
    const single = join(base, 'single');
    mkdirSync(join(single, 'food'), { recursive: true });
    await expect(loadDataset(single)).rejects.toThrow(`${single}: Expected at least 2 class folders but found 1`);
  });

  test('the root must be a folder', async () => {
    await expect(loadDataset(join(base, 'nope'))).rejects.toThrow('Expected a dataset folder but it does not exist or is not a folder');
    await expect(loadDataset('')).rejects.toThrow('Expected a dataset folder path for root but received ""');
  });
});
