import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { readCsvTable } from '../../../src/data/csv';
import { loadDataset, metaGroups } from '../../../src/data/dataset';
import { buildEmojiDataset, type EmojiBuildSummary, ensureEmojiDataset, renderEmoji } from '../../../src/data/emoji';
import { emojiEntries, foodAndDrinkEmoji, kEmojiStyles, nameCandidates } from '../../../src/data/emoji-sources';
import { foldIndices, stratifiedGroupKFold } from '../../../src/data/folds';

// EMOJI.md's table: drink and food images per style.
const kExpected: Record<string, [number, number]> = {
  twemoji: [20, 104],
  noto: [20, 104],
  'noto-v1': [13, 70],
  emojione: [13, 70],
  'emojione-v1': [9, 51],
  fxemoji: [9, 48],
  streamline: [10, 33],
  openmoji: [20, 104],
};

let base: string;
let outDir: string;
let summary: EmojiBuildSummary;
let meta: Array<Record<string, string>>;

beforeAll(async () => {
  base = mkdtempSync(join(tmpdir(), 'foldtorch-emoji-'));
  outDir = join(base, 'emoji');
  summary = await buildEmojiDataset({ outDir });
  meta = (await readCsvTable(join(outDir, 'answer', 'meta.csv'), ['image_name'])).rows.map((r) => r.values);
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('catalogue', () => {
  test('124 Food & Drink emoji: 20 drink, 104 food, dishware left out', () => {
    const emoji = foodAndDrinkEmoji();
    expect(emoji).toHaveLength(124);
    expect(emoji.filter((e) => e.label === 0)).toHaveLength(20);
    expect(new Set(emoji.map((e) => e.subgroup))).toEqual(
      new Set(['drink', 'food-fruit', 'food-vegetable', 'food-prepared', 'food-asian', 'food-sweet']),
    );
    expect(emoji.find((e) => e.hexcode === '2615')).toMatchObject({ name: 'hot beverage', label: 0 });
    expect(emoji.find((e) => e.hexcode === '1f336')).toMatchObject({ name: 'hot pepper', subgroup: 'food-vegetable' });
  });

  test('name matching: hyphenless and numbered variants, one icon per emoji', () => {
    const coffee = foodAndDrinkEmoji().find((e) => e.hexcode === '2615');
    expect(nameCandidates(coffee!).slice(0, 3)).toEqual(['hot-beverage', 'hotbeverage', 'hot-beverage-1']);
    const entries = emojiEntries(['fxemoji', 'streamline']);
    const source = (style: string, hex: string) => entries.find((e) => e.style === style && e.hexcode === hex)?.source;
    expect(source('fxemoji', '1f346')).toBe('fxemoji:aubergine');
    expect(source('fxemoji', '1f35b')).toBe('fxemoji:curryandrice');
    expect(source('streamline', '2615')).toBe('streamline-emojis:hot-beverage-1');
    for (const style of kEmojiStyles) {
      const sources = emojiEntries([style]).map((e) => e.source);
      expect(new Set(sources).size).toBe(sources.length);
    }
  });
});

describe('buildEmojiDataset', () => {
  test('counts per style and label equal EMOJI.md, in the summary and in answer/meta.csv', () => {
    for (const [style, [drink, food]] of Object.entries(kExpected)) {
      expect([style, summary.styles[style as keyof typeof summary.styles]]).toEqual([
        style,
        { images: drink + food, drink, food, split: style === 'openmoji' ? 'test' : 'train' },
      ]);
      const rows = meta.filter((r) => r.style === style);
      expect([style, rows.filter((r) => r.label === '0').length, rows.filter((r) => r.label === '1').length]).toEqual([style, drink, food]);
    }
    expect(summary.train).toEqual({ images: 574, drink: 94, food: 480 });
    expect(summary.test).toEqual({ images: 124, drink: 20, food: 104 });
  });

  test('the competition layout loads and agrees with meta.csv', async () => {
    const dataset = await loadDataset(outDir);
    expect(dataset.train).toHaveLength(574);
    expect(dataset.test).toHaveLength(124);
    expect(dataset.hasTestLabels).toBe(true);
    const byName = new Map(meta.map((r) => [r.image_name, r]));
    for (const item of [...dataset.train, ...dataset.test]) expect(String(item.label)).toBe(byName.get(item.imageName)?.label);
    expect(new Set(dataset.test.map((t) => byName.get(t.imageName)?.style))).toEqual(new Set(['openmoji']));
    expect(readFileSync(join(outDir, 'sample_submit.csv'), 'utf8').split('\n')[0]).toBe('test_0000.jpg,0.5');
    expect(readFileSync(join(outDir, 'train.csv'), 'utf8').split('\n')[0]).toBe('image_name,label');
    expect(Object.keys(meta[0])).toEqual(['image_name', 'style', 'family', 'hexcode', 'name', 'subgroup', 'label']);
  });

  test('names are opaque: the file order mixes labels and styles', () => {
    const first = meta.slice(0, 40);
    expect(new Set(first.map((r) => r.label))).toEqual(new Set(['0', '1']));
    expect(new Set(first.map((r) => r.style)).size).toBeGreaterThan(4);
  });

  test('images are 128×128 RGB JPEGs on white', async () => {
    const file = join(outDir, 'train', 'train_0000.jpg');
    const info = await sharp(file).metadata();
    expect([info.format, info.width, info.height, info.channels]).toEqual(['jpeg', 128, 128, 3]);
    const { data } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
    for (const offset of [0, 127 * 3, 127 * 128 * 3])
      expect(Array.from(data.subarray(offset, offset + 3)).every((v) => v >= 250)).toBe(true);
  });

  test('deterministic bytes: re-rendering gives the written files', async () => {
    const entries = emojiEntries();
    for (const row of meta.filter((_, i) => i % 97 === 0)) {
      const entry = entries.find((e) => e.style === row.style && e.hexcode === row.hexcode);
      const dir = row.image_name.startsWith('test') ? 'test' : 'train';
      expect((await renderEmoji(entry!.svg)).equals(readFileSync(join(outDir, dir, row.image_name)))).toBe(true);
    }
  });

  test('README carries the licences; the manifest the package versions', () => {
    const readme = readFileSync(join(outDir, 'README.md'), 'utf8');
    for (const licence of ['CC-BY-4.0', 'CC-BY-SA-4.0', 'Apache-2.0']) expect(readme).toContain(licence);
    expect(readme).toContain('| openmoji | test | `openmoji@17.0.0` | CC-BY-SA-4.0 |');
    const manifest = JSON.parse(readFileSync(join(outDir, 'dataset.json'), 'utf8'));
    expect(manifest.packages['emoji-datasource']).toBe('16.0.0');
  });

  test('group folds by emoji keep every emoji in one fold', async () => {
    const dataset = await loadDataset(outDir, { verify: 'none' });
    const groups = metaGroups(dataset, 'hexcode');
    const { testFold } = stratifiedGroupKFold(
      dataset.train.map((t) => t.label),
      groups,
      { nSplits: 5, shuffle: true, seed: 42 },
    );
    const foldOf = new Map<string, number>();
    groups.forEach((g, i) => {
      expect(foldOf.get(g) ?? testFold[i]).toBe(testFold[i]);
      foldOf.set(g, testFold[i]);
    });
    for (let f = 0; f < 5; f++) expect(foldIndices(testFold, f).test.length).toBeGreaterThan(90);
  });

  test('ensureEmojiDataset reuses a matching build and refuses foreign folders', async () => {
    expect(await ensureEmojiDataset({ outDir })).toEqual({ built: false, outDir });
    const foreign = join(base, 'foreign');
    mkdirSync(foreign);
    writeFileSync(join(foreign, 'notes.txt'), 'mine');
    await expect(buildEmojiDataset({ outDir: foreign })).rejects.toThrow(
      `${foreign}: Expected a missing folder or an earlier emoji dataset for outDir, but it exists with other content`,
    );
    expect(existsSync(join(foreign, 'notes.txt'))).toBe(true);
  });

  test('options are validated', async () => {
    await expect(buildEmojiDataset({ outDir: join(base, 'x'), size: 8 })).rejects.toThrow(
      'Expected an integer from 16 to 1024 for size but received 8',
    );
    await expect(buildEmojiDataset({ outDir: join(base, 'x'), testStyles: ['apple' as never] })).rejects.toThrow(
      'Expected one of twemoji, noto, noto-v1, emojione, emojione-v1, fxemoji, streamline, openmoji for testStyles[0] but received "apple"',
    );
  });
});
