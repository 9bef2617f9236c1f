/**
 * An exit policy as the walk's chooser: `decideBatch` on the running inputs, with the policy's
 * per-input state compacted exactly like the batch, which is what `simulate` does on recorded
 * logits; the two must agree decision for decision.
 */
import { policyError } from '../../exits/outputs.ts';
import type { ExitPolicy, ExitState, PolicyKind } from '../../exits/policies/policy.ts';
import type { Chooser, ExitChoice } from './walk.ts';

/**
 * Kinds whose decision at exit k reads only exit k's logits, never the state left by earlier
 * exits (patience counts a streak, learned compares with the previous prediction). For these an
 * exit with a `null` threshold can skip its head: nobody can stop there and nothing later needs
 * it. A new kind is treated as stateful until listed here.
 */
const MEMORYLESS: ReadonlySet<PolicyKind> = new Set<PolicyKind>(['max-softmax', 'entropy', 'margin', 'class-means']);

export class PolicyChooser implements Chooser {
  readonly #policy: ExitPolicy;
  readonly #skipDisabled: boolean;
  #state: ExitState;

  /** `skipDisabled`: let exits the policy disables go unrun (run: yes; anytime: no, every exit refines). */
  constructor(policy: ExitPolicy, count: number, options: { skipDisabled: boolean }) {
    this.#policy = policy;
    this.#state = policy.createState(count);
    this.#skipDisabled = options.skipDisabled;
  }

  needsExit(k: number): boolean {
    return !(this.#skipDisabled && canSkip(this.#policy, k));
  }

  skipped(k: number): void {
    if (this.#state.nextExit !== k) throw new Error(`internal: skipping exit ${k} with the policy state at exit ${this.#state.nextExit}`);
    this.#state.nextExit++;
  }

  choose(k: number, logits: Float32Array): ExitChoice {
    const d = this.#policy.decideBatch(k, logits, this.#state);
    let stopped = 0;
    for (let i = 0; i < d.exit.length; i++) stopped += d.exit[i]!;
    // Nothing stopped: the state of the same inputs goes on as it is.
    if (stopped > 0) this.#state = this.#state.remaining(d.exit);
    return { stop: d.exit, prediction: d.prediction, confidence: d.confidence };
  }
}

/** Whether exit k (not the final one) can never stop an input under `policy` and nothing later reads it. */
export function canSkip(policy: ExitPolicy, k: number): boolean {
  return k < policy.exits - 1 && MEMORYLESS.has(policy.kind) && policy.thresholdAt(k) === null;
}

/** Checks that a policy fits a bundle of `levels` exits (`EXW_POLICY` otherwise). */
export function checkPolicy(policy: ExitPolicy, levels: number): void {
  if (policy.exits !== levels) {
    throw policyError(`the ${policy.kind} policy is for ${policy.exits} exits, the bundle has ${levels}`, 'tune or fit the policy for this bundle');
  }
}
