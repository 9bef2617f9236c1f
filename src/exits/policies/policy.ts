/**
 * Exit policies: the rule that decides, sample by sample, whether a multi-exit network stops at
 * exit k or runs on. This file is the public contract; the kinds live one per file and are
 * registered by `kind` in registry.ts.
 *
 * Semantics every policy keeps:
 * - Exits are decided in order 0, 1, …, K−1, each seeing only the outputs of exits 0..k.
 * - The final exit (K−1) always stops: a policy never sends a sample past the last head.
 * - Logits are divided by the exit's temperature before any softmax (calibration, see
 *   calibration.ts); a temperature never changes the predicted class.
 * - A threshold of `null` disables that exit explicitly; nothing disables one silently
 *   (thresholds are validated against the range their score can take).
 * - A policy is a value: `toJSON()` gives `{kind, exits, …}` and `policyFromJson` restores an
 *   equal policy, which is how bundles store it.
 *
 * @example
 * import { policyFromJson } from './registry.ts';
 * const policy = policyFromJson({ kind: 'max-softmax', exits: 3, thresholds: [0.9, 0.8] });
 * const state = policy.createState(2);
 * const exit0 = new Float32Array([5, 0, 0.1, 0]);      // [2 samples, 2 classes]
 * const d = policy.decideBatch(0, exit0, state);        // d.exit = [1, 0]: sample 0 stops
 * const next = state.remaining(d.exit);                  // state of sample 1, for exit 1
 */
import type { ExitOutputs } from '../outputs.ts';
import type { PolicyJson } from '../../schemas/policy.ts';
import type { ExitState } from './state.ts';

export type { PolicyJson } from '../../schemas/policy.ts';
export type { ExitState } from './state.ts';

/** The registered policy kinds. */
export type PolicyKind = PolicyJson['kind'];

/** What a policy says about a batch of samples at one exit. Arrays have one entry per sample. */
export interface ExitDecision {
  /** 1: the sample stops here; 0: it goes on. Always all 1 at the final exit. */
  exit: Uint8Array;
  /** The policy's score in its own units (max probability, normalised entropy, streak, …). */
  score: Float32Array;
  /** Tempered max softmax probability: a confidence comparable across policies. */
  confidence: Float32Array;
  /** Predicted class at this exit. */
  prediction: Int32Array;
}

/** An exit policy (see the file comment for the semantics every kind keeps). */
export interface ExitPolicy {
  readonly kind: PolicyKind;
  /** Number of exits K, final exit included. */
  readonly exits: number;
  /** Softmax temperature per exit (length K); 1 = uncalibrated. */
  readonly temperatures: readonly number[];
  /**
   * Whether a sample exits when its score is at least the threshold (confidences) or at most
   * (uncertainties such as entropy or distance).
   */
  readonly direction: 'at-least' | 'at-most';

  /** Fresh per-sample state for `batch` samples about to reach exit 0. */
  createState(batch: number): ExitState;

  /**
   * Decides exit `exit` for the samples still running. `logits` is `[m, classes]` for the m
   * samples of `state` (in the same order); `state` is updated in place. Afterwards, keep the
   * rows with `exit[i] === 0` and `state.remaining(exit)` for the next exit.
   */
  decideBatch(exit: number, logits: Float32Array, state: ExitState): ExitDecision;

  /**
   * Every sample's score at every exit, as if none had stopped: `[K][samples]`. Decisions are
   * `score` compared with the exit's threshold in `direction`; tuning works on these.
   */
  scores(outputs: ExitOutputs): Float64Array[];

  /** The threshold exit k compares scores with (`null`: exit k never stops a sample). k < K−1. */
  thresholdAt(exit: number): number | null;

  /** The JSON form, restored by `policyFromJson`. */
  toJSON(): PolicyJson;
}

/** A policy with one free threshold per non-final exit (all kinds except patience). */
export interface ThresholdPolicy extends ExitPolicy {
  /** Per non-final exit (length K−1), in the score's own units; `null` disables that exit. */
  readonly thresholds: readonly (number | null)[];
  /** The same policy with other thresholds (validated like the JSON form). */
  withThresholds(thresholds: readonly (number | null)[]): ThresholdPolicy;
}

/** Patience (Zhou et al. 2020, PABEE): stop once `patience` consecutive exits agree. */
export interface PatiencePolicy extends ExitPolicy {
  readonly kind: 'patience';
  readonly patience: number;
  withPatience(patience: number): PatiencePolicy;
}

/** True for policies with per-exit thresholds. */
export function isThresholdPolicy(policy: ExitPolicy): policy is ThresholdPolicy {
  return 'thresholds' in policy && 'withThresholds' in policy;
}
