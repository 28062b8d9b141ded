/** foldtorch's public API: re-exports only. */
export * from './errors';
export { loadAddon, addonLocation } from './native/addon';
export { doctor, setNumThreads, imagesToTensor, validateDevice } from './native/runtime';
export type * from './native/types';
export { runParity, formatParity } from './parity/run';
export type { ParityKind, ParityResult } from './parity/kind';
export { createLearner, manualSeed, readCheckpointInfo, globToRegExpSource, Learner } from './train/learner';
export type { LearnerOptions, GradScalerConfig, TrainStepOptions, CheckpointInfo, CheckpointDocument } from './train/learner';
export {
  ranger21Defaults, ranger21Modes, lossKinds, cceVariants, resolveRanger21Options, resolveLossOptions, traceRanger21, ranger21Schedule,
  classificationLoss,
} from './train/optimizer';
export type { Ranger21Config, LossConfig } from './train/optimizer';
export { createModel, listModels, registeredModelNames, readSafetensors, Model } from './native/model';
export type { CreateModelOptions, ImageForwardOptions, FloatForwardOptions } from './native/model';
export * from './data';
export * from './metrics';
export * from './predict';
export type { TtaView } from './predict';
export * from './report';
export { trainFold, buildModel, resolvePrecision, TrainingInterrupted } from './train/trainFold';
export type { FoldResult, EpochMetrics } from './train/trainFold';
export { crossValidate } from './train/crossValidate';
export { explain, explainImages, galleryHeatmaps } from './train/explain';
export type { ExplainOptions, ExplainResult, ExplainedImage } from './train/explain';
export type { CrossValidationResult, CrossValidateOptions } from './train/crossValidate';
export type { RunOptions } from './train/prepare';
export { pretrainBackbone, ensureBackbone } from './train/pretrain';
export type { PretrainOptions, PretrainResult, BackboneCacheOptions } from './train/pretrain';
export { resolveRecipe, applyOverrides, validateRecipe, recipeNames, recipeKeys, kRecipes } from './train/recipe';
export type { Recipe, ModelRecipe, OptimizerRecipe, AugmentRecipe } from './train/recipe';
export { createProgress, describeEvent } from './train/progress';
export type { TrainEvent, ProgressMode, ProgressSink } from './train/progress';
export { RunDir } from './train/runDir';
export { writeFileAtomic, writeFileAtomicAsync } from './files';
export * from './weights';
export { predictItems } from './predict/predictor';
