import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import {
  galleryFile,
  heatColour,
  heatmapKey,
  heatmapRgba,
  imageLoss,
  overlayPng,
  pickGallery,
  writeGalleryImages,
  kThumbSize,
  type GalleryPick,
} from '../../../src/report/gallery';
import { writeReport } from '../../../src/report/report';

let dir: string;
let red: string;
let blue: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gallery-'));
  mkdirSync(join(dir, 'images'));
  red = join(dir, 'images', 'red.png');
  blue = join(dir, 'images', 'blue.png');
  await sharp({ create: { width: 40, height: 30, channels: 3, background: { r: 255, g: 0, b: 0 } } })
    .png()
    .toFile(red);
  await sharp({ create: { width: 30, height: 30, channels: 3, background: { r: 0, g: 0, b: 255 } } })
    .png()
    .toFile(blue);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const near = (actual: number[], expected: number[]) => actual.forEach((v, i) => expect(Math.abs(v - expected[i])).toBeLessThanOrEqual(2));

describe('pickGallery', () => {
  // Losses: 2.3026, 0.2231, 0.5108, 0.9163, 0.1054, 0.2231, 0.7985.
  const set = {
    name: 'out-of-fold',
    probabilities: [0.9, 0.2, 0.6, 0.4, 0.1, 0.8, 0.55],
    labels: [0, 0, 1, 1, 0, 1, 0],
    images: {
      ids: ['a', 'b', 'c', 'd', 'e', 'f', 'g'],
      folds: [0, 1, 2, 0, 1, 2, 0],
      views: [
        [0.8, 1],
        [0.2, 0.2],
        [0.5, 0.7],
        [0.3, 0.5],
        [0.1, 0.1],
        [0.8, 0.8],
        [0.4, 0.7],
      ],
    },
  };

  test("the highest losses first, then each class's most confident correct images", () => {
    const picks = pickGallery(set, 0.5, { mistakes: 3, perClass: 2 });
    expect(picks.map((p) => [p.kind, p.id])).toEqual([
      ['mistakes', 'a'],
      ['mistakes', 'd'],
      ['mistakes', 'g'],
      ['confident', 'e'],
      ['confident', 'b'],
      ['confident', 'f'],
      ['confident', 'c'],
    ]);
    expect(picks[0]).toEqual({
      set: 'out-of-fold',
      kind: 'mistakes',
      index: 0,
      id: 'a',
      path: null,
      label: 0,
      probability: 0.9,
      loss: -Math.log(1 - 0.9),
      views: [0.8, 1],
      fold: 0,
      group: null,
    });
  });

  test('sizes of zero pick nothing; a set smaller than the gallery gives all it has', () => {
    expect(pickGallery(set, 0.5, { mistakes: 0, perClass: 0 })).toEqual([]);
    expect(pickGallery(set, 0.5, { mistakes: 50, perClass: 0 })).toHaveLength(7);
  });

  test('imageLoss is the clipped cross-entropy of the true class', () => {
    expect(imageLoss(1, 0.25)).toBeCloseTo(Math.log(4), 12);
    expect(imageLoss(0, 0.25)).toBeCloseTo(-Math.log(0.75), 12);
    expect(imageLoss(1, 0)).toBeCloseTo(-Math.log(1e-15), 6);
  });
});

describe('heat maps', () => {
  test('the colour scale runs blue → cyan → green → yellow → red', () => {
    expect(heatColour(0)).toEqual([48, 18, 160]);
    expect(heatColour(0.5)).toEqual([40, 200, 90]);
    expect(heatColour(1)).toEqual([220, 30, 20]);
    expect(heatColour(0.125)).toEqual([34, 89, 190]);
    expect(heatColour(Number.NaN)).toEqual([48, 18, 160]);
  });

  test('RGBA: colour by value, opacity 0.2 + 0.45 × value', () => {
    expect([...heatmapRgba({ width: 2, height: 1, data: [0, 1] })]).toEqual([48, 18, 160, 51, 220, 30, 20, 166]);
  });

  test('a map whose size does not match its values is refused', () => {
    expect(() => heatmapRgba({ width: 2, height: 2, data: [0, 1] })).toThrow('Expected 2 × 2 values for heatmap but received 2');
  });

  test('overlayPng blends the map over the image', async () => {
    const rgb = Buffer.alloc(4 * 4 * 3);
    for (let i = 0; i < 16; i++) rgb.set([255, 0, 0], i * 3);
    const png = await overlayPng(rgb, 4, { width: 1, height: 1, data: [1] });
    const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([4, 4]);
    // 166/255 of (220, 30, 20) over (255, 0, 0).
    near([...data.subarray(0, 3)], [232, 20, 13]);
    near([...data.subarray(45, 48)], [232, 20, 13]);
  });
});

describe('writeGalleryImages', () => {
  const pick = (index: number, path: string | null, kind: GalleryPick['kind'] = 'mistakes'): GalleryPick => ({
    set: 'Test (openmoji)',
    kind,
    index,
    id: `img${index}`,
    path,
    label: 1,
    probability: 0.5,
    loss: 0.7,
    views: null,
    fold: null,
    group: null,
  });

  test('thumbnails squashed to a square, an overlay where a map is given, each image once', async () => {
    const run = join(dir, 'run');
    const picks = [pick(0, red), pick(1, blue), pick(2, null), pick(0, red, 'confident')];
    const maps = new Map([[heatmapKey(picks[1]), { width: 1, height: 1, data: [0] }]]);
    const images = await writeGalleryImages(run, picks, maps);
    expect(images.map((i) => [i.thumb, i.overlay])).toEqual([
      ['report/images/test-openmoji-mistakes-0.png', null],
      ['report/images/test-openmoji-mistakes-1.png', 'report/images/test-openmoji-mistakes-1-cam.png'],
      [null, null],
      ['report/images/test-openmoji-mistakes-0.png', null],
    ]);
    expect(existsSync(join(run, galleryFile(picks[3])))).toBe(false);
    const thumb = await sharp(join(run, images[0].thumb!)).raw().toBuffer({ resolveWithObject: true });
    expect([thumb.info.width, thumb.info.height, thumb.info.channels]).toEqual([kThumbSize, kThumbSize, 3]);
    expect([...thumb.data.subarray(0, 3)]).toEqual([255, 0, 0]);
    expect([...thumb.data.subarray(thumb.data.length - 3)]).toEqual([255, 0, 0]);
    const overlay = await sharp(join(run, images[1].overlay!)).removeAlpha().raw().toBuffer();
    // 51/255 of (48, 18, 160) over (0, 0, 255).
    near([...overlay.subarray(0, 3)], [10, 4, 236]);
  });
});

describe('writeReport galleries and groups', () => {
  test('cards with the true class, probability, view spread, fold and group; per-group table and chart', async () => {
    const run = join(dir, 'report');
    const files = await writeReport(run, {
      folds: [],
      classNames: ['drink', 'food'],
      gallery: { mistakes: 2, perClass: 1 },
      groupColumn: 'style',
      oof: {
        labels: [0, 1, 1, 0],
        probabilities: [0.65, 0.9, 0.3, 0.1],
        images: {
          ids: ['w', 'x', 'y', 'z'],
          paths: [red, blue, red, blue],
          folds: [0, 1, 0, 1],
          groups: ['noto', 'noto', 'twemoji', 'twemoji'],
          views: [
            [0.4, 0.9, 0.8],
            [0.9, 0.9, 0.9],
            [0.3, 0.3, 0.3],
            [0.1, 0.1, 0.1],
          ],
        },
      },
      heatmaps: async (picks) => new Map(picks.map((p) => [heatmapKey(p), { width: 2, height: 2, data: [0, 0.5, 0.5, 1] }])),
    });
    const html = readFileSync(files.html, 'utf8');
    expect(files.gallery.map((p) => [p.kind, p.id])).toEqual([
      ['mistakes', 'y'],
      ['mistakes', 'w'],
      ['confident', 'z'],
      ['confident', 'x'],
    ]);
    const mistakes = /<div class="gallery" data-set="out-of-fold" data-kind="mistakes">([\s\S]*?)<\/div>/.exec(html)![1];
    expect(mistakes.match(/<figure class="card"/g)).toHaveLength(2);
    expect(mistakes).toContain(
      '<img src="report/images/out-of-fold-mistakes-2.png" alt="y: food, p(food) 0.300" width="112" height="112">',
    );
    expect(mistakes).toContain('<img src="report/images/out-of-fold-mistakes-2-cam.png"');
    expect(mistakes).toContain(
      'true drink <span class="wrong">predicted food</span><br>p(food) 0.650 · loss 1.05<br>3 views 0.40–0.90 (sd 0.22) <span class="warn">views disagree</span><br>fold 0 · noto',
    );
    expect(html).toContain('<tr><td>out-of-fold</td><td>noto</td><td>2</td><td>1.0000</td><td>0.5000</td></tr>');
    expect(html).toContain('<tr><td>out-of-fold</td><td>twemoji</td><td>2</td><td>1.0000</td><td>0.5000</td></tr>');
    expect(files.images.map((f) => f.slice(run.length + 1))).toEqual(['report/roc.png', 'report/confusion.png', 'report/groups.png']);
    expect(files.groups).toEqual([
      { set: 'out-of-fold', group: 'noto', count: 2, auc: 1, accuracy: 0.5 },
      { set: 'out-of-fold', group: 'twemoji', count: 2, auc: 1, accuracy: 0.5 },
    ]);
    const summary = JSON.parse(readFileSync(files.summary, 'utf8'));
    expect(summary.groupColumn).toBe('style');
    expect(summary.curves[0].name).toBe('out-of-fold (AUC 0.7500)');
  });

  test.each([
    [
      'ids',
      { ids: ['a'] },
      'Expected an array of 2 image names (one per probability) for oof.images.ids but received an array of length 1',
    ],
    [
      'paths',
      { ids: ['a', 'b'], paths: ['p', 3] },
      'Expected an array of 2 file paths (one per probability) for oof.images.paths but received an array of length 2',
    ],
    ['folds', { ids: ['a', 'b'], folds: [0, 0.5] }, 'Expected an array of 2 fold numbers (one per probability) for oof.images.folds'],
    ['groups', { ids: ['a', 'b'], groups: ['g'] }, 'Expected an array of 2 group names (one per probability) for oof.images.groups'],
    [
      'views',
      { ids: ['a', 'b'], views: [[0.5], [1.5]] },
      'Expected an array of 2 arrays of view probabilities (one per probability) for oof.images.views',
    ],
    ['images', 7, 'Expected an object with ids (and paths, folds, groups, views) for oof.images but received 7'],
  ])('images.%s is checked', async (_name, images, message) => {
    await expect(
      writeReport(join(dir, 'bad'), { folds: [], oof: { probabilities: [0.1, 0.9], labels: [0, 1], images: images as never } }),
    ).rejects.toThrow(message);
    expect(existsSync(join(dir, 'bad'))).toBe(false);
  });

  test.each([
    [{ mistakes: -1 }, 'Expected an integer from 0 to 200 for gallery.mistakes but received -1'],
    [{ perClass: 2.5 }, 'Expected an integer from 0 to 200 for gallery.perClass but received 2.5'],
    [3, 'Expected an object {mistakes, perClass} or false for gallery but received 3'],
  ])('gallery %p is checked', async (gallery, message) => {
    await expect(writeReport(join(dir, 'bad'), { folds: [], gallery: gallery as never })).rejects.toThrow(message);
  });

  test('gallery: false writes no images', async () => {
    const run = join(dir, 'none');
    const files = await writeReport(run, {
      folds: [],
      gallery: false,
      oof: { probabilities: [0.2, 0.8], labels: [0, 1], images: { ids: ['a', 'b'], paths: [red, blue] } },
    });
    expect(files.gallery).toEqual([]);
    expect(existsSync(join(run, 'report', 'images'))).toBe(false);
    expect(readFileSync(files.html, 'utf8')).not.toContain('<h2>Images</h2>');
  });
});
