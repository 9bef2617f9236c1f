/**
 * Default thresholds, in one place. They are starting points for `tuneThresholds`, not tuned
 * values, but they must never disable exiting on realistic data (a known failure of one popular
 * default: an entropy threshold meant for nats applied to a different scale exits nothing).
 * test/exits/policies-defaults.test.ts checks that each lets samples stop early on the logits of
 * a real trained network. All are "about as strict as a max-softmax of 0.9 on 10 classes".
 */
import type { PolicyKind } from './policy.ts';

export const DEFAULT_THRESHOLD: Readonly<Record<Exclude<PolicyKind, 'patience'>, number>> = {
  /** The usual choice in the early-exit literature (BranchyNet-style confidence cut). */
  'max-softmax': 0.9,
  /** Normalised entropy of p = (0.9, 0.1/9, …) on 10 classes is 0.24: the max-softmax default's equivalent. */
  entropy: 0.25,
  /** p1 − p2 ≥ 0.8 holds whenever p_max ≥ 0.9: slightly more permissive than max-softmax 0.9. */
  margin: 0.8,
  /** In units of the exit's median validation distance: stop when closer than half the median sample. */
  'class-means': 0.5,
  /** Stop when the learned probability that this exit is right reaches 0.9. */
  learned: 0.9,
};

/** Two agreeing exits: the smallest patience that uses agreement at all (1 = always stop at exit 0). */
export const DEFAULT_PATIENCE = 2;

/** K−1 copies of the default threshold of `kind` (the final exit needs none). */
export function defaultThresholds(kind: Exclude<PolicyKind, 'patience'>, exits: number): number[] {
  return new Array<number>(Math.max(0, exits - 1)).fill(DEFAULT_THRESHOLD[kind]);
}
