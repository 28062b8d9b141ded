/** Runs every parity kind over a folder laid out like shared/golden and summarises pass/fail per fixture. */
import * as fs from 'node:fs';
import { closestNames, outOfRange } from '../errors';
import type { ParityOptions, ParityResult } from './kind';
import { parityKinds } from './kinds';

export interface ParityRunOptions extends Partial<ParityOptions> {
  only?: string[];
}

export interface ParitySummary {
  results: (ParityResult & { kind: string })[];
  passed: boolean;
}

export async function runParity(dir: string, options: ParityRunOptions = {}): Promise<ParitySummary> {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw outOfRange('DIR', 'a folder of parity fixtures', dir);
  const names = parityKinds.map((k) => k.name);
  for (const wanted of options.only ?? []) {
    if (!names.includes(wanted)) {
      throw outOfRange('--only', `one of ${names.join(', ')} (did you mean ${closestNames(wanted, names, 1)[0]}?)`, wanted);
    }
  }
  const files = fs.readdirSync(dir).sort();
  const results: ParitySummary['results'] = [];
  for (const kind of parityKinds) {
    if (options.only && options.only.length > 0 && !options.only.includes(kind.name)) continue;
    for (const fixture of kind.fixtures(files)) {
      try {
        const checks = await kind.run(dir, fixture, { device: options.device ?? 'cpu' });
        for (const check of checks) results.push({ ...check, kind: kind.name });
      } catch (error) {
        results.push({
          kind: kind.name,
          fixture,
          check: 'run',
          pass: false,
          maxError: Infinity,
          tolerance: 0,
          detail: (error as Error).message,
        });
      }
    }
  }
  return { results, passed: results.length > 0 && results.every((r) => r.pass) };
}

/** One line per check: PASS/FAIL, fixture, check, the largest error against its tolerance. */
export function formatParity(summary: ParitySummary): string {
  const lines = summary.results.map((r) => {
    const status = r.pass ? 'PASS' : 'FAIL';
    const error = Number.isFinite(r.maxError) ? r.maxError.toExponential(2) : String(r.maxError);
    return `${status}  ${r.kind.padEnd(16)} ${`${r.fixture} ${r.check}`.padEnd(64)} max err ${error} (tol ${r.tolerance.toExponential(1)})${r.detail ? `  ${r.detail}` : ''}`;
  });
  const failed = summary.results.filter((r) => !r.pass).length;
  lines.push(`${summary.results.length - failed} passed, ${failed} failed`);
  return lines.join('\n');
}
