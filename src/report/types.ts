/**
 * The data of an exitwise report: a plain, JSON-serialisable object computed once from a bundle's
 * manifest and its exit outputs on labelled samples (build.ts), then rendered to one
 * self-contained HTML page (html.ts). Keeping the two apart lets the figures be checked against
 * brute-force references without rendering anything, and the page be rendered without a model.
 *
 * Conventions: accuracies and fractions are in [0, 1]; FLOPs are per sample; a FLOPs ratio is
 * expected FLOPs divided by the backbone's own FLOPs (every stage plus the final head, i.e. the
 * network without early exits), so 1 means "as costly as not having exits" and the all-final
 * point sits slightly above 1 (it also ran every early head).
 */
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
  /** Per exit, in order (the last is the backbone's own classifier). */
  exits: ExitFacts[];
  /** The bundle's tuned policy at its operating point; null when the bundle has none. */
  policy: PolicyReport | null;
  /** One curve per policy kind: its operating points as its threshold (or patience) sweeps. */
  tradeoffs: TradeoffCurve[];
  /** Per-sample cumulative milliseconds per exit; null when neither measured nor given. */
  latency: LatencyInfo | null;
  calibration: CalibrationReportData;
  overthinking: OverthinkingSummary;
}

/** What the manifest says about the bundle. */
export interface BundleFacts {
  input: { name: string; shape: (number | string)[]; dtype: string };
  stages: { index: number; params: number; flops: number }[];
  /** FLOPs per sample of the network without early exits: every stage plus the final head. */
  backboneFlops: number;
  /** Parameters of the whole bundle (stages and every head). */
  params: number;
  provenance: {
    dataset: string;
    strategy: string;
    date: string;
    exitwiseVersion: string;
    split: { valFraction: number; seed: number; limit: number | null } | null;
  };
  /** Device names of the manifest's latency profiles. */
  profiles: string[];
}

/** One exit's cost and quality on the report's samples. */
export interface ExitFacts {
  index: number;
  params: number;
  /** FLOPs of the head alone. */
  flops: number;
  /** FLOPs of a sample that stops here: stages 0..k and heads 0..k. */
  cumulativeFlops: number;
  flopsRatio: number;
  /** Calibration temperature from the manifest (1 = uncalibrated). */
  temperature: number;
  /** Accuracy of this exit on every sample (as if all stopped here). */
  accuracy: number;
  /** Fraction of samples whose first correct exit is this one. */
  firstCorrect: number;
  /** Cumulative ms per sample to reach and evaluate this exit, when latency is known. */
  ms: number | null;
}

/** How a set of exit decisions does on the report's samples. */
export interface OperatingPoint {
  accuracy: number;
  /** Mean FLOPs per sample. */
  expectedFlops: number;
  flopsRatio: number;
  /** Mean cumulative ms per sample (null without latency). */
  msPerSample: number | null;
  /** Fraction of samples stopping at each exit. */
  exitFractions: number[];
}

/** One point of a trade-off curve. */
export interface TradeoffPoint extends OperatingPoint {
  /**
   * The swept parameter: the threshold shared by every non-final exit (in the score's units), the
   * patience, or null for the end point where every early exit is disabled (final exit only).
   */
  parameter: number | null;
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
  point: OperatingPoint;
  /** Accuracy of the final exit alone on the same samples. */
  finalAccuracy: number;
  /** Per exit: samples stopping there and how many of them are right. */
  exitCounts: number[];
  exitCorrect: number[];
}

/** Cumulative per-exit latency. */
export interface LatencyInfo {
  /** `measured` (a profile or a timing run) or `estimated` (scaled from FLOPs). */
  source: 'measured' | 'estimated';
  /** Where it comes from, e.g. `profile "cpu-2t" in the manifest`. */
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

/**
 * Overthinking (Kaya et al. 2019, "Shallow-Deep Networks"): how often going deeper was wasted or
 * harmful, and what a perfect exit oracle would reach.
 */
export interface OverthinkingSummary {
  /** Right at some earlier exit and still right at the final one: the extra computation was wasted. */
  wasteful: number;
  /** Right at some earlier exit but wrong at the final one: going deeper destroyed a right answer. */
  destructive: number;
  /** Right at one exit at least: the accuracy of a perfect exit oracle. */
  oracleAccuracy: number;
  /** The oracle's FLOPs ratio: every sample stops at its first right exit (wrong everywhere: the final exit). */
  oracleFlopsRatio: number;
  finalAccuracy: number;
}
