// The public types compile against the README's usage (test/types/api.ts), so docs and runtime cannot drift.
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

test('test/types/api.ts type-checks against src/index.ts', () => {
  const root = path.resolve(__dirname, '..', '..');
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  expect(() =>
    execFileSync('node', [tsc, '-p', path.join(root, 'test', 'types', 'tsconfig.json')], { encoding: 'utf8', stdio: 'pipe' }),
  ).not.toThrow();
});
