/** Public report API: writeReport (report.html + PNG charts + galleries), compareReports, and the pieces they are made of. */
export { writeReport } from './report';
export type { ReportData, FoldHistory, ScoredSet, ReportFiles } from './report';
export { reportHtml, escapeHtml } from './html';
export type { ReportPage, SetSummary, ChartImage } from './html';
export {
  rocSpec, confusionSpec, epochSpec, learningRateSpec, thinIndices, kMaxLinePoints, renderSvg, svgToPng, scopeSvgIds, kPngScale,
} from './plots';
export type { CurveSeries, ConfusionPanel, EpochSeries, StepSeries } from './plots';
export { renderSvgs } from './render';
export { pickGallery, imageLoss, heatmapKey, heatmapRgba, heatColour, overlayPng, kDefaultGallerySizes, kThumbSize, kGalleryKinds } from './gallery';
export type { ImageDetails, Heatmap, GalleryPick, GallerySizes, GalleryImage, GalleryKind } from './gallery';
export { groupScores, groupSpec } from './groups';
export type { GroupScore } from './groups';
export { compareReports } from './compare';
export type { CompareFiles } from './compare';
