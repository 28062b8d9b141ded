/** Locates the shared golden fixtures for the metrics/predict/report tests (FOLDTORCH_GOLDEN overrides). */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const goldenDir = process.env.FOLDTORCH_GOLDEN ?? resolve(__dirname, '../../../../shared/golden');

/** The path of one fixture file; fails loudly (never skips) when the fixtures are missing. */
export function goldenFile(name: string): string {
  const path = join(goldenDir, name);
  if (!existsSync(path)) throw new Error(`golden fixture missing: ${path} (set FOLDTORCH_GOLDEN to the fixture folder)`);
  return path;
}
