/**
 * Loads the native addon: FOLDTORCH_ADDON (an explicit path) → the local cmake-js build → the prebuilt binary;
 * when none loads, a numbered list of the likely causes and the command that fixes each.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Worker } from 'worker_threads';
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
let preloading: Promise<void> | undefined;

// libgomp reads this when libtorch loads. Spinning OpenMP workers collapse throughput (30x measured here) as
// soon as another process shares the cores; passive waiting costs little when they don't. Set on the main
// thread, which writes the process' real environment (a worker's process.env is its own copy).
function setOpenMpWaitPolicy(): void {
  process.env.OMP_WAIT_POLICY ??= 'PASSIVE';
}

/**
 * Maps the addon and libtorch (dlopen, relocations, static initialisers: ~0.2 s) on a worker thread, so that the
 * main thread's later loadAddon() finds them loaded and returns in milliseconds instead of blocking the event
 * loop. Resolves when done, also when loading fails there (loadAddon() then reports why).
 */
export function preloadAddon(root = packageRoot): Promise<void> {
  if (loaded) return Promise.resolve();
  preloading ??= new Promise<void>((resolve) => {
    const candidate = addonCandidates(root).find((c) => fs.existsSync(c.path));
    if (!candidate) return resolve();
    setOpenMpWaitPolicy();
    const script = `require(${JSON.stringify(candidate.path)}); require('worker_threads').parentPort.postMessage('loaded');`;
    const worker = new Worker(script, { eval: true, stdout: true, stderr: true });
    worker.unref();
    for (const event of ['message', 'error', 'exit']) worker.once(event, () => resolve());
  });
  return preloading;
}

/** loadAddon() after preloadAddon(): for the async API paths, whose first call would otherwise block. */
export async function loadAddonAsync(root = packageRoot): Promise<NativeAddon> {
  await preloadAddon(root);
  return loadAddon(root);
}

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
      setOpenMpWaitPolicy();
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
