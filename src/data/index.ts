/** The data pipeline's public API: datasets, CSV files, folds, sampling, augmentation, the batch loader and the emoji dataset. */
export {
  readCsvRecords,
  readCsvTable,
  readLabelCsv,
  readTrainCsv,
  readSampleSubmit,
  writeCsv,
  writeOofCsv,
  writeSubmissionCsv,
  kDefaultClasses,
} from './csv';
export type { CsvRecord, CsvRow, LabeledImage, SubmissionRow, OofRow, ReadLabelsOptions } from './csv';

export { loadDataset, loadCompetitionDataset, loadFolderDataset, metaGroups, isIgnoredEntry, kImageExtensions, kVerifyModes } from './dataset';
export type { Dataset, DatasetOptions, ImageItem, SkippedImage, VerifyMode } from './dataset';

export { stratifiedKFold, stratifiedGroupKFold, foldIndices, writeFoldsCsv, readFoldsCsv } from './folds';
export type { FoldAssignment, FoldOptions, FoldRow, Label } from './folds';

export { EpochSampler, imbalancedWeights, kSamplerKinds } from './sampler';
export type { SamplerKind, SamplerOptions } from './sampler';

export {
  planAugment,
  planMapsPixel,
  isIdentityPlan,
  checkAugmentConfig,
  checkTransformConfig,
  sharpKernel,
  kIdentityPlan,
  kSeedAugment,
  kInterpolations,
} from './augment';
export type { AugmentConfig, AugmentPlan, Interpolation, TransformConfig } from './augment';

export { decodeImage, augmentRgb, probeImage, verifyImage, DecodedCache, kDefaultPixelLimit } from './image';
export type { DecodeOptions } from './image';

export { loadBatches, loadInOrder } from './loader';
export type { Batch, LoaderItem, LoaderOptions } from './loader';

export { buildEmojiDataset, ensureEmojiDataset, renderEmoji } from './emoji';
export type { EmojiBuildOptions, EmojiBuildSummary, SplitCounts } from './emoji';
export { kEmojiStyles, kCorpusOnlyStyles, emojiEntries, foodAndDrinkEmoji, pretrainingEmoji, pretrainingSubgroups } from './emoji-sources';
export { buildEmojiCorpus, ensureEmojiCorpus, kCorpusDefaultStyles } from './emoji-corpus';
export type { EmojiCorpusOptions, EmojiCorpusSummary } from './emoji-corpus';
export type { DatasetStyle, EmojiStyle, EmojiEntry, EmojiInfo } from './emoji-sources';

export { RandomState } from './random';
