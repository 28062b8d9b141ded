/** Public report API: writeReport (report.html + PNG charts) and the pieces it is made of. */
export { writeReport } from './report';
export type { ReportData, FoldHistory, ScoredSet, ReportFiles } from './report';
export { reportHtml, escapeHtml } from './html';
export type { ReportPage, SetSummary, ChartImage } from './html';
export {
  rocSpec, confusionSpec, epochSpec, learningRateSpec, thinIndices, kMaxLinePoints, renderSvg, svgToPng, scopeSvgIds, kPngScale,
} from './plots';
export type { CurveSeries, ConfusionPanel, EpochSeries, StepSeries } from './plots';
