/**
 * Tuning a bundle on its validation split: per-exit temperatures, the policy (fitted when its
 * kind learns from data), thresholds for an explicit target — optionally certified with
 * Learn-then-Test — and writing the result into the bundle's manifest. Pure computation on
 * recorded outputs except {@link writeTuning}; `exitwise tune` collects the outputs and calls both.
 */
import { updateManifest } from '../bundle/io.ts';
import { calibrateExits } from '../exits/calibration.ts';
import { reliability } from '../exits/metrics.ts';
import { policyError, type ExitOutputs } from '../exits/outputs.ts';
import type { ExitPolicy, PolicyKind } from '../exits/policies/policy.ts';
import { fitPolicy } from '../exits/policies/registry.ts';
import { tuneCertified } from '../exits/tuning/guarantee.ts';
import type { TuningTarget } from '../exits/tuning/objectives.ts';
import { tuneThresholds } from '../exits/tuning/tune.ts';
import type { BundleManifest } from '../schemas/bundle.ts';
import type { LatencyProfile } from '../schemas/profile.ts';
import type { PolicyJson } from '../schemas/policy.ts';
import { adaptiveFigures, type AdaptiveFigures } from './adaptive.ts';
import { bundleCosts, checkOutputsFit } from './exit-analysis.ts';
import { latencyCosts, profileName } from './profile.ts';

/**
 * The policy tuned when none is named. Measured on the real 4-exit Fashion-MNIST fixture
 * (test/fixtures/exits), calibrated, tuned on val and scored on test: max-softmax needs the
 * fewest FLOPs at 0.5, 1 and 2 pp drop targets (0.28, 0.22, 0.18 of the network; learned is
 * within ±0.01, margin, entropy, class-means and patience cost more) and ties for the best accuracy
 * under FLOPs budgets — and it has nothing to fit, so nothing to overfit on a small val split.
 */
export const DEFAULT_TUNE_POLICY: PolicyKind = 'max-softmax';

/** Learn-then-Test holds out half of val to certify on (tuneCertified's default, kept explicit here). */
export const DEFAULT_CERTIFY_FRACTION = 0.5;

/** What to tune for. FLOPs budgets ≤ 1 are fractions of the full model (the backbone alone); larger ones are FLOPs per sample. */
export type BundleTarget =
  | { kind: 'accuracy-drop'; maxDropPp: number }
  | { kind: 'flops-budget'; flops: number }
  | { kind: 'latency-budget'; msPerSample: number };

/** Options of {@link tuneBundlePolicy}. */
export interface BundleTuneOptions {
  target: BundleTarget;
  /** Default {@link DEFAULT_TUNE_POLICY}. */
  policy?: PolicyKind;
  /** Certify the accuracy drop with probability ≥ 1 − delta (accuracy-drop targets only). */
  delta?: number;
  /** Segment times, required by latency budgets; adds `expectedMs` to the figures otherwise. */
  latency?: LatencyProfile;
  /** Seed of the tune/certify split of val (default 0). */
  seed?: number;
}

/** The outcome of a Learn-then-Test tuning. */
export interface CertificationSummary {
  delta: number;
  maxDropPp: number;
  certified: boolean;
  /** Why nothing could be certified. */
  reason?: string;
  tuneSamples: number;
  certifySamples: number;
  /** Candidate policies tested, conservative first. */
  candidates: number;
  /** Losses (early exit wrong, final right) of the certified policy on the certification part. */
  losses?: number;
  /** The (1 − δ) upper bound on its accuracy drop, in percentage points. */
  upperBoundPp?: number;
}

/** A tuned bundle policy and how it does on the validation split. */
export interface BundleTuning {
  /** False when the target cannot be met (or certified); `reason` says why. */
  feasible: boolean;
  reason?: string;
  /** The tuned policy (temperatures included); for an infeasible target the closest found, or null when there is none. */
  policy: PolicyJson | null;
  /** Per-exit temperatures the policy uses, to be written into the manifest. */
  temperatures: number[];
  /** ECE on all validation samples before and after those temperatures. */
  calibration: { exit: number; temperature: number; eceBefore: number; eceAfter: number }[];
  /** The target in absolute units. */
  target: TuningTarget;
  /** The policy's figures on all validation samples (null when there is no policy). */
  val: AdaptiveFigures | null;
  certification?: CertificationSummary;
  /** The latency profile's name, when one was used. */
  profile?: string;
}

/**
 * Tunes a policy for `manifest`'s bundle on its validation outputs (from `collectExitOutputs` on
 * `bundleSplitData(manifest, dataset, 'val')` — never the test split). Without `delta`:
 * temperatures are fitted on all of val, the policy fitted with them, thresholds tuned for the
 * target. With `delta` (drop targets only): Learn-then-Test — temperatures, policy and candidate
 * thresholds come from one part of val, and the certified policy's drop is ≤ maxDropPp on new
 * data with probability ≥ 1 − delta. Infeasible or uncertifiable targets return `feasible: false`.
 *
 * @example
 * const tuning = tuneBundlePolicy(manifest, outputs, labels, { target: { kind: 'accuracy-drop', maxDropPp: 1 } });
 * if (tuning.feasible) writeTuning('fashion.exitwise', tuning);
 */
export function tuneBundlePolicy(manifest: BundleManifest, outputs: ExitOutputs, labels: Int32Array, options: BundleTuneOptions): BundleTuning {
  checkOutputsFit(outputs, manifest);
  const kind = options.policy ?? DEFAULT_TUNE_POLICY;
  const costs = bundleCosts(manifest);
  const latencyMs = options.latency === undefined ? undefined : latencyCosts(options.latency);
  if (options.latency !== undefined && latencyMs!.length !== outputs.logits.length) {
    throw policyError(`the latency profile has ${latencyMs!.length} segments, the bundle ${outputs.logits.length} exits`, 'profile this bundle (profileBundle)');
  }
  const target = absoluteTarget(options.target, costs.fullModelFlops);
  if (target.kind === 'latency-budget' && options.latency === undefined) {
    throw policyError('a latency budget needs a latency profile of the bundle', 'measure one with profileBundle (exitwise tune does it when the bundle has none)');
  }
  const figureCosts = { ...costs, ...(latencyMs === undefined ? {} : { latencyMs }) };
  const fit = (o: ExitOutputs, l: Int32Array): ExitPolicy => fitPolicy(kind, o, l, { temperatures: calibrateExits(o, l).calibration.temperatures });
  const base: Omit<BundleTuning, 'feasible' | 'policy' | 'temperatures' | 'calibration' | 'val'> = {
    target, ...(options.latency === undefined ? {} : { profile: profileName(options.latency) }),
  };
  const result = (policy: ExitPolicy | null, feasible: boolean, reason?: string, certification?: CertificationSummary): BundleTuning => {
    const temperatures = policy === null ? new Array<number>(outputs.logits.length).fill(1) : [...policy.temperatures];
    return {
      feasible, ...(reason === undefined ? {} : { reason }), policy: policy?.toJSON() ?? null, temperatures,
      calibration: calibrationFigures(outputs, labels, temperatures), ...base,
      val: policy === null ? null : adaptiveFigures(policy, outputs, labels, figureCosts),
      ...(certification === undefined ? {} : { certification }),
    };
  };

  if (options.delta !== undefined) {
    if (target.kind !== 'accuracy-drop') {
      throw policyError(`--delta certifies an accuracy drop, not a ${target.kind}`, 'use --delta with --max-drop, or drop --delta');
    }
    const c = tuneCertified(fit, outputs, labels, { maxDropPp: target.maxDropPp, delta: options.delta, costs: { flops: costs.cumulativeFlops }, certifyFraction: DEFAULT_CERTIFY_FRACTION, seed: options.seed ?? 0 });
    const summary: CertificationSummary = {
      delta: options.delta, maxDropPp: target.maxDropPp, certified: c.policy !== null,
      tuneSamples: c.tuneSamples, certifySamples: c.certifySamples, candidates: c.candidates.length,
    };
    if (c.policy === null) {
      summary.reason = c.reason ?? 'no candidate could be certified';
      return result(null, false, `cannot certify an accuracy drop ≤ ${target.maxDropPp} pp with probability ≥ ${1 - options.delta}: ${summary.reason}`, summary);
    }
    const test = c.tests[c.index]!;
    summary.losses = test.losses;
    summary.upperBoundPp = test.upperBound * 100;
    return result(c.policy, true, undefined, summary);
  }
  const tuned = tuneThresholds(fit(outputs, labels), outputs, labels, { target, costs: { flops: costs.cumulativeFlops, ...(latencyMs === undefined ? {} : { latencyMs }) } });
  return result(tuned.policy, tuned.feasible, tuned.reason);
}

/**
 * Writes a feasible tuning into the bundle's manifest (atomically): each exit's temperature, the
 * policy, and the latency profile it used when given. `EXW_POLICY` for an infeasible tuning.
 */
export function writeTuning(dir: string, tuning: BundleTuning, options: { profile?: LatencyProfile } = {}): BundleManifest {
  const policy = tuning.policy;
  if (!tuning.feasible || policy === null) throw policyError(`refusing to write a tuning that misses its target: ${tuning.reason ?? 'no policy'}`, 'loosen the target, or tune another policy');
  return updateManifest(dir, (m) => ({
    ...m,
    exits: m.exits.map((e, k) => ({ ...e, temperature: tuning.temperatures[k]! })),
    policy,
    ...(options.profile === undefined ? {} : { profiles: { ...m.profiles, [profileName(options.profile)]: options.profile } }),
  }));
}

/** The target in the units tuneThresholds takes: FLOPs budgets ≤ 1 scale the full model's FLOPs. */
export function absoluteTarget(target: BundleTarget, fullModelFlops: number): TuningTarget {
  switch (target.kind) {
    case 'accuracy-drop': return { kind: 'accuracy-drop', maxDropPp: target.maxDropPp, minimise: 'flops' };
    // A fraction is rounded down to whole FLOPs: stricter by under one FLOP, and printable.
    case 'flops-budget': return { kind: 'flops-budget', flopsPerSample: target.flops <= 1 ? Math.floor(target.flops * fullModelFlops) : target.flops };
    case 'latency-budget': return { kind: 'latency-budget', msPerSample: target.msPerSample };
  }
}

function calibrationFigures(outputs: ExitOutputs, labels: Int32Array, temperatures: readonly number[]): BundleTuning['calibration'] {
  return outputs.logits.map((logits, exit) => {
    const temperature = temperatures[exit]!;
    return {
      exit, temperature,
      eceBefore: reliability(logits, labels, outputs.classes).ece,
      eceAfter: reliability(logits, labels, outputs.classes, { temperature }).ece,
    };
  });
}
