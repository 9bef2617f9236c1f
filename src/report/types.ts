/**
 * The data of an exitwise report: a plain, JSON-serialisable object computed once from a bundle's
 * manifest and its exit outputs on labelled samples (build.ts), then rendered to one
 * self-contained HTML page (html.ts). Keeping the two apart lets the figures be checked against
 * brute-force references without rendering anything, and the page be rendered without a model.
 *
 * Conventions (those of src/analysis): accuracies and fractions are in [0, 1]; FLOPs are per
 * sample; a FLOPs fraction is expected FLOPs over the full model's (the backbone alone: every
 * stage plus the final head), so the final-exit-only point sits slightly above 1: it also ran
 * every early head.
 */
import type { AdaptiveFigures } from '../analysis/adaptive.ts';
import type { ExitAnalysis } from '../analysis/exit-analysis.ts';
import type { PolicyJson } from '../schemas/policy.ts';

/** Everything the page shows. */
export interface ReportData {
  /** Bundle name (its folder name without `.exitwise`). */
  title: string;
  /** Dataset and split the figures are measured on (never the split the policy was tuned on). */
  dataset: string;
  split: string;
  samples: number;
  /** ISO 8601 date-time the report was made. */
  generatedAt: string;
  classes: string[];
  bundle: BundleFacts;
  /** Every exit's accuracy, cost and ECE, the oracle and overthinking (src/analysis). */
  analysis: ExitAnalysis;
  /** `[K]` fraction of samples whose first right exit is k. */
  firstCorrect: number[];
  /** The bundle's tuned policy at its operating point; null when the bundle has none. */
  policy: PolicyReport | null;
  /** One curve per policy kind: its operating points as its threshold (or patience) sweeps. */
  tradeoffs: TradeoffCurve[];
  /** Per-sample cumulative milliseconds per exit; null when neither measured nor given. */
  latency: LatencyInfo | null;
  calibration: CalibrationReportData;
}

/** What the manifest says about the bundle. */
export interface BundleFacts {
  input: { name: string; shape: (number | string)[]; dtype: string };
  stages: { index: number; params: number; flops: number }[];
  exits: { index: number; params: number; flops: number }[];
  /** Parameters of the whole bundle (stages and every head). */
  params: number;
  provenance: {
    dataset: string;
    strategy: string;
    date: string;
    exitwiseVersion: string;
    split: { valFraction: number; seed: number; limit: number | null } | null;
  };
  /** Names of the manifest's device profiles. */
  profiles: string[];
}

/** How a set of exit decisions does on the report's samples. */
export interface TradeoffPoint {
  /**
   * The swept parameter: the threshold shared by every non-final exit (in the score's units), the
   * patience, or null for the end point where every early exit is disabled (final exit only).
   */
  parameter: number | null;
  accuracy: number;
  /** Mean FLOPs per sample, and over the full model's. */
  expectedFlops: number;
  flopsFraction: number;
  /** Mean cumulative ms per sample (null without latency). */
  expectedMs: number | null;
  /** Fraction of samples stopping at each exit. */
  exitFractions: number[];
}

export interface TradeoffCurve {
  /** Policy kind (`max-softmax`, `entropy`, …). */
  kind: string;
  /** What `parameter` is, for legends and tables (e.g. `threshold on p_max`). */
  parameterLabel: string;
  /** Points in increasing FLOPs order. */
  points: TradeoffPoint[];
}

/** The tuned policy of the bundle, evaluated on the report's samples. */
export interface PolicyReport {
  kind: string;
  /** One-line description from the policy registry. */
  description: string;
  json: PolicyJson;
  /** Per non-final exit, or null for patience. */
  thresholds: (number | null)[] | null;
  patience: number | null;
  temperatures: number[];
  figures: AdaptiveFigures;
  /** `[K]` samples stopping at exit k that it predicts right. */
  exitCorrect: number[];
}

/** Cumulative per-exit latency, measured (a stored profile or one measured for the report). */
export interface LatencyInfo {
  /** Where it comes from in a few words, for chart subtitles (e.g. `profile cpu-2t-b1 of the bundle`). */
  label: string;
  /** Where it comes from in full (device, runtime, threads, batch, date), for the page. */
  description: string;
  /** `[K]` cumulative ms per sample to reach and evaluate exit k; non-decreasing. */
  cumulativeMs: number[];
}

/** One reliability diagram (empty bins left out). */
export interface ReliabilityCurve {
  temperature: number;
  ece: number;
  nll: number;
  bins: { lower: number; upper: number; count: number; confidence: number; accuracy: number }[];
}

export interface CalibrationReportData {
  /**
   * Where the "after" temperatures come from: the manifest; fitted on the validation split by
   * the report because the bundle is uncalibrated; or `none` (uncalibrated, no validation data:
   * before and after are the same).
   */
  source: 'manifest' | 'fitted-on-val' | 'none';
  bins: number;
  exits: { exit: number; accuracy: number; before: ReliabilityCurve; after: ReliabilityCurve }[];
}
