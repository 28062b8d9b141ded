/**
 * Loads the native addon: FOLDTORCH_ADDON (an explicit path) → the local cmake-js build → the prebuilt binary.
 * Before each, the libtorch that scripts/libtorch.js locates is preloaded (the build's RUNPATH names no torch) and
 * checked against the torch the build was made for; when none loads, a numbered list of causes and fixing commands.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { buildMismatch, readBuildInfo, torchLocator, type FoundTorch } from './buildInfo';
import type { NativeAddon } from './types';

const packageRoot = path.resolve(__dirname, '..', '..', fs.existsSync(path.resolve(__dirname, '..', '..', 'package.json')) ? '' : '..');

/** libtorch's libraries in dependency order; the CUDA ones only where present. */
const kTorchLibraries = ['libc10.so', 'libc10_cuda.so', 'libtorch_cpu.so', 'libtorch_cuda.so', 'libtorch.so'] as const;

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

export interface TorchLookup {
  found: FoundTorch | null;
  /** cpu, cu126, ...: what foldtorch.json records. */
  variant: string | null;
  /** Why the locator failed (a LIBTORCH or FOLDTORCH_PYTHON that does not work). */
  error?: string;
}

/** The torch the locator finds at run time, without importing it (for loading and for `foldtorch doctor`). */
export function locateTorch(root = packageRoot): TorchLookup {
  try {
    const locator = torchLocator(root);
    const found = locator.locate({ light: true });
    return { found, variant: found ? locator.variantOf(found) : null };
  } catch (error) {
    return { found: null, variant: null, error: (error as Error).message };
  }
}

let loaded: { addon: NativeAddon; from: AddonCandidate } | undefined;
let preloadedFrom: string | undefined;
let preloading: Promise<void> | undefined;
// The preload worker's locator answer: the main thread's loadAddon() then skips the locator (~30 ms of file reads).
let locatedByWorker: TorchLookup | undefined;

// libgomp reads this when libtorch loads. Spinning OpenMP workers collapse throughput (30x measured here) as
// soon as another process shares the cores; passive waiting costs little when they don't. Set on the main
// thread, which writes the process' real environment (a worker's process.env is its own copy).
function setOpenMpWaitPolicy(): void {
  process.env.OMP_WAIT_POLICY ??= 'PASSIVE';
}

/**
 * Maps the addon and libtorch (the locator, the preloader, dlopen, relocations, static initialisers: ~0.2 s) on a
 * worker thread that runs this module's own loadAddon(), so that the main thread's later loadAddon() finds them
 * loaded and returns in milliseconds instead of blocking the event loop. Resolves when done, also when loading
 * fails there (loadAddon() then reports why).
 */
export function preloadAddon(root = packageRoot): Promise<void> {
  if (loaded) return Promise.resolve();
  preloading ??= new Promise<void>((resolve) => {
    if (!addonCandidates(root).some((c) => fs.existsSync(c.path))) return resolve();
    setOpenMpWaitPolicy();
    const script = [
      `const { parentPort } = require('worker_threads');`,
      `const loader = require(${JSON.stringify(__filename)});`,
      `try { loader.loadAddon(${JSON.stringify(root)}); } catch {}`,
      `parentPort.postMessage(loader.locateTorch());`,
    ].join('\n');
    const worker = new Worker(script, { eval: true, stdout: true, stderr: true });
    worker.unref();
    worker.once('message', (lookup: TorchLookup) => {
      locatedByWorker = lookup;
      resolve();
    });
    for (const event of ['error', 'exit']) worker.once(event, () => resolve());
  });
  return preloading;
}

/** loadAddon() after preloadAddon(): for the async API paths, whose first call would otherwise block. */
export async function loadAddonAsync(root = packageRoot): Promise<NativeAddon> {
  await preloadAddon(root);
  return loadAddon(root);
}

function preloaderOf(candidate: AddonCandidate): string {
  return path.join(path.dirname(candidate.path), 'foldtorch_preload.node');
}

/** dlopens libtorch from the located folder with RTLD_GLOBAL through the preloader beside the addon, once. */
function preloadTorch(candidate: AddonCandidate, found: FoundTorch): void {
  const preloader = preloaderOf(candidate);
  // A build without the preloader (an older or hand-made one) finds libtorch through its own RUNPATH.
  if (preloadedFrom || !fs.existsSync(preloader)) return;
  const libDir = path.join(found.root, 'lib');
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { preload } = require(preloader) as { preload(file: string): void };
  for (const name of kTorchLibraries) {
    const file = path.join(libDir, name);
    if (fs.existsSync(file)) preload(file);
  }
  preloadedFrom = libDir;
}

function describeTorch(torch: TorchLookup): string {
  if (torch.found) return `libtorch: torch ${torch.found.version} (${torch.variant}) at ${torch.found.root} (${torch.found.why})`;
  return `libtorch: not found (${torch.error ?? 'no LIBTORCH, no FOLDTORCH_PYTHON, no project environment, no python3 with torch'})`;
}

/** The addon, loaded once; throws an Error (code ERR_ADDON_LOAD) that says what is missing and how to fix it. */
export function loadAddon(root = packageRoot): NativeAddon {
  if (loaded) return loaded.addon;
  // The locator ships with this package; `root` only says where the builds are.
  const torch = locatedByWorker ?? locateTorch();
  const failures: string[] = [];
  for (const candidate of addonCandidates(root)) {
    if (!fs.existsSync(candidate.path)) {
      failures.push(`${candidate.kind}: ${candidate.path} does not exist`);
      continue;
    }
    try {
      const info = readBuildInfo(candidate.path);
      const mismatch = info && torch.found ? buildMismatch(candidate.path, info, torch.found, torch.variant!) : null;
      if (mismatch) {
        failures.push(`${candidate.kind}: ${mismatch}`);
        continue;
      }
      // The prebuilt names no torch path (a local build's RUNPATH does): without the locator's answer it cannot load.
      if (!torch.found && candidate.kind === 'prebuilt') {
        failures.push(`${candidate.kind}: ${candidate.path} needs libtorch, and none was found (see above)`);
        continue;
      }
      setOpenMpWaitPolicy();
      if (torch.found) preloadTorch(candidate, torch.found);
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      const addon = require(candidate.path) as NativeAddon;
      loaded = { addon, from: candidate };
      return addon;
    } catch (error) {
      failures.push(`${candidate.kind}: ${candidate.path} failed to load: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  throw Object.assign(new Error(addonLoadMessage(torch, failures)), { code: 'ERR_ADDON_LOAD' });
}

function addonLoadMessage(torch: TorchLookup, failures: string[]): string {
  const { kPinnedTorch, projectEnv } = torchLocator(packageRoot);
  return [
    'foldtorch: the native addon could not be loaded.',
    `  - ${describeTorch(torch)}`,
    ...failures.map((f) => `  - ${f}`),
    'Likely causes, and the command that fixes each:',
    `  1. No torch on this machine: run \`npx foldtorch setup\` (installs torch==${kPinnedTorch} for CPU into ${projectEnv};`,
    '     in the repository: `npm run setup`), or set FOLDTORCH_PYTHON to a Python with torch, or LIBTORCH to a libtorch.',
    '  2. The addon was never built for this torch, and no prebuilt fits it: run `npx foldtorch build` (needs cmake and',
    '     a C++ compiler; in the repository: `npm run build:native`), or install the torch named above.',
    '  3. A build for another Node.js ABI or platform: delete build/ and run `npx foldtorch build`.',
    '  4. FOLDTORCH_ADDON points at a missing file: unset it.',
  ].join('\n');
}

/** Where the loaded addon came from (for `foldtorch doctor`). */
export function addonLocation(): AddonCandidate | undefined {
  return loaded?.from;
}
