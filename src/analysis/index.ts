/** Analysis of bundles on data: exit outputs, per-exit figures, adaptive figures, latency profiles, tuning into the bundle. */
export { collectExitOutputs, type CollectOptions } from './collect.ts';
export { openSegments, runAllExits, type SegmentSessions, type SegmentSessionOptions } from './segments.ts';
export {
  analyzeExits, bundleCosts, exitCorrectness, exitAccuracies, firstCorrectExits, oracleAccuracy, overthinking, checkOutputsFit,
  type ExitAnalysis, type ExitFigures, type Overthinking, type BundleCosts,
} from './exit-analysis.ts';
export { adaptiveFigures, type AdaptiveFigures } from './adaptive.ts';
export { evaluateOutputs, type BundleEvaluation } from './evaluate.ts';
export { profileBundle, profileName, latencyCosts, storedProfile, PROFILE_DEFAULTS, type LatencyProfileOptions } from './profile.ts';
export {
  tuneBundlePolicy, writeTuning, absoluteTarget, DEFAULT_TUNE_POLICY, DEFAULT_CERTIFY_FRACTION,
  type BundleTarget, type BundleTuneOptions, type BundleTuning, type CertificationSummary,
} from './tune-bundle.ts';
export { createCountProgress, type CountProgress, type CountProgressOptions } from './progress.ts';
export { LatencyProfileSchema, type LatencyProfile } from '../schemas/profile.ts';
export { EvalReportSchema, type EvalReport } from '../schemas/eval.ts';
export { TuneReportSchema, type TuneReport } from '../schemas/tune.ts';
