// report.html of a real (tiny) cross-validation, looked at in headless Chromium: no console errors, every image and
// chart loaded, the galleries hold the expected images, and a screenshot for review (build/report-screenshot.png).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { crossValidate } from '../../src/train/crossValidate';
import { makeTinyDataset, repoRoot, tinyRecipe } from './fixtures';

/** Debian's chromium (scripts/setup.sh installs it as root), or null with the reason the test skips. */
function findChromium(): { path: string | null; why: string } {
  for (const candidate of [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(Boolean) as string[]) {
    if (fs.existsSync(candidate)) return { path: candidate, why: '' };
  }
  try {
    return { path: execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim() || null, why: '' };
  } catch {
    return { path: null, why: "no chromium on this machine (as root, scripts/setup.sh installs Debian's chromium)" };
  }
}

const chromium = findChromium();
const describeBrowser = chromium.path ? describe : describe.skip;
if (!chromium.path) process.stdout.write(`reportBrowser: skipped: ${chromium.why}\n`);

describeBrowser('report.html in headless Chromium', () => {
  let work: string;
  let run: string;
  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'report-browser-'));
    const data = await makeTinyDataset(24, 8);
    // An art-style column, as the emoji dataset's meta.csv has: the report scores each style.
    const names = [...fs.readdirSync(path.join(data, 'train')), ...fs.readdirSync(path.join(data, 'test'))].sort();
    fs.writeFileSync(
      path.join(data, 'answer', 'meta.csv'),
      `${['image_name,style', ...names.map((n, i) => `${n},${['flat', 'outline', 'glossy'][i % 3]}`)].join('\n')}\n`,
    );
    run = path.join(work, 'run');
    await crossValidate(tinyRecipe(1), { data, run });
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  test('loads cleanly with every picture, the galleries and the per-style table', async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const puppeteer = require('puppeteer-core') as typeof import('puppeteer-core');
    const browser = await puppeteer.launch({
      executablePath: chromium.path as string,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--allow-file-access-from-files'],
    });
    try {
      const page = await browser.newPage();
      await page.setViewport({ width: 1200, height: 900 });
      const problems: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(`console: ${message.text()}`);
      });
      page.on('pageerror', (error) => problems.push(`page: ${String(error)}`));
      page.on('requestfailed', (request) => problems.push(`request: ${request.url()}`));
      await page.goto(`file://${path.join(run, 'report.html')}`, { waitUntil: 'load' });
      const seen = await page.evaluate(() => ({
        images: [...document.images].map((img) => ({ src: img.getAttribute('src'), width: img.naturalWidth, complete: img.complete })),
        charts: [...document.querySelectorAll('figure > svg')].map((svg) => svg.getBoundingClientRect().width),
        galleries: [...document.querySelectorAll('div.gallery')].map((g) => ({
          set: g.getAttribute('data-set'),
          kind: g.getAttribute('data-kind'),
          cards: g.querySelectorAll('figure.card').length,
          overlays: [...g.querySelectorAll('img')].filter((img) => img.getAttribute('src')?.endsWith('-cam.png')).length,
        })),
        styles: [...document.querySelectorAll('table.groups tr td:nth-child(2)')].map((td) => td.textContent),
      }));
      expect(problems).toEqual([]);
      expect(seen.images.length).toBeGreaterThan(0);
      expect(seen.images.filter((i) => !i.complete || i.width === 0)).toEqual([]);
      expect(seen.images.every((i) => i.width === 112)).toBe(true);
      // roc, confusion, per-style bars, loss, auc, lr.
      expect(seen.charts).toHaveLength(6);
      expect(seen.charts.every((w) => w > 100)).toBe(true);
      // 24 out-of-fold and 8 test images: 12 and 8 highest-loss cards, each with its Grad-CAM overlay.
      const mistakes = seen.galleries.filter((g) => g.kind === 'mistakes');
      expect(mistakes.map((g) => [g.set, g.cards, g.overlays])).toEqual([
        ['out-of-fold', 12, 12],
        ['test (fold ensemble)', 8, 8],
      ]);
      expect(seen.galleries.filter((g) => g.kind === 'confident').every((g) => g.cards === g.overlays && g.cards <= 8)).toBe(true);
      expect(seen.styles).toEqual(['flat', 'glossy', 'outline', 'flat', 'glossy', 'outline']);
      const shot = path.join(repoRoot, 'build', 'report-screenshot.png');
      fs.mkdirSync(path.dirname(shot), { recursive: true });
      await page.screenshot({ path: shot as `${string}.png`, fullPage: true });
      expect(fs.statSync(shot).size).toBeGreaterThan(10_000);
    } finally {
      await browser.close();
    }
  });
});
