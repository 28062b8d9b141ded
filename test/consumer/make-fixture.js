#!/usr/bin/env node
/**
 * Makes test/consumer/fixture (committed): a two-fold run of a one-block EVA-02 at 32 px trained for one epoch on
 * drawn shapes, four test images, and the submission this build predicts for them (expected.csv), which the
 * installed package must reproduce (test/consumer/run.sh). Rerun only when predictions are meant to change:
 *   npx tsc -p tsconfig.json && node test/consumer/make-fixture.js
 */

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const sharp = require('sharp');

const repo = path.resolve(__dirname, '..', '..');
const cli = path.join(repo, 'dist', 'src', 'cli', 'cli.js');
const fixture = path.join(__dirname, 'fixture');
const kSets = [
  'name=consumer',
  'folds=2',
  'epochs=1',
  'foldGroups=none',
  // The end-to-end tests' tiny model (test/e2e/fixtures.ts, compiled by tsc).
  ...require(path.join(repo, 'dist', 'test', 'e2e', 'fixtures.js')).kTinyModelOverrides,
  'tta=hflip',
];

/** Food (label 1) is a red disc, drink (label 0) a blue bar, jittered by k. */
function shape(label, k) {
  const x = 6 + (k % 5) * 3;
  const body =
    label === 1
      ? `<circle cx="${20 + x}" cy="${22 + (k % 3) * 4}" r="${10 + (k % 4)}" fill="rgb(${200 + (k % 50)},40,30)"/>`
      : `<rect x="${x}" y="${8 + (k % 4) * 2}" width="${12 + (k % 3)}" height="30" fill="rgb(30,60,${190 + (k % 60)})"/>`;
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="48" height="48"><rect width="48" height="48" fill="white"/>${body}</svg>`,
  );
}

async function main() {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'foldtorch-consumer-fixture-'));
  const train = path.join(work, 'train');
  fs.mkdirSync(path.join(train, 'train'), { recursive: true });
  const rows = ['image_name,label'];
  for (let i = 0; i < 24; i++) {
    const name = `img_${String(i).padStart(3, '0')}.png`;
    await sharp(shape(i % 2, i))
      .png()
      .toFile(path.join(train, 'train', name));
    rows.push(`${name},${i % 2}`);
  }
  fs.writeFileSync(path.join(train, 'train.csv'), `${rows.join('\n')}\n`);

  fs.rmSync(fixture, { recursive: true, force: true });
  const data = path.join(fixture, 'data');
  fs.mkdirSync(path.join(data, 'test'), { recursive: true });
  const submit = [];
  for (let i = 0; i < 4; i++) {
    const name = `t_${i}.png`;
    await sharp(shape(i % 2, i + 100))
      .png()
      .toFile(path.join(data, 'test', name));
    submit.push(`${name},0.5`);
  }
  fs.writeFileSync(path.join(data, 'sample_submit.csv'), `${submit.join('\n')}\n`);

  const run = path.join(work, 'run');
  const sets = kSets.flatMap((s) => ['--set', s]);
  execFileSync('node', [cli, 'train', '--recipe', 'demo-cpu-scratch', '--data', train, '--run', run, '--progress', 'silent', ...sets], {
    stdio: 'inherit',
  });
  const kept = path.join(fixture, 'run');
  fs.mkdirSync(kept, { recursive: true });
  fs.copyFileSync(path.join(run, 'recipe.json'), path.join(kept, 'recipe.json'));
  for (const fold of [0, 1]) {
    fs.mkdirSync(path.join(kept, `fold-${fold}`));
    fs.copyFileSync(path.join(run, `fold-${fold}`, 'best.safetensors'), path.join(kept, `fold-${fold}`, 'best.safetensors'));
  }
  execFileSync('node', [cli, 'predict', '--run', kept, '--data', data, '--out', path.join(fixture, 'expected.csv')], { stdio: 'inherit' });
  fs.rmSync(work, { recursive: true, force: true });
  console.log(`fixture: ${path.relative(repo, fixture)}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
