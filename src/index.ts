/** foldtorch's public API: re-exports only. */
export * from './errors';
export { loadAddon, addonLocation } from './native/addon';
export { doctor, setNumThreads, imagesToTensor, validateDevice } from './native/runtime';
export type * from './native/types';
export { runParity, formatParity } from './parity/run';
export type { ParityKind, ParityResult } from './parity/kind';
export { createLearner, manualSeed, readCheckpointInfo, globToRegExpSource, Learner, learnerPrecisions } from './train/learner';
export type { LearnerOptions, GradScalerConfig, TrainStepOptions, CheckpointInfo, CheckpointDocument } from './train/learner';
export {
  ranger21Defaults, ranger21Modes, lossKinds, cceVariants, resolveRanger21Options, resolveLossOptions, traceRanger21, ranger21Schedule,
  classificationLoss,
} from './train/optimizer';
export type { Ranger21Config, LossConfig } from './train/optimizer';
