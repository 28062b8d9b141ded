// A short pass of npm run kill-resume: runs SIGKILLed at random points (some inside saves) and resumed end byte for
// byte where an uninterrupted run ends, timings aside. Runs the built script (dist/), as the CLI tests do.
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { repoRoot } from './fixtures';

test("three runs killed at random points resume to the uninterrupted run's files", () => {
  const script = path.join(repoRoot, 'dist', 'fuzz', 'killResume.js');
  const summary = JSON.parse(execFileSync('node', [script, '--kills', '3', '--seed', '1'], { encoding: 'utf8' }));
  expect(summary).toMatchObject({ kills: 3, differences: [] });
  expect(summary.resumes).toBeGreaterThanOrEqual(1);
  expect(summary.files).toBeGreaterThan(20);
});
