/**
 * What threshold tuning optimises: an explicit target on the validation split, and the cost of
 * stopping at each exit. Costs are cumulative: stopping at exit k pays for backbone stages
 * 0..k and exit heads 0..k (every head run on the way), in FLOPs or in measured milliseconds.
 */
import { policyError } from '../outputs.ts';

/** A tuning target (JSON-serialisable). Accuracy drop is measured against the final exit on the same samples. */
export type TuningTarget =
  /** Minimise expected cost subject to accuracy ≥ final-exit accuracy − maxDropPp / 100. */
  | { kind: 'accuracy-drop'; maxDropPp: number; minimise?: 'flops' | 'latency' }
  /** Maximise accuracy subject to expected FLOPs per sample ≤ flopsPerSample. */
  | { kind: 'flops-budget'; flopsPerSample: number }
  /** Maximise accuracy subject to expected latency per sample ≤ msPerSample. */
  | { kind: 'latency-budget'; msPerSample: number };

/** Cumulative cost of stopping at each exit (length K). At least the one the target needs. */
export interface ExitCosts {
  /** FLOPs per sample to reach and evaluate exit k (stages 0..k + heads 0..k). */
  flops?: readonly number[];
  /** Milliseconds per sample to reach and evaluate exit k, from profiled segment times. */
  latencyMs?: readonly number[];
}

/**
 * Cumulative per-exit costs from per-segment costs: exit k costs Σ_{j≤k} (stage_j + head_j),
 * since a sample stopping at k ran every stage and every head before it. Works for FLOPs and for
 * profiled milliseconds alike.
 *
 * @example
 * cumulativeCosts([10, 20, 30], [1, 1, 2]); // [11, 32, 64]
 */
export function cumulativeCosts(stages: readonly number[], heads: readonly number[]): number[] {
  if (stages.length !== heads.length || stages.length === 0) {
    throw policyError(`${stages.length} stage costs and ${heads.length} head costs`, 'give one stage and one head cost per exit');
  }
  let total = 0;
  return stages.map((s, k) => {
    const h = heads[k]!;
    if (!(Number.isFinite(s) && s >= 0 && Number.isFinite(h) && h >= 0)) {
      throw policyError(`segment ${k} has cost ${s} (stage) / ${h} (head)`, 'costs are finite and non-negative');
    }
    return (total += s + h);
  });
}

/**
 * The cost vector the target is about, checked: length K, finite, non-negative, non-decreasing
 * (a later exit cannot be cheaper than an earlier one it runs after).
 */
export function targetCosts(target: TuningTarget, costs: ExitCosts, exits: number): { unit: 'flops' | 'latency'; values: readonly number[] } {
  checkTarget(target);
  const unit = target.kind === 'flops-budget' ? 'flops' : target.kind === 'latency-budget' ? 'latency' : (target.minimise ?? (costs.flops ? 'flops' : 'latency'));
  const values = unit === 'flops' ? costs.flops : costs.latencyMs;
  if (values === undefined) {
    throw policyError(`the ${target.kind} target needs ${unit === 'flops' ? 'costs.flops' : 'costs.latencyMs'}`, 'pass cumulative per-exit costs (cumulativeCosts from segment costs)');
  }
  if (values.length !== exits) throw policyError(`${values.length} costs for ${exits} exits`, 'give one cumulative cost per exit, final exit included');
  values.forEach((v, k) => {
    if (!(Number.isFinite(v) && v >= 0)) throw policyError(`cost ${v} at exit ${k}`, 'costs are finite and non-negative');
    if (k > 0 && v < values[k - 1]!) throw policyError(`costs are not cumulative: exit ${k} (${v}) is below exit ${k - 1} (${values[k - 1]})`, 'exit k costs stages 0..k and heads 0..k; see cumulativeCosts');
  });
  return { unit, values };
}

function checkTarget(target: TuningTarget): void {
  const value = target.kind === 'accuracy-drop' ? target.maxDropPp : target.kind === 'flops-budget' ? target.flopsPerSample : target.kind === 'latency-budget' ? target.msPerSample : Number.NaN;
  if (!(Number.isFinite(value) && value >= 0)) {
    throw policyError(`invalid tuning target ${JSON.stringify(target)}`, "use {kind: 'accuracy-drop', maxDropPp} | {kind: 'flops-budget', flopsPerSample} | {kind: 'latency-budget', msPerSample}, non-negative");
  }
}

/** How a set of exit decisions performs on labelled samples. */
export interface ExitMetrics {
  samples: number;
  accuracy: number;
  /** Accuracy of the final exit alone on the same samples. */
  finalAccuracy: number;
  /** (finalAccuracy − accuracy) × 100; negative when early exits help. */
  dropPp: number;
  /** Mean of the target's cost over samples (FLOPs or ms per sample). */
  expectedCost: number;
  /** Cost of running every sample to the final exit. */
  finalCost: number;
  /** Fraction of samples stopping at each exit. */
  exitFractions: number[];
}

/**
 * Metrics of `exitIndex` decisions. `correct[k][i]` = 1 when exit k predicts sample i right.
 */
export function exitMetrics(exitIndex: Int32Array, correct: readonly Uint8Array[], costs: readonly number[]): ExitMetrics {
  const n = exitIndex.length;
  const last = correct.length - 1;
  const counts = new Array<number>(correct.length).fill(0);
  let hits = 0;
  let finalHits = 0;
  let cost = 0;
  for (let i = 0; i < n; i++) {
    const k = exitIndex[i]!;
    counts[k]! += 1;
    hits += correct[k]![i]!;
    finalHits += correct[last]![i]!;
    cost += costs[k]!;
  }
  const d = Math.max(1, n);
  return {
    samples: n,
    accuracy: hits / d,
    finalAccuracy: finalHits / d,
    dropPp: ((finalHits - hits) / d) * 100,
    expectedCost: cost / d,
    finalCost: costs[last]!,
    exitFractions: counts.map((c) => c / d),
  };
}
