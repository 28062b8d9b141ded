import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { loadDataset } from '../../../src/data/dataset';
import { licenceNote, renderEmoji } from '../../../src/data/emoji';
import { buildEmojiCorpus, ensureEmojiCorpus, kCorpusDefaultStyles, type EmojiCorpusSummary } from '../../../src/data/emoji-corpus';
import {
  emojiEntries,
  foodAndDrinkEmoji,
  kCorpusOnlyStyles,
  pretrainingEmoji,
  pretrainingSubgroups,
} from '../../../src/data/emoji-sources';

// Two small subgroups in two styles: the build's every rule in a second.
const kSmall = { styles: ['twemoji', 'noto'] as const, subgroups: ['face-tongue', 'face-sleepy'] };

let base: string;
let outDir: string;
let summary: EmojiCorpusSummary;

beforeAll(async () => {
  base = mkdtempSync(join(tmpdir(), 'foldtorch-corpus-'));
  outDir = join(base, 'corpus');
  summary = await buildEmojiCorpus({ outDir, ...kSmall });
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('pretraining catalogue', () => {
  test('1505 emoji in 88 subgroups: no Food & Drink, flag or component; labels index the subgroups', () => {
    const emoji = pretrainingEmoji();
    const subgroups = pretrainingSubgroups();
    expect([emoji.length, subgroups.length]).toEqual([1505, 88]);
    expect(subgroups.slice(0, 3)).toEqual(['face-smiling', 'face-affection', 'face-tongue']);
    for (const e of emoji) expect(subgroups[e.label]).toBe(e.subgroup);
    const food = new Set(foodAndDrinkEmoji().map((e) => e.hexcode));
    expect(emoji.filter((e) => food.has(e.hexcode))).toEqual([]);
    for (const left of ['dishware', 'country-flag', 'flag', 'skin-tone', 'hair-style']) expect(subgroups).not.toContain(left);
    expect(new Set(emoji.map((e) => e.hexcode)).size).toBe(emoji.length);
    expect(emoji.find((e) => e.hexcode === '1f600')).toMatchObject({ name: 'grinning face', subgroup: 'face-smiling', label: 0 });
  });

  test('the default styles: the 7 training styles give 6934 images, the corpus-only styles 3903 more; no openmoji', () => {
    expect(kCorpusDefaultStyles).toEqual([
      'twemoji',
      'noto',
      'noto-v1',
      'emojione',
      'emojione-v1',
      'fxemoji',
      'streamline',
      'fluent-flat',
      'fluent-high-contrast',
      'emojione-monotone',
    ]);
    const emoji = pretrainingEmoji();
    expect(emojiEntries(['twemoji', 'noto', 'noto-v1', 'emojione', 'emojione-v1', 'fxemoji', 'streamline'], emoji)).toHaveLength(6934);
    const counted = kCorpusOnlyStyles.map((style) => {
      const entries = emojiEntries([style], emoji);
      return [style, entries.length, [...new Set(entries.map((e) => e.family))].join()];
    });
    expect(counted).toEqual([
      ['fluent-flat', 1456, 'fluent'],
      ['fluent-high-contrast', 1456, 'fluent'],
      ['emojione-monotone', 991, 'emojione'],
    ]);
    // Fluent by code point, monotone by name: the grinning face is each set's grinning face.
    expect(
      emojiEntries(
        kCorpusOnlyStyles,
        emoji.filter((e) => e.hexcode === '1f600'),
      ).map((e) => e.source),
    ).toEqual(['fluent-emoji-flat:grinning-face', 'fluent-emoji-high-contrast:grinning-face', 'emojione-monotone:grinning-face']);
  });
});

describe('buildEmojiCorpus', () => {
  test('one folder per subgroup, one image per (style, emoji), counted in the summary and the manifest', () => {
    const expected = emojiEntries(
      kSmall.styles,
      pretrainingEmoji().filter((e) => kSmall.subgroups.includes(e.subgroup)),
    );
    expect(summary.images).toBe(expected.length);
    for (const subgroup of kSmall.subgroups) {
      const files = readdirSync(join(outDir, subgroup)).sort();
      const wanted = expected
        .filter((e) => e.subgroup === subgroup)
        .map((e) => `${e.style}_${e.hexcode}.jpg`)
        .sort();
      expect(files).toEqual(wanted);
      expect(summary.classes[subgroup]).toBe(wanted.length);
    }
    expect(summary.classes).toEqual({ 'face-tongue': 12, 'face-sleepy': 12 });
    const manifest = JSON.parse(readFileSync(join(outDir, 'corpus.json'), 'utf8'));
    expect(manifest).toMatchObject({
      name: 'foldtorch-emoji-pretraining-corpus',
      size: 128,
      styles: ['twemoji', 'noto'],
      classes: summary.classes,
    });
    expect(manifest.excludedCategories).toEqual(['Food & Drink', 'Flags', 'Component']);
  });

  test("images are the dataset's rendering: 128×128 JPEG, same bytes as renderEmoji", async () => {
    const entry = emojiEntries(['noto'], pretrainingEmoji()).find((e) => e.hexcode === '1f61b')!;
    const file = join(outDir, 'face-tongue', 'noto_1f61b.jpg');
    expect((await renderEmoji(entry.svg)).equals(readFileSync(file))).toBe(true);
    const info = await sharp(file).metadata();
    expect([info.format, info.width, info.height, info.channels]).toEqual(['jpeg', 128, 128, 3]);
  });

  test('loads as a folder-per-class dataset, classes in sorted order', async () => {
    const dataset = await loadDataset(outDir, { verify: 'none' });
    expect(dataset.layout).toBe('folders');
    expect(dataset.classes).toEqual(['face-sleepy', 'face-tongue']);
    expect(dataset.train).toHaveLength(24);
  });

  test('README names every style with its licence', () => {
    const readme = readFileSync(join(outDir, 'README.md'), 'utf8');
    expect(readme).toContain('24 images in 2 classes');
    expect(readme).toContain('| twemoji | `@discordapp/twemoji@16.0.1` | CC-BY-4.0 |');
    expect(readme).toContain('| noto | `@iconify-json/noto@1.2.9` | Apache-2.0 |');
    // Only the licences of the styles drawn: twemoji's and noto's.
    expect(readme).toContain(
      'carry the same licences: CC-BY-4.0 (https://creativecommons.org/licenses/by/4.0/) and Apache-2.0 (https://www.apache.org/licenses/LICENSE-2.0).',
    );
    expect(readme).not.toContain('CC-BY-SA');
    // MIT artwork carries its copyright and permission notice, once per holder.
    const mit = licenceNote(['fluent-flat', 'noto-v1', 'fluent-high-contrast']);
    expect(mit).toContain('licences: MIT (https://opensource.org/license/mit, notice below) and Apache-2.0');
    expect(mit).toContain(
      '## MIT notice (fluent-flat, fluent-high-contrast)\n\nCopyright (c) Microsoft Corporation\n\nPermission is hereby granted',
    );
    expect(mit.match(/Copyright \(c\)/g)).toHaveLength(1);
    expect(mit).toContain('The above copyright notice and this permission notice shall be included in all copies');
  });

  test('ensureEmojiCorpus reuses a matching build, rebuilds on other settings, refuses foreign folders', async () => {
    expect(await ensureEmojiCorpus({ outDir, ...kSmall })).toEqual({ built: false, outDir });
    const other = join(base, 'other');
    expect(await ensureEmojiCorpus({ outDir: other, styles: ['noto'], subgroups: ['face-tongue', 'face-sleepy'] })).toEqual({
      built: true,
      outDir: other,
    });
    expect(await ensureEmojiCorpus({ outDir: other, styles: ['twemoji'], subgroups: ['face-tongue', 'face-sleepy'] })).toEqual({
      built: true,
      outDir: other,
    });
    expect(readdirSync(join(other, 'face-tongue')).every((name) => name.startsWith('twemoji_'))).toBe(true);
    const foreign = join(base, 'foreign');
    mkdirSync(foreign);
    writeFileSync(join(foreign, 'notes.txt'), 'mine');
    await expect(buildEmojiCorpus({ outDir: foreign, ...kSmall })).rejects.toThrow(
      `${foreign}: Expected a missing folder or an earlier emoji pretraining corpus for outDir, but it exists with other content`,
    );
    expect(readFileSync(join(foreign, 'notes.txt'), 'utf8')).toBe('mine');
  });

  test('options are validated', async () => {
    await expect(buildEmojiCorpus({ outDir: join(base, 'x'), subgroups: ['drink', 'face-tongue'] })).rejects.toThrow(
      'for subgroups[0] but received "drink"',
    );
    await expect(buildEmojiCorpus({ outDir: join(base, 'x'), styles: ['apple' as never] })).rejects.toThrow(
      'for styles[0] but received "apple"',
    );
    await expect(buildEmojiCorpus({ outDir: join(base, 'x'), subgroups: ['face-tongue'] })).rejects.toThrow(
      'subgroups: Expected at least 2 subgroups with images to tell apart but found 1',
    );
    expect(existsSync(join(base, 'x'))).toBe(false);
  });
});
