/**
 * Loads the native addon: FOLDTORCH_ADDON (an explicit path) → the local cmake-js build → the prebuilt binary;
 * when none loads, a numbered list of the likely causes and the command that fixes each.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { NativeAddon } from './types';

const packageRoot = path.resolve(__dirname, '..', '..', fs.existsSync(path.resolve(__dirname, '..', '..', 'package.json')) ? '' : '..');

export interface AddonCandidate {
  path: string;
  kind: 'env' | 'local build' | 'prebuilt';
}

export function addonCandidates(root = packageRoot): AddonCandidate[] {
  const candidates: AddonCandidate[] = [];
  if (process.env.FOLDTORCH_ADDON) candidates.push({ path: path.resolve(process.env.FOLDTORCH_ADDON), kind: 'env' });
  candidates.push({ path: path.join(root, 'build', 'Release', 'foldtorch.node'), kind: 'local build' });
  candidates.push({ path: path.join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'foldtorch.node'), kind: 'prebuilt' });
  return candidates;
}

let loaded: { addon: NativeAddon; from: AddonCandidate } | undefined;

/** The addon, loaded once; throws an Error (code ERR_ADDON_LOAD) that says what is missing and how to fix it. */
export function loadAddon(root = packageRoot): NativeAddon {
  if (loaded) return loaded.addon;
  const failures: string[] = [];
  for (const candidate of addonCandidates(root)) {
    if (!fs.existsSync(candidate.path)) {
      failures.push(`${candidate.kind}: ${candidate.path} does not exist`);
      continue;
    }
    try {
      // libgomp reads this when libtorch loads. Spinning OpenMP workers collapse throughput (30x measured
      // here) as soon as another process shares the cores; passive waiting costs little when they don't.
      process.env.OMP_WAIT_POLICY ??= 'PASSIVE';
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      const addon = require(candidate.path) as NativeAddon;
      loaded = { addon, from: candidate };
      return addon;
    } catch (error) {
      failures.push(`${candidate.kind}: ${candidate.path} failed to load: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  const message = [
    'foldtorch: the native addon could not be loaded.',
    ...failures.map((f) => `  - ${f}`),
    'Likely causes, and the command that fixes each:',
    '  1. The addon was never built on this machine: run `npm run setup` (installs libtorch if needed and builds).',
    '  2. libtorch moved or was removed since the build (a "cannot open shared object file: libtorch_cpu.so" above):',
    '     run `npm run build:native` to rebuild against the libtorch that `node scripts/libtorch.js` finds.',
    '  3. A build for another Node.js ABI or platform: delete build/ and run `npm run build:native`.',
    '  4. FOLDTORCH_ADDON points at a missing file: unset it.',
  ].join('\n');
  throw Object.assign(new Error(message), { code: 'ERR_ADDON_LOAD' });
}

/** Where the loaded addon came from (for `foldtorch doctor`). */
export function addonLocation(): AddonCandidate | undefined {
  return loaded?.from;
}
