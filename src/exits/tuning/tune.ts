/**
 * Tunes a policy's thresholds on the validation split for an explicit target: the least
 * expected cost within a maximum accuracy drop, or the best accuracy within a FLOPs or latency
 * budget. Per-exit thresholds are searched by search.ts; patience, which has one integer, is
 * swept. Never tune on the test split: report on it afterwards.
 */
import { argmaxRows, checkLabels, policyError, type ExitOutputs } from '../outputs.ts';
import type { ExitPolicy, PatiencePolicy } from '../policies/policy.ts';
import { isThresholdPolicy } from '../policies/policy.ts';
import { simulate } from '../policies/simulate.ts';
import { exitMetrics, targetCosts, type ExitCosts, type ExitMetrics, type TuningTarget } from './objectives.ts';
import { evaluate, isBetter, searchThresholds, type Criterion, type SearchProblem } from './search.ts';

/** Options of {@link tuneThresholds}. */
export interface TuneOptions {
  target: TuningTarget;
  /** Cumulative per-exit costs; the target decides which is used. */
  costs: ExitCosts;
}

/** The tuned policy and how it does on the samples it was tuned on. */
export interface TuningResult {
  policy: ExitPolicy;
  /** False when no thresholds meet the target; `policy` is then the closest found and `reason` says why. */
  feasible: boolean;
  reason?: string;
  target: TuningTarget;
  unit: 'flops' | 'latency';
  /** On the tuning samples, measured by simulating the tuned policy. */
  metrics: ExitMetrics;
}

/**
 * Tunes `policy` on validation outputs and labels for `options.target`.
 *
 * @example
 * const val = exitOutputs([new Float32Array([4, 0, 1, 0]), new Float32Array([3, 0, 0, 3])], 2); // 2 exits, 2 samples
 * const labels = new Int32Array([0, 1]);
 * const tuned = tuneThresholds(fitPolicy('max-softmax', val, labels), val, labels, {
 *   target: { kind: 'accuracy-drop', maxDropPp: 0 },
 *   costs: { flops: cumulativeCosts([100, 100], [1, 1]) },
 * });
 * tuned.metrics.expectedCost; // 151.5: sample 0 stops at exit 0 (cost 101), sample 1 goes on (202)
 */
export function tuneThresholds(policy: ExitPolicy, outputs: ExitOutputs, labels: Int32Array, options: TuneOptions): TuningResult {
  checkLabels(outputs, labels);
  if (outputs.logits.length !== policy.exits) throw policyError(`outputs have ${outputs.logits.length} exits, the policy ${policy.exits}`, 'use a policy made for this network');
  if (outputs.samples === 0) throw policyError('no validation samples to tune on', 'pass the validation split');
  const { unit, values: costs } = targetCosts(options.target, options.costs, policy.exits);
  const { problem, sign } = buildProblem(policy, outputs, labels, costs);
  const tuned = searchPolicy(policy, problem, sign, criterionFor(options.target, problem));
  const metrics = exitMetrics(simulate(tuned, outputs).exitIndex, problem.correct, costs);
  const result: TuningResult = { policy: tuned, feasible: true, target: options.target, unit, metrics };
  const why = infeasibility(options.target, metrics, costs, tuned);
  if (why !== undefined) {
    result.feasible = false;
    result.reason = why;
  }
  return result;
}

/**
 * The search problem of `policy` on labelled outputs: scores oriented so that higher stops
 * (`sign` = −1 for at-most policies), per-exit correctness, cumulative costs.
 */
export function buildProblem(policy: ExitPolicy, outputs: ExitOutputs, labels: Int32Array, costs: readonly number[]): { problem: SearchProblem; sign: 1 | -1 } {
  const correct = outputs.logits.map((l) => {
    const pred = argmaxRows(l, outputs.classes); // temperatures never change the argmax
    return Uint8Array.from(pred, (p, i) => (p === labels[i] ? 1 : 0));
  });
  const sign = policy.direction === 'at-least' ? 1 : -1;
  return { problem: { scores: policy.scores(outputs).map((s) => s.map((v) => sign * v)), correct, costs }, sign };
}

/** `policy` with its thresholds (or patience) chosen by `criterion` on `problem`. */
export function searchPolicy(policy: ExitPolicy, problem: SearchProblem, sign: 1 | -1, criterion: Criterion): ExitPolicy {
  if (isThresholdPolicy(policy)) return policy.withThresholds(rawThresholds(searchThresholds(problem, criterion), problem, sign));
  if (policy.kind === 'patience') return bestPatience(policy as PatiencePolicy, problem, criterion);
  throw policyError(`cannot tune a ${policy.kind} policy`, 'tuning knows threshold policies and patience');
}

/** Minimise cost subject to (final-exit hits − hits) ≤ maxDropPp % of samples. */
export function dropCriterion(problem: SearchProblem, maxDropPp: number): Criterion {
  const n = problem.correct[0]!.length;
  let finalHits = 0;
  for (const c of problem.correct[problem.correct.length - 1]!) finalHits += c;
  // Integer counts: accuracy ≥ final − drop ⇔ hits ≥ ceil(finalHits − drop·n), with float slack.
  const required = Math.ceil(finalHits - (maxDropPp / 100) * n - 1e-9);
  return (hits, cost) => [Math.max(0, required - hits), cost, -hits];
}

/** Lexicographic ranks: [violation, objective, tie-break], lower is better. */
function criterionFor(target: TuningTarget, problem: SearchProblem): Criterion {
  if (target.kind === 'accuracy-drop') return dropCriterion(problem, target.maxDropPp);
  const n = problem.correct[0]!.length;
  const budget = (target.kind === 'flops-budget' ? target.flopsPerSample : target.msPerSample) * n;
  const slack = 1e-12 * Math.max(1, budget);
  return (hits, cost) => [Math.max(0, cost - budget - slack), -hits, cost];
}

/** Oriented search thresholds → the policy's units: midway to the next lower score (same decisions on val, margin on new data). */
function rawThresholds(t: Float64Array, problem: SearchProblem, sign: number): (number | null)[] {
  return Array.from(t, (value, k) => {
    if (value === Infinity) return null;
    let below = -Infinity; // the largest score at exit k strictly below the threshold
    for (const s of problem.scores[k]!) if (s < value && s > below) below = s;
    const mid = below === -Infinity ? value : (value + below) / 2;
    return sign * (mid > below ? mid : value);
  });
}

function bestPatience(policy: PatiencePolicy, problem: SearchProblem, criterion: Criterion): PatiencePolicy {
  const decisive = policy.exits - 1;
  let best = policy.withPatience(Math.max(1, decisive));
  let bestRank: readonly number[] | undefined;
  // From the most patient (most conservative) down; a less patient value must be strictly better.
  for (let p = Math.max(1, decisive); p >= 1; p--) {
    const { hits, cost } = evaluate(problem, new Float64Array(decisive).fill(p));
    const rank = criterion(hits, cost);
    if (bestRank === undefined || isBetter(rank, bestRank)) {
      best = policy.withPatience(p);
      bestRank = rank;
    }
  }
  return best;
}

function infeasibility(target: TuningTarget, m: ExitMetrics, costs: readonly number[], policy: ExitPolicy): string | undefined {
  if (target.kind === 'accuracy-drop') {
    if (m.dropPp <= target.maxDropPp + 1e-9) return undefined;
    return `${policy.kind} cannot stay within ${target.maxDropPp} pp of the final exit on these samples (best found drops ${m.dropPp.toFixed(2)} pp)`;
  }
  const budget = target.kind === 'flops-budget' ? target.flopsPerSample : target.msPerSample;
  if (m.expectedCost <= budget * (1 + 1e-12)) return undefined;
  const unit = target.kind === 'flops-budget' ? 'FLOPs' : 'ms';
  return budget < costs[0]!
    ? `the budget ${budget} ${unit}/sample is below the cost of exit 0 (${costs[0]} ${unit}): no policy can meet it`
    : `${policy.kind} cannot meet ${budget} ${unit}/sample (best found: ${m.expectedCost.toPrecision(4)})`;
}
