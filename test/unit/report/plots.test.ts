import sharp from 'sharp';
import { confusionSpec, learningRateSpec, renderSvg, rocSpec, scopeSvgIds, svgToPng, thinIndices } from '../../../src/report/plots';
import { escapeHtml } from '../../../src/report/html';

const valuesOf = (spec: object) => (spec as { data: { values: Record<string, unknown>[] } }).data.values;

describe('chart specs', () => {
  test('thinIndices keeps first and last, at most the limit', () => {
    expect(thinIndices(5, 10)).toEqual([0, 1, 2, 3, 4]);
    expect(thinIndices(10, 4)).toEqual([0, 3, 6, 9]);
    expect(thinIndices(11, 4)).toEqual([0, 4, 8, 10]);
    expect(thinIndices(6540).length).toBeLessThanOrEqual(1500);
  });

  test('one learning-rate line when every fold ran the same schedule', () => {
    const same = learningRateSpec([0, 1].flatMap((fold) => [1, 2].map((step) => ({ fold, step, value: step * 1e-5 }))));
    expect(valuesOf(same)).toEqual([
      { fold: 'all folds', step: 1, value: 1e-5 },
      { fold: 'all folds', step: 2, value: 2e-5 },
    ]);
    const different = learningRateSpec([
      { fold: 0, step: 1, value: 1 },
      { fold: 1, step: 1, value: 2 },
    ]);
    expect(valuesOf(different).map((v) => v.fold)).toEqual(['fold 0', 'fold 1']);
  });

  test('confusion cells carry counts and the share of the actual class', () => {
    const spec = confusionSpec(
      [
        {
          name: 'oof',
          classes: ['drink', 'food'],
          matrix: [
            [3, 1],
            [0, 0],
          ],
        },
      ],
      0.5,
    );
    expect(valuesOf(spec)).toEqual([
      { set: 'oof', actual: 'drink', predicted: 'drink', count: 3, share: 0.75 },
      { set: 'oof', actual: 'drink', predicted: 'food', count: 1, share: 0.25 },
      { set: 'oof', actual: 'food', predicted: 'drink', count: 0, share: 0 },
      { set: 'oof', actual: 'food', predicted: 'food', count: 0, share: 0 },
    ]);
  });
});

describe('rendering', () => {
  test('SVG then PNG at twice the size', async () => {
    const svg = await renderSvg(rocSpec([{ name: 'a', fpr: [0, 0, 1], tpr: [0, 1, 1] }]));
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('d="M0,360L0,0L360,0"'); // the perfect curve: up the left edge, along the top
    const [, w, h] = /width="(\d+)" height="(\d+)"/.exec(svg)!.map(Number);
    const meta = await sharp(await svgToPng(svg)).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 2 * w, 2 * h]);
  });

  test('scopeSvgIds prefixes ids and their references only', () => {
    const svg =
      '<svg><clipPath id="clip1"><rect/></clipPath><g clip-path="url(#clip1)"><use href="#clip1"/>' + '<text>id="clip1"</text></g></svg>';
    expect(scopeSvgIds(svg, 'roc')).toBe(
      '<svg><clipPath id="roc-clip1"><rect/></clipPath><g clip-path="url(#roc-clip1)">' +
        '<use href="#roc-clip1"/><text>id="clip1"</text></g></svg>',
    );
  });

  test('escapeHtml', () => {
    expect(escapeHtml('<a href="x">Tom & Jerry\'s</a>')).toBe('&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;');
  });
});
