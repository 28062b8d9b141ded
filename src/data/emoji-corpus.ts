/**
 * The emoji pretraining corpus: every emoji outside Food & Drink (faces, people, animals, plants, places,
 * objects, symbols…) in the dataset's training art styles and the corpus-only ones, one folder per Unicode
 * subgroup (ImageFolder layout). A model
 * trained to name the subgroup learns shapes that hold across art styles; its backbone then starts the food/drink
 * folds (`foldtorch pretrain`, `npm run demo -- --pretrain`), as the seed started from an ImageNet-trained EVA-02.
 * No Food & Drink emoji and no test-style image is in it.
 */
import { promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import { invalidData, requireChoice, requireInteger } from '../errors';
import { commitStaging, ensureBuilt, forEachLimited, licenceNote, prepareStaging, renderEmoji } from './emoji';
import {
  emojiEntries,
  emojiPackageVersions,
  kCorpusOnlyStyles,
  kEmojiStyles,
  kPretrainingExcludedCategories,
  kStyleInfo,
  pretrainingEmoji,
  type EmojiStyle,
} from './emoji-sources';

export interface EmojiCorpusOptions {
  outDir: string;
  /** Output side in pixels (default 128, as the dataset). */
  size?: number;
  /** JPEG quality (default 90). */
  quality?: number;
  /** Art styles to draw from (default kCorpusDefaultStyles: never openmoji, the dataset's test style). */
  styles?: readonly EmojiStyle[];
  /** Only these Unicode subgroups (default: all of them); for small test builds. */
  subgroups?: readonly string[];
}

export interface EmojiCorpusSummary {
  outDir: string;
  size: number;
  images: number;
  /** Images per subgroup folder. */
  classes: Record<string, number>;
  styles: Partial<Record<EmojiStyle, number>>;
  seconds: number;
}

const kManifest = 'corpus.json';
const kCorpusName = 'foldtorch-emoji-pretraining-corpus';
/** The dataset's training styles and the corpus-only ones. */
export const kCorpusDefaultStyles: readonly EmojiStyle[] = [...kEmojiStyles.filter((style) => style !== 'openmoji'), ...kCorpusOnlyStyles];

function resolvedSettings(options: EmojiCorpusOptions) {
  const styles = [...(options.styles ?? kCorpusDefaultStyles)];
  styles.forEach((style, i) => requireChoice(`styles[${i}]`, style, [...kEmojiStyles, ...kCorpusOnlyStyles]));
  return {
    size: requireInteger('size', options.size ?? 128, 16, 1024),
    quality: requireInteger('quality', options.quality ?? 90, 1, 100),
    styles,
    subgroups: options.subgroups ? [...options.subgroups] : null,
  };
}

/** `foldtorch dataset emoji-corpus`: renders the corpus into `outDir/<subgroup>/<style>_<hexcode>.jpg`, deterministically. */
export async function buildEmojiCorpus(options: EmojiCorpusOptions): Promise<EmojiCorpusSummary> {
  const started = Date.now();
  const outDir = resolve(options.outDir);
  const settings = resolvedSettings(options);
  let emoji = pretrainingEmoji();
  if (settings.subgroups) {
    const known = new Set(emoji.map((e) => e.subgroup));
    settings.subgroups.forEach((subgroup, i) => requireChoice(`subgroups[${i}]`, subgroup, [...known]));
    emoji = emoji.filter((e) => settings.subgroups!.includes(e.subgroup));
  }
  const entries = emojiEntries(settings.styles, emoji);
  const classes = [...new Set(entries.map((e) => e.subgroup))];
  if (classes.length < 2)
    throw invalidData('subgroups', `Expected at least 2 subgroups with images to tell apart but found ${classes.length}`);

  const staging = await prepareStaging(
    outDir,
    { manifestFile: kManifest, datasetName: kCorpusName, description: 'emoji pretraining corpus' },
    classes,
  );
  await forEachLimited(entries, 4, async (entry) => {
    const file = join(staging, entry.subgroup, `${entry.style}_${entry.hexcode}.jpg`);
    await fs.writeFile(file, await renderEmoji(entry.svg, settings.size, settings.quality));
  });
  const countBy = (key: (e: (typeof entries)[number]) => string) => {
    const counts: Record<string, number> = {};
    for (const e of entries) counts[key(e)] = (counts[key(e)] ?? 0) + 1;
    return counts;
  };
  const summary: EmojiCorpusSummary = {
    outDir,
    size: settings.size,
    images: entries.length,
    classes: countBy((e) => e.subgroup),
    styles: countBy((e) => e.style),
    seconds: 0,
  };
  const packages = emojiPackageVersions(settings.styles);
  const manifest = {
    name: kCorpusName,
    version: 1,
    ...settings,
    excludedCategories: kPretrainingExcludedCategories,
    packages,
    classes: summary.classes,
  };
  await fs.writeFile(join(staging, kManifest), `${JSON.stringify(manifest, null, 2)}\n`);
  await fs.writeFile(join(staging, 'README.md'), corpusReadme(summary, settings.styles, packages));
  await commitStaging(staging, outDir);
  summary.seconds = (Date.now() - started) / 1000;
  return summary;
}

/** Builds the corpus unless `outDir` already holds one built with the same settings. */
export async function ensureEmojiCorpus(options: EmojiCorpusOptions): Promise<{ built: boolean; outDir: string }> {
  const outDir = resolve(options.outDir);
  return ensureBuilt(outDir, kManifest, kCorpusName, resolvedSettings(options), () => buildEmojiCorpus({ ...options, outDir }));
}

function corpusReadme(summary: EmojiCorpusSummary, styles: readonly EmojiStyle[], packages: Record<string, string>): string {
  const rows = styles.map((style) => {
    const info = kStyleInfo[style];
    return `| ${style} | \`${info.packageName}@${packages[info.packageName]}\` | ${info.licence} | ${info.attribution} | ${summary.styles[style] ?? 0} |`;
  });
  return `# Emoji pretraining corpus

Built by \`foldtorch dataset emoji-corpus\` from emoji artwork published on npm; generated, never committed.
${summary.images} images in ${Object.keys(summary.classes).length} classes: one folder per Unicode subgroup
(\`emoji-datasource@${packages['emoji-datasource']}\`), every emoji outside the categories
${kPretrainingExcludedCategories.map((c) => `"${c}"`).join(', ')}. No Food & Drink emoji is in it, and no image of a
style left out below. Each image is drawn as the food/drink dataset's are: ${summary.size}×${summary.size}, 88% fill, on white.

| style | package | licence | artwork | images |
|---|---|---|---|---|
${rows.join('\n')}

${licenceNote(styles)}`;
}
