/** The emoji catalogue behind the default dataset: Food & Drink labels from emoji-datasource and each art style's SVG per emoji. */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { invalidData } from '../errors';

/** The dataset's art styles, in the order of EMOJI.md's table; the last one is the default test style. */
export const kEmojiStyles = ['twemoji', 'noto', 'noto-v1', 'emojione', 'emojione-v1', 'fxemoji', 'streamline', 'openmoji'] as const;
export type DatasetStyle = (typeof kEmojiStyles)[number];
/**
 * Art styles for the pretraining corpus only, so the dataset stays EMOJI.md's: Microsoft's Fluent Emoji drawn
 * flat and in high contrast, and Emoji One's monotone set: flat fills and black line art, unlike any training style.
 */
export const kCorpusOnlyStyles = ['fluent-flat', 'fluent-high-contrast', 'emojione-monotone'] as const;
export type EmojiStyle = DatasetStyle | (typeof kCorpusOnlyStyles)[number];

type Source = { kind: 'twemoji' } | { kind: 'openmoji' } | { kind: 'iconify-chars'; set: string } | { kind: 'iconify-names'; set: string };

/** The licences of the artwork used, each explained once in the READMEs (licenceNote). */
export const kArtLicences = ['CC-BY-4.0', 'CC-BY-SA-4.0', 'Apache-2.0', 'MIT'] as const;
export type ArtLicence = (typeof kArtLicences)[number];

export interface StyleInfo {
  style: EmojiStyle;
  /** Art lineage: v1 and later versions of one design share a family. */
  family: string;
  packageName: string;
  licence: ArtLicence;
  /** Who holds the copyright, where the licence asks for the notice to be kept (MIT). */
  copyright?: string;
  attribution: string;
  source: Source;
}

export const kStyleInfo: Record<EmojiStyle, StyleInfo> = {
  twemoji: {
    style: 'twemoji',
    family: 'twemoji',
    packageName: '@discordapp/twemoji',
    licence: 'CC-BY-4.0',
    attribution: 'Twemoji by Twitter, Inc and other contributors (maintained by Discord)',
    source: { kind: 'twemoji' },
  },
  noto: {
    style: 'noto',
    family: 'noto',
    packageName: '@iconify-json/noto',
    licence: 'Apache-2.0',
    attribution: 'Noto Emoji by Google Inc',
    source: { kind: 'iconify-chars', set: 'noto' },
  },
  'noto-v1': {
    style: 'noto-v1',
    family: 'noto',
    packageName: '@iconify-json/noto-v1',
    licence: 'Apache-2.0',
    attribution: 'Noto Emoji (v1) by Google Inc',
    source: { kind: 'iconify-names', set: 'noto-v1' },
  },
  emojione: {
    style: 'emojione',
    family: 'emojione',
    packageName: '@iconify-json/emojione',
    licence: 'CC-BY-4.0',
    attribution: 'Emoji One (EmojiTwo) by Emoji One',
    source: { kind: 'iconify-names', set: 'emojione' },
  },
  'emojione-v1': {
    style: 'emojione-v1',
    family: 'emojione',
    packageName: '@iconify-json/emojione-v1',
    licence: 'CC-BY-SA-4.0',
    attribution: 'Emoji One (v1, legacy) by Emoji One',
    source: { kind: 'iconify-names', set: 'emojione-v1' },
  },
  fxemoji: {
    style: 'fxemoji',
    family: 'fxemoji',
    packageName: '@iconify-json/fxemoji',
    licence: 'Apache-2.0',
    attribution: 'Firefox OS Emoji by Mozilla',
    source: { kind: 'iconify-names', set: 'fxemoji' },
  },
  streamline: {
    style: 'streamline',
    family: 'streamline',
    packageName: '@iconify-json/streamline-emojis',
    licence: 'CC-BY-4.0',
    attribution: 'Streamline Emojis by Streamline (webalys)',
    source: { kind: 'iconify-names', set: 'streamline-emojis' },
  },
  openmoji: {
    style: 'openmoji',
    family: 'openmoji',
    packageName: 'openmoji',
    licence: 'CC-BY-SA-4.0',
    attribution: 'OpenMoji, the open-source emoji and icon project (openmoji.org)',
    source: { kind: 'openmoji' },
  },
  'fluent-flat': {
    style: 'fluent-flat',
    family: 'fluent',
    packageName: '@iconify-json/fluent-emoji-flat',
    licence: 'MIT',
    copyright: 'Microsoft Corporation',
    attribution: 'Fluent Emoji (flat) by Microsoft Corporation',
    source: { kind: 'iconify-chars', set: 'fluent-emoji-flat' },
  },
  'fluent-high-contrast': {
    style: 'fluent-high-contrast',
    family: 'fluent',
    packageName: '@iconify-json/fluent-emoji-high-contrast',
    licence: 'MIT',
    copyright: 'Microsoft Corporation',
    attribution: 'Fluent Emoji (high contrast) by Microsoft Corporation',
    source: { kind: 'iconify-chars', set: 'fluent-emoji-high-contrast' },
  },
  'emojione-monotone': {
    style: 'emojione-monotone',
    family: 'emojione',
    packageName: '@iconify-json/emojione-monotone',
    licence: 'CC-BY-4.0',
    attribution: 'Emoji One (monotone) by Emoji One',
    source: { kind: 'iconify-names', set: 'emojione-monotone' },
  },
};

/** Unicode subgroups kept, with their label: drink = 0, food = 1 (dishware is left out). */
export const kSubgroupLabels: Readonly<Record<string, 0 | 1>> = {
  drink: 0,
  'food-fruit': 1,
  'food-vegetable': 1,
  'food-prepared': 1,
  'food-asian': 1,
  'food-sweet': 1,
};

export interface EmojiInfo {
  /** Lower-case code points joined by '-', without fe0f. */
  hexcode: string;
  /** CLDR short name (from OpenMoji's annotations), e.g. "hot beverage". */
  name: string;
  subgroup: string;
  /** Food & Drink: drink = 0, food = 1. The pretraining corpus: the subgroup's index in kPretrainingSubgroups order. */
  label: number;
  /** Every name the emoji goes by, for matching icon names. */
  names: string[];
}

export interface EmojiEntry extends EmojiInfo {
  style: EmojiStyle;
  family: string;
  /** The SVG document to rasterise. */
  svg: Buffer;
  /** File or icon name it came from (for the contact sheet and debugging). */
  source: string;
}

export function normaliseHexcode(hex: string): string {
  return hex
    .toLowerCase()
    .split('-')
    .filter((part) => part !== 'fe0f')
    .join('-');
}

/** Every npm package the datasets are drawn from (dev dependencies, pinned in package.json). */
export const kArtPackageNames: readonly string[] = [
  ...new Set(['emoji-datasource', ...Object.values(kStyleInfo).map((s) => s.packageName)]),
];

/** Where `foldtorch setup --art` installs them for an installed package (FOLDTORCH_ART_DIR overrides). */
export function artCacheDir(): string {
  return process.env.FOLDTORCH_ART_DIR ?? join(homedir(), '.cache', 'foldtorch', 'art');
}

/** The folder of an artwork package: the repository's dev dependencies, else the art cache; else say how to get it. */
export function packageDir(name: string): string {
  for (const paths of [undefined, [artCacheDir()]]) {
    try {
      return dirname(require.resolve(`${name}/package.json`, paths ? { paths } : undefined));
    } catch {
      // not there: try the next place
    }
  }
  throw invalidData(
    name,
    `the emoji datasets are drawn from this npm package, which is not installed. Run: npx foldtorch setup --art (installs the pinned artwork packages into ${artCacheDir()}; in the repository: npm install --include=dev)`,
  );
}

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

interface DatasourceEmoji {
  unified: string;
  name: string;
  short_names: string[];
  category: string;
  subcategory: string;
  sort_order: number;
}

/** emoji-datasource's entries that `keep` accepts, in Unicode order, named as OpenMoji annotates them. */
function catalogue(keep: (e: DatasourceEmoji) => boolean, labelOf: (e: DatasourceEmoji) => number): EmojiInfo[] {
  const all = readJson<DatasourceEmoji[]>(join(packageDir('emoji-datasource'), 'emoji.json'));
  const annotations = new Map(
    readJson<Array<{ hexcode: string; annotation: string }>>(join(packageDir('openmoji'), 'data', 'openmoji.json')).map((o) => [
      normaliseHexcode(o.hexcode),
      o.annotation,
    ]),
  );
  return all
    .filter(keep)
    .sort((a, b) => a.sort_order - b.sort_order)
    .map((e) => {
      const hexcode = normaliseHexcode(e.unified);
      const name = annotations.get(hexcode) ?? e.name.toLowerCase();
      return { hexcode, name, subgroup: e.subcategory, label: labelOf(e), names: [name, e.name, ...e.short_names] };
    });
}

/** The 124 Food & Drink emoji (20 drink, 104 food) in Unicode order. */
export function foodAndDrinkEmoji(): EmojiInfo[] {
  return catalogue(
    (e) => e.category === 'Food & Drink' && e.subcategory in kSubgroupLabels,
    (e) => kSubgroupLabels[e.subcategory],
  );
}

/**
 * Categories the pretraining corpus leaves out: all of Food & Drink (the task itself, dishware included), flags
 * (260 near-identical rectangles) and skin-tone/hair components.
 */
export const kPretrainingExcludedCategories: readonly string[] = ['Food & Drink', 'Flags', 'Component'];

/** Every emoji outside Food & Drink, flags and components, labelled with its subgroup's index in Unicode order. */
export function pretrainingEmoji(): EmojiInfo[] {
  const emoji = catalogue(
    (e) => !kPretrainingExcludedCategories.includes(e.category),
    () => 0,
  );
  const index = new Map([...new Set(emoji.map((e) => e.subgroup))].map((subgroup, i) => [subgroup, i]));
  return emoji.map((e) => ({ ...e, label: index.get(e.subgroup)! }));
}

/** Unicode subgroups of the pretraining corpus, in Unicode order: the class index of each. */
export function pretrainingSubgroups(): string[] {
  return [...new Set(pretrainingEmoji().map((e) => e.subgroup))];
}

interface IconifyIcon {
  body: string;
  width?: number;
  height?: number;
  left?: number;
  top?: number;
}

interface IconifySet {
  icons: Record<string, IconifyIcon>;
  aliases?: Record<string, { parent: string } & Record<string, unknown>>;
  width?: number;
  height?: number;
}

/** An Iconify icon as a standalone SVG: its body inside `<svg viewBox="left top width height">`. */
export function iconifySvg(set: IconifySet, icon: IconifyIcon): Buffer {
  const width = icon.width ?? set.width ?? 16;
  const height = icon.height ?? set.height ?? 16;
  const viewBox = `${icon.left ?? 0} ${icon.top ?? 0} ${width} ${height}`;
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="${width}" height="${height}" viewBox="${viewBox}">${icon.body}</svg>`,
  );
}

/** Follows aliases to an icon; an alias that flips, rotates or resizes would change the art, so it does not count. */
function resolveIcon(set: IconifySet, name: string): string | null {
  for (let hops = 0; hops < 8; hops++) {
    if (set.icons[name] !== undefined) return name;
    const alias = set.aliases?.[name];
    if (alias === undefined || Object.keys(alias).some((key) => key !== 'parent')) return null;
    name = alias.parent;
  }
  return null;
}

function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

/**
 * Icon-name candidates for sets without a code-point map, best first: each of the emoji's names slugified,
 * the same without hyphens (fxemoji's style), and the first numbered variant (`-1`, streamline's style).
 */
export function nameCandidates(emoji: EmojiInfo): string[] {
  const out: string[] = [];
  for (const name of emoji.names) {
    const s = slug(name);
    out.push(s, s.replace(/-/g, ''), `${s}-1`);
  }
  return [...new Set(out)];
}

function iconifyEntries(info: StyleInfo, emoji: readonly EmojiInfo[]): EmojiEntry[] {
  const source = info.source as { kind: string; set: string };
  const dir = packageDir(info.packageName);
  const set = readJson<IconifySet>(join(dir, 'icons.json'));
  const chars = source.kind === 'iconify-chars' ? readJson<Record<string, string>>(join(dir, 'chars.json')) : null;
  const entries: EmojiEntry[] = [];
  for (const e of emoji) {
    const candidates = chars !== null ? [chars[e.hexcode]].filter((n) => n !== undefined) : nameCandidates(e);
    const icon = candidates.map((name) => resolveIcon(set, name)).find((name) => name !== null);
    if (icon)
      entries.push({
        ...e,
        style: info.style,
        family: info.family,
        svg: iconifySvg(set, set.icons[icon]),
        source: `${source.set}:${icon}`,
      });
  }
  return entries;
}

function fileEntries(info: StyleInfo, emoji: readonly EmojiInfo[]): EmojiEntry[] {
  const dir = packageDir(info.packageName);
  const openmojiFiles =
    info.source.kind === 'openmoji'
      ? new Map(
          readJson<Array<{ hexcode: string }>>(join(dir, 'data', 'openmoji.json')).map((o) => [normaliseHexcode(o.hexcode), o.hexcode]),
        )
      : null;
  const entries: EmojiEntry[] = [];
  for (const e of emoji) {
    const file =
      openmojiFiles === null
        ? join(dir, 'dist', 'svg', `${e.hexcode}.svg`)
        : join(dir, 'color', 'svg', `${openmojiFiles.get(e.hexcode) ?? '-'}.svg`);
    if (existsSync(file)) entries.push({ ...e, style: info.style, family: info.family, svg: readFileSync(file), source: file });
  }
  return entries;
}

/** Every (style, emoji) image the dataset is made of, style by style in table order, emoji in Unicode order. */
export function emojiEntries(
  styles: readonly EmojiStyle[] = kEmojiStyles,
  emoji: readonly EmojiInfo[] = foodAndDrinkEmoji(),
): EmojiEntry[] {
  return styles.flatMap((style) => {
    const info = kStyleInfo[style];
    return info.source.kind === 'twemoji' || info.source.kind === 'openmoji' ? fileEntries(info, emoji) : iconifyEntries(info, emoji);
  });
}

/** Installed versions of the source packages of `styles`, for a manifest and README. */
export function emojiPackageVersions(styles: readonly EmojiStyle[] = kEmojiStyles): Record<string, string> {
  const names = ['emoji-datasource', ...styles.map((s) => kStyleInfo[s].packageName)];
  return Object.fromEntries(
    [...new Set(names)].map((name) => [name, readJson<{ version: string }>(join(packageDir(name), 'package.json')).version]),
  );
}
