import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { writeReport, type ReportData } from '../../../src/report/report';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'report-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const texts = (svg: string) => [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
const svgsOf = (html: string): string[] => html.match(/<svg[\s\S]*?<\/svg>/g) ?? [];

const data: ReportData = {
  title: 'run <demo> & co',
  folds: [0, 1].map((fold) => ({
    fold,
    epochs: [
      { epoch: 1, trainLoss: 0.7, validLoss: 0.68, trainAuc: 0.6, validAuc: 0.62 + fold / 100 },
      { epoch: 2, trainLoss: 0.5, validLoss: 0.6, trainAuc: 0.8, validAuc: 0.7 },
    ],
    lr: [1e-5, 2e-5, 3e-5, 3e-5 - fold * 1e-6],
  })),
  // sklearn_metrics.json "simple": AUC 0.75; at 0.5: one true positive, no false positive.
  oof: { labels: [0, 0, 1, 1], probabilities: [0.1, 0.4, 0.35, 0.8] },
  test: { labels: [1, 0, 1, 1, 0, 1], probabilities: [0.9, 0.2, 0.6, 0.4, 0.1, 0.8], name: 'test (openmoji)' },
  classNames: ['drink', 'food'],
  notes: ['TTA: 8 distinct views <x2>'],
  recipe: { name: 'demo-cpu', batch: 17 },
};

describe('writeReport', () => {
  let files: Awaited<ReturnType<typeof writeReport>>;
  let html: string;
  let page: string; // without the SVG markup, so that failures print readable text
  beforeAll(async () => {
    files = await writeReport(join(dir, 'full'), data);
    html = readFileSync(files.html, 'utf8');
    page = html.replace(/<svg[\s\S]*?<\/svg>/g, '<svg/>');
  });

  test('writes report.html and one PNG per chart, nothing else', () => {
    expect(files.html).toBe(join(dir, 'full', 'report.html'));
    expect(files.images).toEqual(['roc', 'confusion', 'loss', 'auc', 'lr'].map((n) => join(dir, 'full', 'report', `${n}.png`)));
    expect(readdirSync(join(dir, 'full')).sort()).toEqual(['report', 'report.html']);
    expect(readdirSync(join(dir, 'full', 'report')).sort()).toEqual([
      'auc.png',
      'confusion.png',
      'loss.png',
      'lr.png',
      'roc.png',
      'summary.json',
    ]);
  });

  test('the page is self-contained: inline SVG, no script, no external resource, ids unique', () => {
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).not.toMatch(/<script|<link|src="http|@import/);
    expect(svgsOf(html)).toHaveLength(5);
    const ids = [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(ids.length);
    for (const n of ['roc', 'confusion', 'loss', 'auc', 'lr']) expect(html).toContain(`<a href="report/${n}.png">PNG</a>`);
  });

  test('summary, notes, fold table and recipe, escaped', () => {
    expect(page).toContain('<h1>run &lt;demo&gt; &amp; co</h1>');
    expect(page).toContain(
      '<tr><td>out-of-fold</td><td>4</td><td>0.7500</td><td>0.7500</td><td>1.0000</td><td>0.5000</td><td>0.6667</td></tr>',
    );
    expect(page).toContain(
      '<tr><td>test (openmoji)</td><td>6</td><td>1.0000</td><td>0.8333</td><td>1.0000</td><td>0.7500</td><td>0.8571</td></tr>',
    );
    expect(page).toContain('<li>TTA: 8 distinct views &lt;x2&gt;</li>');
    expect(page).toContain('<tr class="best"><td>0</td><td>2</td><td>0.5000</td><td>0.8000</td><td>0.6000</td><td>0.7000</td></tr>');
    expect(page).toContain('Best valid AUC per fold (bold): mean 0.7000 ± 0.0000 over 2 folds.');
    expect(page).toContain('&quot;batch&quot;: 17');
    expect(files.sets.map((s) => s.auc)).toEqual([0.75, 1]);
    expect(files.table.best).toEqual([
      { fold: 0, epoch: 2, validAuc: 0.7 },
      { fold: 1, epoch: 2, validAuc: 0.7 },
    ]);
  });

  test('charts carry the numbers: legend AUCs, confusion counts, class names', () => {
    const [roc, confusion, loss, , lr] = svgsOf(html);
    expect(texts(roc)).toEqual(expect.arrayContaining(['out-of-fold (AUC 0.7500)', 'test (openmoji) (AUC 1.0000)']));
    // oof [[2, 0], [1, 1]], test [[2, 0], [1, 3]] at threshold 0.5.
    const t = texts(confusion);
    expect(t.filter((s) => /^\d+$/.test(s))).toEqual(['2', '0', '1', '1', '2', '0', '1', '3']);
    expect(t).toEqual(expect.arrayContaining(['drink', 'food', 'Confusion matrix at threshold 0.5']));
    expect(texts(loss)).toEqual(expect.arrayContaining(['fold 0', 'fold 1', 'solid: train · dashed: valid']));
    expect(texts(lr)).toEqual(expect.arrayContaining(['fold 0', 'fold 1'])); // schedules differ, so one line each
  });

  test("PNGs are the charts at 2× their SVG size, on white, with the first series in vega's blue", async () => {
    const svg = svgsOf(html)[0];
    const [, width, height] = /width="(\d+)" height="(\d+)"/.exec(svg)!.map(Number);
    const { data: pixels, info } = await sharp(files.images[0]).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([2 * width, 2 * height]);
    expect([...pixels.subarray(0, 3)]).toEqual([255, 255, 255]);
    let blue = 0;
    for (let i = 0; i < pixels.length; i += 3) if (pixels[i] === 0x4c && pixels[i + 1] === 0x78 && pixels[i + 2] === 0xa8) blue++;
    expect(blue).toBeGreaterThan(200);
  });
});

describe('writeReport with partial data', () => {
  test('test set without labels, one-class OOF, no folds: the charts that can be drawn, reasons for the rest', async () => {
    const run = join(dir, 'partial');
    const files = await writeReport(run, {
      folds: [],
      oof: { labels: [1, 1, 1], probabilities: [0.2, 0.6, 0.9] },
      test: { probabilities: [0.3, 0.7] },
    });
    const html = readFileSync(files.html, 'utf8').replace(/<svg[\s\S]*?<\/svg>/g, '<svg/>');
    expect(files.images).toEqual([join(run, 'report', 'confusion.png')]);
    expect(html).toContain('<tr><td>out-of-fold</td><td>3</td><td>one class only: ROC AUC is not defined</td><td>0.6667</td>');
    expect(html).toContain('<tr><td>test</td><td>2</td><td>no labels</td><td>–</td><td>–</td><td>–</td><td>–</td></tr>');
    expect(html).toContain('<p>No epoch metrics were recorded.</p>');
    expect(html).toContain('<title>foldtorch report</title>');
    expect(html).not.toContain('<h2>Recipe</h2>');
  });

  test('a second report replaces the first, leaving no temporary files', async () => {
    const run = join(dir, 'partial');
    await writeReport(run, { title: 'again', folds: [] });
    expect(readFileSync(join(run, 'report.html'), 'utf8')).toContain('<p>No predictions were given.</p>');
    expect(readdirSync(run).sort()).toEqual(['report', 'report.html']);
    expect(readdirSync(join(run, 'report')).sort()).toEqual(['confusion.png', 'summary.json']); // an old chart stays, as the old run's
  });
});

describe('validation', () => {
  const run = () => join(dir, 'invalid');
  test.each([
    ['runDir', () => writeReport('', { folds: [] }), 'Expected a folder path for runDir but received ""'],
    ['data', () => writeReport(run(), null as never), 'Expected a ReportData object for data but received null'],
    [
      'folds',
      () => writeReport(run(), { folds: {} as never }),
      'Expected an array of fold histories for data.folds but received an object (Object)',
    ],
    [
      'epochs',
      () => writeReport(run(), { folds: [{ fold: 0, epochs: 3 as never }] }),
      'Expected an array of epoch metrics for data.folds[0].epochs but received 3',
    ],
    [
      'epoch record',
      () => writeReport(run(), { folds: [{ fold: 0, epochs: [{ epoch: 0 }] }] }),
      'Expected an integer from 1 to 9007199254740991 for records[0].epoch but received 0',
    ],
    [
      'classNames',
      () => writeReport(run(), { folds: [], classNames: ['a'] as never }),
      'Expected two non-empty class names for classNames but received an array of length 1',
    ],
    ['threshold', () => writeReport(run(), { folds: [], threshold: 1.5 }), 'Expected a number from 0 to 1 for threshold but received 1.5'],
    [
      'notes',
      () => writeReport(run(), { folds: [], notes: [3] as never }),
      'Expected an array of strings for notes but received an array of length 1',
    ],
    [
      'oof',
      () => writeReport(run(), { folds: [], oof: 5 as never }),
      'Expected an object with probabilities (and labels) for oof but received 5',
    ],
    [
      'probabilities',
      () => writeReport(run(), { folds: [], test: { probabilities: [2] } }),
      'Expected a finite number from 0 to 1 for test.probabilities[0] but received 2',
    ],
    [
      'labels length',
      () => writeReport(run(), { folds: [], oof: { probabilities: [0.5], labels: [0, 1] } }),
      'Expected an array of length 1 (the length of oof.probabilities) for oof.labels but received an array of length 2',
    ],
    [
      'labels values',
      () => writeReport(run(), { folds: [], oof: { probabilities: [0.5], labels: [2] } }),
      'Expected an integer from 0 to 1 for oof.labels[0] but received 2',
    ],
    [
      'lr',
      () => writeReport(run(), { folds: [{ fold: 3, epochs: [], lr: [-1] }] }),
      'Expected a finite number >= 0 for fold 3 lr[0] but received -1',
    ],
  ])('%s', async (_name, call, message) => {
    await expect(call()).rejects.toThrow(message);
    expect(existsSync(join(run(), 'report.html'))).toBe(false);
  });
});
