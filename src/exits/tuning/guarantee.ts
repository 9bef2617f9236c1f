/**
 * Thresholds with a statistical guarantee, Learn-then-Test style (Angelopoulos et al. 2021):
 * with probability ≥ 1 − δ over the draw of the certification samples, the certified policy's
 * accuracy drop on new data from the same distribution is ≤ ε.
 *
 * The loss. ℓ = 1 when the early-exit prediction is wrong while the final exit's is right.
 * Accuracy drop = P(final right, early wrong) − P(final wrong, early right) ≤ E[ℓ], so
 * certifying E[ℓ] ≤ ε certifies the drop; ℓ is 0/1, so the number of losses in n i.i.d. samples
 * is exactly Binomial(n, E[ℓ]) and the exact binomial tail is a valid p-value for
 * H₀: E[ℓ] > ε, namely p = P(Bin(n, ε) ≤ observed losses).
 *
 * The test. Candidates are ordered from conservative to aggressive *before* looking at the
 * certification samples; fixed-sequence testing rejects H₀ for candidates in order while
 * p ≤ δ and stops at the first failure. This controls the family-wise error at δ with no
 * multiplicity correction, and the most aggressive rejected candidate is returned.
 *
 * `tuneCertified` builds the ordered candidates on one part of the validation split and
 * certifies on the other; the guarantee holds only if nothing about the policy (temperatures,
 * class means, learned weights) was fitted on the certification part: pass a `fit` function.
 */
import { Rng, shuffleInPlace } from '../../data/random.ts';
import { argmaxRows, checkLabels, policyError, selectSamples, type ExitOutputs } from '../outputs.ts';
import type { ExitPolicy } from '../policies/policy.ts';
import { simulate } from '../policies/simulate.ts';
import { binomialCdf, binomialUpperBound, checkDelta, minimumSamples } from './binomial.ts';
import { exitMetrics, targetCosts, type ExitCosts, type ExitMetrics } from './objectives.ts';
import { buildProblem, dropCriterion, searchPolicy } from './tune.ts';

/** The outcome of testing one candidate. */
export interface CandidateTest {
  losses: number;
  samples: number;
  /** P(Bin(samples, ε) ≤ losses): small = evidence that the loss rate is below ε. */
  pValue: number;
  /** Clopper–Pearson (1 − δ) upper bound on the loss rate. */
  upperBound: number;
  rejected: boolean;
}

/**
 * Fixed-sequence testing of loss counts (candidates ordered conservative → aggressive) at level
 * δ: H₀ is rejected for the leading candidates whose p-values are all ≤ δ, and for none after
 * the first that is not.
 */
export function fixedSequenceTest(lossCounts: readonly number[], samples: number, epsilon: number, delta: number): { pValue: number; rejected: boolean }[] {
  checkDelta(delta);
  if (!(epsilon > 0 && epsilon < 1)) throw policyError(`ε must be in (0, 1), got ${epsilon}`, 'ε = maxDropPp / 100');
  let open = true;
  return lossCounts.map((losses) => {
    const pValue = binomialCdf(losses, samples, epsilon);
    open &&= pValue <= delta;
    return { pValue, rejected: open };
  });
}

/** ℓ_i = 1 when the policy's prediction is wrong and the final exit's is right. `[samples]` */
export function dropLosses(policy: ExitPolicy, outputs: ExitOutputs, labels: Int32Array): Uint8Array {
  checkLabels(outputs, labels);
  const final = argmaxRows(outputs.logits[outputs.logits.length - 1]!, outputs.classes);
  const { prediction } = simulate(policy, outputs);
  return Uint8Array.from(prediction, (p, i) => (p !== labels[i] && final[i] === labels[i] ? 1 : 0));
}

/** What certification concluded. */
export interface Certification {
  /** The most aggressive certified candidate, or null with a `reason`. */
  policy: ExitPolicy | null;
  /** Its index in the candidate list (−1 when none). */
  index: number;
  reason?: string;
  epsilon: number;
  delta: number;
  tests: CandidateTest[];
}

/**
 * Certifies candidates, ordered conservative → aggressive independently of these samples, on
 * labelled outputs: with probability ≥ 1 − δ, every certified candidate (the returned one in
 * particular) has loss rate ≤ maxDropPp / 100 on the distribution the samples come from.
 */
export function certifyPolicies(candidates: readonly ExitPolicy[], outputs: ExitOutputs, labels: Int32Array, options: { maxDropPp: number; delta: number }): Certification {
  const epsilon = options.maxDropPp / 100;
  const counts = candidates.map((p) => dropLosses(p, outputs, labels).reduce((a, b) => a + b, 0));
  const tests = fixedSequenceTest(counts, outputs.samples, epsilon, options.delta).map(
    (t, j): CandidateTest => ({ losses: counts[j]!, samples: outputs.samples, ...t, upperBound: binomialUpperBound(counts[j]!, outputs.samples, options.delta) }),
  );
  let index = -1;
  while (index + 1 < tests.length && tests[index + 1]!.rejected) index++;
  const result: Certification = { policy: index >= 0 ? candidates[index]! : null, index, epsilon, delta: options.delta, tests };
  if (index < 0) result.reason = whyNot(tests, outputs.samples, epsilon, options.delta);
  return result;
}

function whyNot(tests: CandidateTest[], n: number, epsilon: number, delta: number): string {
  const needed = minimumSamples(epsilon, delta);
  if (n < needed) {
    return `${n} certification samples cannot certify a drop ≤ ${epsilon * 100} pp at δ = ${delta}: even with no losses the bound is ${binomialUpperBound(0, n, delta).toFixed(4)}; need ≥ ${needed} samples, or a larger ε or δ`;
  }
  const first = tests[0];
  if (first === undefined) return 'no candidate policy stops any sample early';
  return `the most conservative candidate loses ${first.losses} of ${n} samples (p = ${first.pValue.toPrecision(3)} > δ = ${delta}; ${(1 - delta) * 100}% upper bound ${(first.upperBound * 100).toFixed(2)} pp > ${epsilon * 100} pp)`;
}

/** Options of {@link tuneCertified}. */
export interface CertifiedTuningOptions {
  /** ε in percentage points: the accuracy drop vs the final exit that must hold on new data. */
  maxDropPp: number;
  /** The guarantee may fail with probability ≤ δ. */
  delta: number;
  costs: ExitCosts;
  minimise?: 'flops' | 'latency';
  /** Fraction of the validation samples held out for certification (default 0.5). */
  certifyFraction?: number;
  /** Seed of the split (default 0). */
  seed?: number;
  /** Number of candidate drop levels ε·j/steps, j = 1..steps, on the tuning part (default 16). */
  steps?: number;
}

/** A certified tuning: the certification plus metrics of the certified policy on the certification part. */
export interface CertifiedTuning extends Certification {
  candidates: ExitPolicy[];
  /** Metrics of the certified policy on the certification samples (absent when none). */
  metrics?: ExitMetrics;
  tuneSamples: number;
  certifySamples: number;
}

/**
 * Splits validation samples (seeded), builds candidates on the tuning part — the cheapest
 * thresholds whose empirical loss rate stays ≤ ε·j/steps, for j = 1..steps, ordered by cost,
 * most expensive first — and certifies them on the other part with {@link certifyPolicies}.
 * `policy` may be a function fitting the policy (calibration, class means, learned weights) on
 * the tuning part, which keeps the certification part unseen.
 */
export function tuneCertified(
  policy: ExitPolicy | ((outputs: ExitOutputs, labels: Int32Array) => ExitPolicy),
  outputs: ExitOutputs,
  labels: Int32Array,
  options: CertifiedTuningOptions,
): CertifiedTuning {
  checkLabels(outputs, labels);
  const fraction = options.certifyFraction ?? 0.5;
  if (!(fraction > 0 && fraction < 1)) throw policyError(`certifyFraction must be in (0, 1), got ${fraction}`, 'e.g. 0.5: half to tune, half to certify');
  const order = shuffleInPlace(Int32Array.from({ length: outputs.samples }, (_, i) => i), new Rng(options.seed ?? 0));
  const cut = Math.round(outputs.samples * (1 - fraction));
  const [tuneIdx, certIdx] = [order.subarray(0, cut), order.subarray(cut)];
  const tuneOut = selectSamples(outputs, tuneIdx);
  const tuneLabels = Int32Array.from(tuneIdx, (i) => labels[i]!);
  const certOut = selectSamples(outputs, certIdx);
  const certLabels = Int32Array.from(certIdx, (i) => labels[i]!);

  const base = typeof policy === 'function' ? policy(tuneOut, tuneLabels) : policy;
  const target = { kind: 'accuracy-drop' as const, maxDropPp: options.maxDropPp, ...(options.minimise ? { minimise: options.minimise } : {}) };
  const { values: costs } = targetCosts(target, options.costs, base.exits);
  const { problem, sign } = buildProblem(base, tuneOut, tuneLabels, costs);
  // Loss-based problem: "correct" = no loss, so the final exit is always right and the drop criterion bounds the ℓ rate.
  const final = problem.correct[problem.correct.length - 1]!;
  const lossProblem = { ...problem, correct: problem.correct.map((c) => Uint8Array.from(c, (v, i) => v | (1 - final[i]!))) };
  const steps = options.steps ?? 16;
  const found = new Map<string, { policy: ExitPolicy; cost: number }>();
  for (let j = 1; j <= steps; j++) {
    const candidate = searchPolicy(base, lossProblem, sign, dropCriterion(lossProblem, (options.maxDropPp * j) / steps));
    const m = exitMetrics(simulate(candidate, tuneOut).exitIndex, problem.correct, costs);
    if (m.exitFractions[m.exitFractions.length - 1]! < 1) found.set(JSON.stringify(candidate.toJSON()), { policy: candidate, cost: m.expectedCost });
  }
  const candidates = [...found.values()].sort((a, b) => b.cost - a.cost).map((c) => c.policy);
  const certification = certifyPolicies(candidates, certOut, certLabels, options);
  const result: CertifiedTuning = { ...certification, candidates, tuneSamples: tuneIdx.length, certifySamples: certIdx.length };
  if (certification.policy !== null) {
    const certCorrect = certOut.logits.map((l) => Uint8Array.from(argmaxRows(l, certOut.classes), (p, i) => (p === certLabels[i] ? 1 : 0)));
    result.metrics = exitMetrics(simulate(certification.policy, certOut).exitIndex, certCorrect, costs);
  }
  return result;
}
