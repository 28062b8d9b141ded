/** Public prediction API: TTA plan and merge (ttach semantics), fold ensemble, submission file. */
export {
  ttaTransformTypes, ttaMergeModes, seedTtaSpec, ttachClassNames, normalizeTtaSpec, parseTtaSpec, formatTtaSpec,
  ttachViews, planTta, ttaPlanNote, mergeTta,
} from './tta';
export type {
  TtaTransformType, TtaTransform, TtaSpec, TtaMergeMode, TtachView, TtaPlanEntry, TtaPlanOptions,
} from './tta';
export {
  identityElement, composeDihedral, dihedralOfOp, dihedralOfOps, opsOfView, viewOfDihedral, dihedralKey, dihedralName,
  viewLabel, applyViewToImage,
} from './dihedral';
export type { QuarterTurns, TtaView, TtaOp, Dihedral, ImageTensor, Nchw } from './dihedral';
export { ensembleMethods, ensembleFolds, rankNormalize, classProbabilities } from './ensemble';
export type { EnsembleMethod, FoldPredictions, EnsembleOptions, EnsemblePredictions } from './ensemble';
export { writeSubmission, readSubmission, formatPythonFloat } from './submission';
export type { Predictions, SubmissionResult } from './submission';
