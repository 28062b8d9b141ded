#!/usr/bin/env node
// The GPU subset (dist/test/gpu/*.gpu.js) under node:test, run by `npm test` after jest and by `npm run test:gpu`.
// TAP goes to dist/gpu-tests.tap (counted by .ci/run) and the spec report to dist/gpu-tests.txt. The spec report
// is printed when a test ran; without a CUDA device every test is skipped, and one line per distinct reason is
// printed instead, so that node's own closing lines ("pass 0") never read as a run that tested nothing.

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');
const tapPath = path.join(dist, 'gpu-tests.tap');
const specPath = path.join(dist, 'gpu-tests.txt');

const testDir = path.join(dist, 'test', 'gpu');
const files = fs.existsSync(testDir)
  ? fs
      .readdirSync(testDir)
      .filter((name) => name.endsWith('.gpu.js'))
      .sort()
  : [];
if (files.length === 0) {
  console.error(`gpu-tests: no compiled GPU tests in ${path.relative(root, testDir)}/ (run \`npx tsc -p tsconfig.json\` first)`);
  process.exit(1);
}

const result = spawnSync(
  process.execPath,
  [
    '--test',
    '--test-concurrency=1',
    '--test-reporter=spec',
    `--test-reporter-destination=${specPath}`,
    '--test-reporter=tap',
    `--test-reporter-destination=${tapPath}`,
    ...files.map((name) => path.join(testDir, name)),
  ],
  { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] },
);
if (result.error) {
  console.error(`gpu-tests: could not start node --test: ${result.error.message}`);
  process.exit(1);
}

const tap = fs.existsSync(tapPath) ? fs.readFileSync(tapPath, 'utf8') : '';
const count = (key) => Number((new RegExp(`^# ${key} (\\d+)`, 'm').exec(tap) ?? [0, 0])[1]);
const ran = count('pass') + count('fail');
if (ran > 0 || result.status !== 0) {
  process.stdout.write(fs.existsSync(specPath) ? fs.readFileSync(specPath, 'utf8') : '');
} else {
  const reasons = new Map();
  for (const match of tap.matchAll(/^ok \d+ - .*# SKIP ?(.*)$/gm)) {
    const reason = match[1] || 'no reason given';
    reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  }
  for (const [reason, n] of reasons) console.log(`GPU subset (test/gpu, node:test): ${n} of ${count('tests')} skipped: ${reason}`);
}
process.exit(result.status ?? 1);
