/** The HTML report of a bundle: its data (pure figures), the page (inline SVG, no scripts), and the bundle-to-file pipeline. */
export { buildReportData, type ReportInput, type LabelledExitOutputs } from './build.ts';
export { renderReport } from './html.ts';
export { reportCharts, KIND_COLOURS, type ChartSpec } from './charts.ts';
export { renderSvg } from './svg.ts';
export { sweepPolicy, SWEPT_KINDS, DEFAULT_SWEEP_LEVELS, type ReportCosts } from './tradeoff.ts';
export { bundleReportData, storedLatencyInfo, writeReport, type BundleReportOptions } from './from-bundle.ts';
export type {
  ReportData, BundleFacts, TradeoffCurve, TradeoffPoint, PolicyReport, LatencyInfo, ReliabilityCurve, CalibrationReportData,
} from './types.ts';
