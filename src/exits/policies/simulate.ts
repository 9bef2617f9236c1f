/**
 * Runs a policy over recorded exit outputs exactly as the runtime would on a live batch: decide
 * exit 0 for everyone, keep the samples that did not stop (order kept), decide exit 1 for those,
 * and so on. Used to evaluate policies and to check the tuner's fast score-based evaluation.
 */
import { policyError, type ExitOutputs } from '../outputs.ts';
import type { ExitPolicy } from './policy.ts';

/** Where each sample stopped and what it predicted there. Arrays are `[samples]`. */
export interface Simulation {
  /** The exit each sample stopped at (the final exit for those no earlier exit stopped). */
  exitIndex: Int32Array;
  /** Prediction at that exit. */
  prediction: Int32Array;
  /** Tempered max softmax probability at that exit. */
  confidence: Float32Array;
  /** The policy's score at that exit. */
  score: Float32Array;
}

/** Simulates adaptive inference of `policy` on `outputs` with batch compaction. */
export function simulate(policy: ExitPolicy, outputs: ExitOutputs): Simulation {
  if (outputs.logits.length !== policy.exits) {
    throw policyError(`outputs have ${outputs.logits.length} exits, the policy ${policy.exits}`, 'use a policy made for this network');
  }
  const n = outputs.samples;
  const c = outputs.classes;
  const result: Simulation = { exitIndex: new Int32Array(n), prediction: new Int32Array(n), confidence: new Float32Array(n), score: new Float32Array(n) };
  let active = Int32Array.from({ length: n }, (_, i) => i); // original indices of running samples
  let state = policy.createState(n);
  for (let k = 0; k < policy.exits && active.length > 0; k++) {
    const batch = new Float32Array(active.length * c); // [m, classes]: the running samples only
    active.forEach((i, r) => batch.set(outputs.logits[k]!.subarray(i * c, i * c + c), r * c));
    const d = policy.decideBatch(k, batch, state);
    const next: number[] = [];
    active.forEach((i, r) => {
      if (d.exit[r] === 0) return void next.push(i);
      result.exitIndex[i] = k;
      result.prediction[i] = d.prediction[r]!;
      result.confidence[i] = d.confidence[r]!;
      result.score[i] = d.score[r]!;
    });
    state = state.remaining(d.exit);
    active = Int32Array.from(next);
  }
  return result;
}
