/**
 * The Python that downloads wheels (pip) and reads checkpoints (torch.load): found in scripts/libtorch.js's order,
 * after the LIBTORCH case, which has no Python: --python / FOLDTORCH_PYTHON → the project environment → python3.
 */
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { toolError } from '../errors';

export interface PythonInfo {
  python: string;
  /** Why this Python: "--python", "FOLDTORCH_PYTHON", "project environment", "python3 on PATH". */
  source: string;
  version: string;
  torch: string;
  pip: string | null;
}

interface Candidate {
  python: string;
  source: string;
}

const kProbeMarker = 'FOLDTORCH_PYTHON_PROBE ';
const kProbe = [
  'import json, sys',
  'info = {"version": sys.version.split()[0], "torch": None, "pip": None}',
  'try:\n    import torch\n    info["torch"] = torch.__version__\nexcept Exception as error:\n    info["torchError"] = str(error)[:200]',
  'try:\n    import pip\n    info["pip"] = pip.__version__\nexcept Exception:\n    pass',
  `print(${JSON.stringify(kProbeMarker)} + json.dumps(info))`,
].join('\n');

/** The package root (where package.json and scripts/ are), from src/weights or dist/src/weights alike. */
export function packageRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'scripts', 'weights'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`foldtorch: no package root above ${__dirname} (scripts/weights is missing)`);
  }
}

/** The project environment made by scripts/setup.sh (FOLDTORCH_ENV overrides, as in scripts/libtorch.js). */
export function projectEnvironment(): string {
  return process.env.FOLDTORCH_ENV || path.join(os.homedir(), '.cache', 'foldtorch', 'venv');
}

export function pythonCandidates(explicit?: string): Candidate[] {
  if (explicit) return [{ python: explicit, source: '--python' }];
  if (process.env.FOLDTORCH_PYTHON) return [{ python: process.env.FOLDTORCH_PYTHON, source: 'FOLDTORCH_PYTHON' }];
  return [
    { python: path.join(projectEnvironment(), 'bin', 'python'), source: 'project environment' },
    { python: 'python3', source: 'python3 on PATH' },
  ];
}

function probe(python: string): Promise<{ version: string; torch: string | null; pip: string | null; torchError?: string } | string> {
  return new Promise((resolve) => {
    execFile(python, ['-c', kProbe], { timeout: 120_000, maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
      const line = stdout.split('\n').find((l) => l.startsWith(kProbeMarker));
      if (line) return resolve(JSON.parse(line.slice(kProbeMarker.length)));
      resolve(`cannot run it (${(error?.message ?? stderr).split('\n')[0]})`);
    });
  });
}

const located = new Map<string, Promise<PythonInfo>>();

/** The first candidate that imports torch; a worded error listing what was tried and how to fix it. */
export function locatePython(explicit?: string): Promise<PythonInfo> {
  const candidates = pythonCandidates(explicit);
  const key = JSON.stringify(candidates);
  let found = located.get(key);
  if (!found) {
    found = locate(candidates);
    located.set(key, found);
    found.catch(() => located.delete(key));
  }
  return found;
}

async function locate(candidates: Candidate[]): Promise<PythonInfo> {
  const tried: string[] = [];
  for (const { python, source } of candidates) {
    if (path.isAbsolute(python) && !fs.existsSync(python)) {
      tried.push(`${python} (${source}): does not exist`);
      continue;
    }
    const info = await probe(python);
    if (typeof info === 'string') tried.push(`${python} (${source}): ${info}`);
    else if (info.torch === null) tried.push(`${python} (${source}): no torch (${info.torchError ?? 'import failed'})`);
    else return { python, source, version: info.version, torch: info.torch, pip: info.pip };
  }
  throw toolError(`weights: no Python with torch was found to read the checkpoint; tried ${tried.join('; ')}`, [
    `npm run setup: installs torch into the project environment ${projectEnvironment()}, which is then found by itself`,
    'or name a Python that has torch (and pip, to download): FOLDTORCH_PYTHON=/path/to/python, or --python /path/to/python',
  ]);
}

export interface ProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last lines of stdout and stderr together, for error messages. */
  tail: string;
}

/** Runs a command to the end, handing each output line to `onLine` and keeping the last 40 lines. */
export function runProcess(
  command: string,
  args: readonly string[],
  onLine: (line: string) => void,
  timeoutMs: number,
): Promise<ProcessResult> {
  return new Promise((resolve) => {
    const lines: string[] = [];
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PIP_NO_INPUT: '1' } });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const take = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split(/\r?\n/)) {
        if (!line.trim()) continue;
        lines.push(line);
        if (lines.length > 40) lines.shift();
        onLine(line);
      }
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', (error) => {
      lines.push(error.message);
      clearTimeout(timer);
      resolve({ code: null, signal: null, tail: lines.join('\n') });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, tail: lines.join('\n') });
    });
  });
}

export function indent(text: string, prefix = '    '): string {
  return text
    .split('\n')
    .map((line) => `${prefix}${line}`)
    .join('\n');
}
