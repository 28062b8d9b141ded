/** Builds the default food/drink dataset from emoji artwork on npm, in the competition layout, deterministically. */
import { promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { invalidData, requireChoice, requireInteger } from '../errors';
import { writeCsv } from './csv';
import {
  emojiEntries,
  type EmojiEntry,
  emojiPackageVersions,
  type ArtLicence,
  type DatasetStyle,
  type EmojiStyle,
  kEmojiStyles,
  kStyleInfo,
} from './emoji-sources';
import { RandomState } from './random';

export interface EmojiBuildOptions {
  outDir: string;
  /** Output side in pixels (default 128). */
  size?: number;
  /** JPEG quality (default 90). */
  quality?: number;
  /** Seed of the image-name shuffle (default 0). */
  seed?: number;
  /** Styles held out as the test split (default openmoji). */
  testStyles?: readonly DatasetStyle[];
}

export interface SplitCounts {
  images: number;
  drink: number;
  food: number;
}

export interface EmojiBuildSummary {
  outDir: string;
  size: number;
  train: SplitCounts;
  test: SplitCounts;
  styles: Record<DatasetStyle, SplitCounts & { split: 'train' | 'test' }>;
  seconds: number;
}

const kManifest = 'dataset.json';
const kDatasetName = 'foldtorch-emoji-food-drink';
const kFill = 0.88;

/** Bounding box of the pixels with any opacity in an RGBA raster (a read-only scan, at build time only). */
function opaqueBox(rgba: Buffer, width: number, height: number): { left: number; top: number; width: number; height: number } {
  let left = width;
  let right = -1;
  let top = height;
  let bottom = -1;
  for (let y = 0; y < height; y++) {
    const row = y * width * 4;
    for (let x = 0; x < width; x++) {
      if (rgba[row + x * 4 + 3] === 0) continue;
      if (x < left) left = x;
      if (x > right) right = x;
      if (y < top) top = y;
      bottom = y;
    }
  }
  if (right < 0) return { left: 0, top: 0, width, height };
  return { left, top, width: right - left + 1, height: bottom - top + 1 };
}

/**
 * One image: the SVG rasterised at twice the output size, cropped to its drawn pixels, scaled to fill 88%
 * of the canvas (6% margin each side), centred on white with the alpha flattened, written as RGB JPEG.
 */
export async function renderEmoji(svg: Buffer, size = 128, quality = 90): Promise<Buffer> {
  const meta = await sharp(svg).metadata();
  const density = (72 * 2 * size) / Math.max(meta.width ?? 1, meta.height ?? 1);
  const { data, info } = await sharp(svg, { density }).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const box = opaqueBox(data, info.width, info.height);
  const inner = Math.round(kFill * size);
  const before = Math.floor((size - inner) / 2);
  const after = size - inner - before;
  // sharp flattens before it pads (contain, extend), so the padding itself must be opaque white.
  const white = { r: 255, g: 255, b: 255, alpha: 1 };
  return sharp(data, { raw: { width: info.width, height: info.height, channels: 4 } })
    .extract(box)
    .flatten({ background: white })
    .resize(inner, inner, { fit: 'contain', background: white })
    .extend({ top: before, bottom: after, left: before, right: after, background: white })
    .jpeg({ quality, chromaSubsampling: '4:2:0' })
    .toBuffer();
}

function counts(entries: readonly EmojiEntry[]): SplitCounts {
  const drink = entries.filter((e) => e.label === 0).length;
  return { images: entries.length, drink, food: entries.length - drink };
}

/** Runs tasks with a small concurrency (librsvg and the JPEG encoder run on the libuv pool). */
export async function forEachLimited<T>(items: readonly T[], limit: number, task: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      await task(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Opaque names: entry `order[k]` is called `<prefix>_<k>.jpg`, so sorted names say nothing about labels or styles. */
function assignNames(entries: readonly EmojiEntry[], prefix: string, rng: RandomState): Array<{ name: string; entry: EmojiEntry }> {
  const order = rng.permutation(entries.length);
  const digits = Math.max(4, String(entries.length - 1).length);
  return order.map((index, k) => ({ name: `${prefix}_${String(k).padStart(digits, '0')}.jpg`, entry: entries[index] }));
}

/**
 * A staging folder beside `outDir` with `subdirs` made. `outDir` itself may only be missing or an earlier build
 * (its manifest names `build.datasetName`): never replace a folder of someone else's.
 */
export async function prepareStaging(
  outDir: string,
  build: { manifestFile: string; datasetName: string; description: string },
  subdirs: readonly string[],
): Promise<string> {
  const stats = await fs.stat(outDir).catch(() => null);
  if (stats !== null) {
    const manifest = await fs.readFile(join(outDir, build.manifestFile), 'utf8').catch(() => '');
    if (!manifest.includes(build.datasetName)) {
      throw invalidData(
        outDir,
        `Expected a missing folder or an earlier ${build.description} for outDir, but it exists with other content`,
      );
    }
  }
  const staging = `${outDir}.building-${process.pid}`;
  await fs.rm(staging, { recursive: true, force: true });
  for (const sub of subdirs) await fs.mkdir(join(staging, sub), { recursive: true });
  return staging;
}

/** Replaces `outDir` with the finished staging folder. */
export async function commitStaging(staging: string, outDir: string): Promise<void> {
  await fs.rm(outDir, { recursive: true, force: true });
  await fs.rename(staging, outDir);
}

/**
 * `foldtorch dataset emoji`: renders every (style, emoji) pair of EMOJI.md into `outDir` in the competition
 * layout (train/, test/, train.csv, sample_submit.csv, answer/test_labels.csv, answer/meta.csv, README.md).
 * Built in a staging folder and renamed into place, so an interrupted build leaves no half dataset.
 */
export async function buildEmojiDataset(options: EmojiBuildOptions): Promise<EmojiBuildSummary> {
  const started = Date.now();
  const outDir = resolve(options.outDir);
  const size = requireInteger('size', options.size ?? 128, 16, 1024);
  const quality = requireInteger('quality', options.quality ?? 90, 1, 100);
  const seed = requireInteger('seed', options.seed ?? 0, 0, 0xffffffff);
  const testStyles: readonly EmojiStyle[] = options.testStyles ?? ['openmoji'];
  testStyles.forEach((style, i) => requireChoice(`testStyles[${i}]`, style, kEmojiStyles));
  const entries = emojiEntries();
  const rng = new RandomState(seed);
  const train = assignNames(
    entries.filter((e) => !testStyles.includes(e.style)),
    'train',
    rng,
  );
  const test = assignNames(
    entries.filter((e) => testStyles.includes(e.style)),
    'test',
    rng,
  );
  if (train.length === 0 || test.length === 0) throw invalidData('testStyles', 'Expected both a train and a test split but one is empty');

  const staging = await prepareStaging(outDir, { manifestFile: kManifest, datasetName: kDatasetName, description: 'emoji dataset' }, [
    'train',
    'test',
    'answer',
  ]);
  const files = [...train.map((t) => ({ ...t, dir: 'train' })), ...test.map((t) => ({ ...t, dir: 'test' }))];
  await forEachLimited(files, 4, async ({ name, entry, dir }) => {
    await fs.writeFile(join(staging, dir, name), await renderEmoji(entry.svg, size, quality));
  });
  await writeCsv(
    join(staging, 'train.csv'),
    ['image_name', 'label'],
    train.map(({ name, entry }) => [name, entry.label]),
  );
  await writeCsv(
    join(staging, 'sample_submit.csv'),
    null,
    test.map(({ name }) => [name, 0.5]),
  );
  await writeCsv(
    join(staging, 'answer', 'test_labels.csv'),
    ['image_name', 'label'],
    test.map(({ name, entry }) => [name, entry.label]),
  );
  await writeCsv(
    join(staging, 'answer', 'meta.csv'),
    ['image_name', 'style', 'family', 'hexcode', 'name', 'subgroup', 'label'],
    files.map(({ name, entry: e }) => [name, e.style, e.family, e.hexcode, e.name, e.subgroup, e.label]),
  );

  const styles = Object.fromEntries(
    kEmojiStyles.map((style) => [
      style,
      { ...counts(entries.filter((e) => e.style === style)), split: testStyles.includes(style) ? 'test' : 'train' },
    ]),
  ) as EmojiBuildSummary['styles'];
  const summary: EmojiBuildSummary = {
    outDir,
    size,
    train: counts(train.map((t) => t.entry)),
    test: counts(test.map((t) => t.entry)),
    styles,
    seconds: 0,
  };
  const manifest = { name: kDatasetName, version: 1, size, quality, seed, testStyles, packages: emojiPackageVersions(), styles };
  await fs.writeFile(join(staging, kManifest), `${JSON.stringify(manifest, null, 2)}\n`);
  await fs.writeFile(join(staging, 'README.md'), emojiReadme(summary, manifest.packages));
  await commitStaging(staging, outDir);
  summary.seconds = (Date.now() - started) / 1000;
  return summary;
}

/**
 * Runs `build` unless `outDir`'s manifest names `build.datasetName` and equals `wanted` on each of its keys: the
 * reuse rule of every generated emoji folder.
 */
export async function ensureBuilt(
  outDir: string,
  manifestFile: string,
  datasetName: string,
  wanted: Record<string, unknown>,
  build: () => Promise<unknown>,
): Promise<{ built: boolean; outDir: string }> {
  const manifest = await fs.readFile(join(outDir, manifestFile), 'utf8').then(JSON.parse, () => null);
  const same =
    manifest !== null &&
    manifest.name === datasetName &&
    Object.entries(wanted).every(([key, value]) => JSON.stringify(manifest[key]) === JSON.stringify(value));
  if (same) return { built: false, outDir };
  await build();
  return { built: true, outDir };
}

/** Builds the dataset unless `outDir` already holds one built with the same settings (the demo's first step). */
export async function ensureEmojiDataset(options: EmojiBuildOptions): Promise<{ built: boolean; outDir: string }> {
  const outDir = resolve(options.outDir);
  const wanted = {
    size: options.size ?? 128,
    quality: options.quality ?? 90,
    seed: options.seed ?? 0,
    testStyles: options.testStyles ?? ['openmoji'],
  };
  return ensureBuilt(outDir, kManifest, kDatasetName, wanted, () => buildEmojiDataset({ ...options, outDir }));
}

const kLicenceTerms: Record<ArtLicence, string> = {
  'CC-BY-4.0': 'CC-BY-4.0 (https://creativecommons.org/licenses/by/4.0/)',
  'CC-BY-SA-4.0': 'CC-BY-SA-4.0 (https://creativecommons.org/licenses/by-sa/4.0/, derivatives must be shared alike)',
  'Apache-2.0': 'Apache-2.0 (https://www.apache.org/licenses/LICENSE-2.0)',
  MIT: 'MIT (https://opensource.org/license/mit, notice below)',
};

/** The MIT licence's copyright and permission notice, which must be included with copies of MIT artwork. */
function mitNotice(holders: readonly string[]): string {
  return `${holders.map((holder) => `Copyright (c) ${holder}`).join('\n')}

Permission is hereby granted, free of charge, to any person obtaining a copy of this software and associated
documentation files (the "Software"), to deal in the Software without restriction, including without limitation the
rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the Software, and to permit
persons to whom the Software is furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or substantial portions of the
Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE
WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR
COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR
OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
`;
}

/** The licence paragraph of a README built from the artwork of `styles`: each of their licences once. */
export function licenceNote(styles: readonly EmojiStyle[]): string {
  const licences = [...new Set(styles.map((style) => kStyleInfo[style].licence))];
  const terms = licences.map((licence) => kLicenceTerms[licence]);
  const listed = terms.length > 1 ? `${terms.slice(0, -1).join(', ')} and ${terms[terms.length - 1]}` : terms[0];
  const note = `The images are derivative works of the artwork above and carry the same licences: ${listed}. The images
were resized, padded and flattened onto white; no other changes were made.
`;
  const mit = styles.filter((style) => kStyleInfo[style].licence === 'MIT');
  const holders = [...new Set(mit.map((style) => kStyleInfo[style].copyright ?? kStyleInfo[style].attribution))];
  return mit.length === 0
    ? note
    : `${note}
## MIT notice (${mit.join(', ')})

${mitNotice(holders)}`;
}

function emojiReadme(summary: EmojiBuildSummary, packages: Record<string, string>): string {
  const rows = kEmojiStyles.map((style) => {
    const info = kStyleInfo[style];
    const s = summary.styles[style];
    return `| ${style} | ${s.split} | \`${info.packageName}@${packages[info.packageName]}\` | ${info.licence} | ${info.attribution} | ${s.drink} | ${s.food} |`;
  });
  return `# Emoji food (1) vs drink (0)

Built by \`foldtorch dataset emoji\` from emoji artwork published on npm; generated, never committed.
Labels follow Unicode's emoji grouping (\`emoji-datasource@${packages['emoji-datasource']}\`): subgroup \`drink\` → 0,
\`food-fruit\`, \`food-vegetable\`, \`food-prepared\`, \`food-asian\`, \`food-sweet\` → 1 (\`dishware\` left out).

Train: ${summary.train.images} images (${summary.train.drink} drink, ${summary.train.food} food).
Test: ${summary.test.images} images (${summary.test.drink} drink, ${summary.test.food} food), in art styles never used for training.

Each SVG is rasterised at twice the output size, trimmed to its drawn pixels, scaled to fill 88% of a
${summary.size}×${summary.size} white canvas, and written as an RGB JPEG. Image names are shuffled with a fixed seed.
\`answer/test_labels.csv\` holds the test labels and \`answer/meta.csv\` the style, family, hexcode, name and subgroup of
every image (for scoring and for group folds by style or by emoji).

## Styles, licences and attribution

| style | split | package | licence | artwork | drink | food |
|---|---|---|---|---|---|---|
${rows.join('\n')}

${licenceNote(kEmojiStyles)}`;
}
