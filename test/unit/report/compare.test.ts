import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeReport } from '../../../src/report/report';
import { compareReports, runLabels } from '../../../src/report/compare';

let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'compare-'));
  const images = { ids: ['a', 'b', 'c', 'd'], groups: ['noto', 'noto', 'twemoji', 'twemoji'] };
  await writeReport(join(dir, 'runA'), {
    title: 'run A',
    folds: [],
    gallery: false,
    groupColumn: 'style',
    oof: { labels: [0, 1, 1, 0], probabilities: [0.65, 0.9, 0.3, 0.1], images },
  });
  await writeReport(join(dir, 'runB'), {
    title: 'run B',
    folds: [],
    gallery: false,
    groupColumn: 'style',
    oof: { labels: [0, 1, 1, 0], probabilities: [0.1, 0.9, 0.7, 0.2], images },
  });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const texts = (svg: string) => [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);

test('metrics per run, ROC curves overlaid, per-group scores of both runs', async () => {
  const out = join(dir, 'out', 'compare.html');
  const result = await compareReports([join(dir, 'runA'), join(dir, 'runB')], out);
  expect(result.html).toBe(out);
  const html = readFileSync(out, 'utf8');
  expect(html).toContain('<h1>runA vs runB</h1>');
  expect(html).toContain('<tr><td>runA</td><td>out-of-fold</td><td>4</td><td>0.7500</td><td>0.5000</td>');
  expect(html).toContain('<tr><td>runB</td><td>out-of-fold</td><td>4</td><td>1.0000</td><td>1.0000</td>');
  expect(html).toContain('<tr><td>runB</td><td>out-of-fold</td><td>twemoji</td><td>2</td><td>1.0000</td><td>1.0000</td></tr>');
  const svgs = html.match(/<svg[\s\S]*?<\/svg>/g) ?? [];
  expect(svgs).toHaveLength(2);
  expect(texts(svgs[0])).toEqual(expect.arrayContaining(['runA: out-of-fold (AUC 0.7500)', 'runB: out-of-fold (AUC 1.0000)']));
  expect(texts(svgs[1])).toEqual(expect.arrayContaining(['ROC AUC per style', 'noto', 'twemoji', 'runA', 'runB']));
  const ids = [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
  expect(new Set(ids).size).toBe(ids.length);
});

test('runs with the same folder name are told apart by their parent', () => {
  expect(runLabels(['x/seed', 'y/seed', 'z/other'])).toEqual(['x/seed', 'y/seed', 'other']);
});

test('one run is not a comparison', async () => {
  await expect(compareReports([join(dir, 'runA')], join(dir, 'x.html'))).rejects.toThrow(
    `Expected two or more run folders for --compare but received "${join(dir, 'runA')}"`,
  );
});

test('a run without a report names the missing file', async () => {
  mkdirSync(join(dir, 'empty'));
  await expect(compareReports([join(dir, 'runA'), join(dir, 'empty')], join(dir, 'x.html'))).rejects.toThrow(
    `${join(dir, 'empty', 'report', 'summary.json')}: is missing: ${join(dir, 'empty')} has no report yet`,
  );
});

test('a summary that is not JSON, or of another shape, is named', async () => {
  mkdirSync(join(dir, 'broken', 'report'), { recursive: true });
  writeFileSync(join(dir, 'broken', 'report', 'summary.json'), '{');
  await expect(compareReports([join(dir, 'runA'), join(dir, 'broken')], join(dir, 'x.html'))).rejects.toThrow(/summary\.json: is not JSON/);
  writeFileSync(join(dir, 'broken', 'report', 'summary.json'), '{"sets": []}');
  await expect(compareReports([join(dir, 'runA'), join(dir, 'broken')], join(dir, 'x.html'))).rejects.toThrow(
    'summary.json: has no sets, curves and groups',
  );
});

test('an empty out path is refused', async () => {
  await expect(compareReports([join(dir, 'runA'), join(dir, 'runB')], '')).rejects.toThrow('Expected a file path for out but received ""');
});
