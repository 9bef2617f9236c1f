/**
 * Accuracy/cost trade-off curves: each policy kind evaluated by simulation (exactly as the runtime
 * decides, with batch compaction) at a sweep of its parameter. Threshold kinds sweep one
 * threshold shared by every non-final exit — the usual 1-D family of the early-exit literature —
 * at quantiles of their own scores, so the points spread along the curve rather than bunching
 * where the scores do (max-softmax piles up near 1). Patience sweeps 1 … K−1. Every curve ends
 * with the point where all early exits are off (final exit only).
 */
import { adaptiveFigures } from '../analysis/adaptive.ts';
import type { BundleCosts } from '../analysis/exit-analysis.ts';
import { policyError, type ExitOutputs } from '../exits/outputs.ts';
import { isThresholdPolicy, type ExitPolicy, type ThresholdPolicy } from '../exits/policies/policy.ts';
import { fitPolicy } from '../exits/policies/registry.ts';
import type { TradeoffCurve, TradeoffPoint } from './types.ts';

/** Kinds every report sweeps: the four that need nothing fitted. */
export const SWEPT_KINDS = ['max-softmax', 'entropy', 'margin', 'patience'] as const;

/** 41 shared-threshold levels (quantiles 0, 2.5 %, …, 100 %): smooth curves, well under a second on 10k samples. */
export const DEFAULT_SWEEP_LEVELS = 41;

/** What each kind's swept parameter means, for legends and tables. */
const PARAMETER_LABELS: Readonly<Record<string, string>> = {
  'max-softmax': 'threshold on p_max',
  entropy: 'threshold on normalised entropy',
  margin: 'threshold on p1 − p2',
  patience: 'patience (agreeing exits)',
  'class-means': 'threshold on distance to class mean',
  learned: 'threshold on P(correct)',
};

/** Per-exit costs: the bundle's FLOPs, and cumulative ms per exit when latency is known. */
export type ReportCosts = BundleCosts & { latencyMs?: readonly number[] };

/**
 * The trade-off curve of one policy: `base` (its temperatures and fitted parts are kept) at every
 * swept parameter value, sorted by expected FLOPs.
 */
export function sweepPolicy(base: ExitPolicy, outputs: ExitOutputs, labels: Int32Array, costs: ReportCosts, levels = DEFAULT_SWEEP_LEVELS): TradeoffCurve {
  const K = base.exits;
  const point = (policy: ExitPolicy, parameter: number | null): TradeoffPoint => {
    const f = adaptiveFigures(policy, outputs, labels, costs);
    return { parameter, accuracy: f.accuracy, expectedFlops: f.expectedFlops, flopsFraction: f.flopsFraction, expectedMs: f.expectedMs ?? null, exitFractions: f.exitFractions };
  };
  const points: TradeoffPoint[] = [];
  if (isThresholdPolicy(base)) {
    for (const t of sharedThresholds(base, outputs, levels)) points.push(point(base.withThresholds(new Array<number>(K - 1).fill(t)), t));
    points.push(point(base.withThresholds(new Array<null>(K - 1).fill(null)), null));
  } else if (base.kind === 'patience' && 'withPatience' in base) {
    const patient = base as ExitPolicy & { withPatience(p: number): ExitPolicy };
    for (let p = 1; p <= Math.max(1, K - 1); p++) points.push(point(patient.withPatience(p), p));
    // Patience cannot switch the early exits off; any threshold kind with every exit disabled can.
    const never = fitPolicy('max-softmax', outputs, labels, { thresholds: new Array<null>(K - 1).fill(null) });
    points.push(point(never, null));
  } else {
    throw policyError(`cannot sweep a ${base.kind} policy`, 'trade-off curves are drawn for threshold policies and patience');
  }
  points.sort((a, b) => a.expectedFlops - b.expectedFlops || a.accuracy - b.accuracy);
  return { kind: base.kind, parameterLabel: PARAMETER_LABELS[base.kind] ?? 'parameter', points: dedupe(points) };
}

/**
 * Shared thresholds at `levels` quantiles of the policy's scores pooled over the non-final exits,
 * distinct values only. Quantile 0 (or 1 for at-most scores) stops every sample at exit 0.
 */
function sharedThresholds(policy: ThresholdPolicy, outputs: ExitOutputs, levels: number): number[] {
  const scores = policy.scores(outputs).slice(0, -1);
  const pooled = new Float64Array(scores.reduce((n, s) => n + s.length, 0));
  let at = 0;
  for (const s of scores) {
    pooled.set(s, at);
    at += s.length;
  }
  pooled.sort();
  const out = new Set<number>();
  for (let i = 0; i < levels && pooled.length > 0; i++) {
    const q = levels === 1 ? 0 : i / (levels - 1);
    out.add(pooled[Math.min(pooled.length - 1, Math.round(q * (pooled.length - 1)))]!);
  }
  return [...out];
}

/** Drops points with the same exits taken (equal FLOPs and accuracy), keeping the first. */
function dedupe(points: TradeoffPoint[]): TradeoffPoint[] {
  return points.filter((p, i) => i === 0 || p.expectedFlops !== points[i - 1]!.expectedFlops || p.accuracy !== points[i - 1]!.accuracy);
}
