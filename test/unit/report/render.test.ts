import { renderSvgs } from '../../../src/report/render';
import { rocSpec } from '../../../src/report/plots';

const texts = (svg: string) => [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);

test('several charts come back in order, rendered in a worker thread', async () => {
  const specs = ['first', 'second'].map((name) => rocSpec([{ name, fpr: [0, 0.5, 1], tpr: [0, 1, 1] }]));
  const svgs = await renderSvgs(specs);
  expect(svgs.map((svg) => texts(svg).filter((t) => t === 'first' || t === 'second'))).toEqual([['first'], ['second']]);
});

test('no charts, no worker', async () => {
  expect(await renderSvgs([])).toEqual([]);
});

test('a chart that fails to render is named', async () => {
  await expect(renderSvgs([rocSpec([]), { mark: 'nonsense', data: { values: [] } } as never])).rejects.toThrow(
    /^report: chart 2 of 2 failed to render \(/,
  );
});
