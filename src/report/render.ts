/** Renders vega-lite specs to SVG (vega's headless renderer) and SVG to PNG (sharp), with no browser or network. */
import sharp from 'sharp';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** Pixels per SVG unit in the PNGs: 2 keeps text sharp on high-density screens. */
export const kPngScale = 2;

/** vega-lite → vega → SVG text. Data must be inline (`values`): the loader is never asked for a URL. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Rasterises SVG text with sharp (librsvg) at `scale` × its own size, white background kept. */
export async function svgToPng(svg: string, scale = kPngScale): Promise<Buffer> {
  return sharp(Buffer.from(svg, 'utf8'), { density: 72 * scale }).png({ compressionLevel: 9 }).toBuffer();
}

/**
 * Renames every `id` of an SVG (vega names its clip paths clip1, clip2 … in every chart) with a prefix, so several
 * charts inlined in one HTML page do not clip each other's marks.
 */
export function scopeSvgIds(svg: string, prefix: string): string {
  const ids = new Set<string>();
  for (const match of svg.matchAll(/\sid="([^"]+)"/g)) ids.add(match[1]);
  let out = svg;
  for (const id of ids) {
    const escaped = id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    out = out
      .replace(new RegExp(`(\\sid=")${escaped}"`, 'g'), `$1${prefix}-${id}"`)
      .replace(new RegExp(`url\\(#${escaped}\\)`, 'g'), `url(#${prefix}-${id})`)
      .replace(new RegExp(`(href=")#${escaped}"`, 'g'), `$1#${prefix}-${id}"`);
  }
  return out;
}
