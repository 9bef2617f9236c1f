/**
 * How an exit policy does on recorded outputs: each sample stops where the policy says (simulated
 * with batch compaction exactly as the runtime decides), and pays for every stage and head it ran.
 */
import type { ExitPolicy } from '../exits/policies/policy.ts';
import { simulate } from '../exits/policies/simulate.ts';
import { argmaxRow, checkLabels, policyError, type ExitOutputs } from '../exits/outputs.ts';
import type { BundleCosts } from './exit-analysis.ts';

/** Adaptive inference figures on a set of labelled samples. */
export interface AdaptiveFigures {
  samples: number;
  accuracy: number;
  /** Accuracy of the final exit alone on the same samples. */
  finalAccuracy: number;
  /** (finalAccuracy − accuracy) × 100: percentage points lost by exiting early (negative: gained). */
  dropPp: number;
  /** Mean FLOPs per sample. */
  expectedFlops: number;
  /** `expectedFlops` over the full model's (the backbone alone). */
  flopsFraction: number;
  /** Mean milliseconds per sample from a latency profile, when costs carry one. */
  expectedMs?: number;
  /** Samples stopping at each exit. */
  exitCounts: number[];
  /** `exitCounts` over samples. */
  exitFractions: number[];
}

/**
 * Simulates `policy` on the outputs and measures accuracy, cost and where samples stop.
 * `costs.latencyMs` (cumulative ms per exit, from a profile) adds `expectedMs`.
 */
export function adaptiveFigures(policy: ExitPolicy, outputs: ExitOutputs, labels: Int32Array, costs: BundleCosts & { latencyMs?: readonly number[] }): AdaptiveFigures {
  checkLabels(outputs, labels);
  const K = outputs.logits.length;
  if (costs.cumulativeFlops.length !== K || (costs.latencyMs !== undefined && costs.latencyMs.length !== K)) {
    throw policyError(`costs for ${costs.cumulativeFlops.length} exits, outputs of ${K}`, 'give one cumulative cost per exit');
  }
  const { exitIndex, prediction } = simulate(policy, outputs);
  const finalLogits = outputs.logits[K - 1]!;
  const exitCounts = new Array<number>(K).fill(0);
  let [hits, finalHits, flops, ms] = [0, 0, 0, 0];
  for (let i = 0; i < outputs.samples; i++) {
    const k = exitIndex[i]!;
    exitCounts[k]! += 1;
    if (prediction[i] === labels[i]) hits++;
    if (argmaxRow(finalLogits, i * outputs.classes, outputs.classes) === labels[i]) finalHits++;
    flops += costs.cumulativeFlops[k]!;
    if (costs.latencyMs !== undefined) ms += costs.latencyMs[k]!;
  }
  const n = Math.max(1, outputs.samples);
  const figures: AdaptiveFigures = {
    samples: outputs.samples,
    accuracy: hits / n,
    finalAccuracy: finalHits / n,
    dropPp: ((finalHits - hits) / n) * 100,
    expectedFlops: flops / n,
    flopsFraction: flops / n / costs.fullModelFlops,
    exitCounts,
    exitFractions: exitCounts.map((c) => c / n),
  };
  if (costs.latencyMs !== undefined) figures.expectedMs = ms / n;
  return figures;
}
