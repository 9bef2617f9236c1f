/**
 * Entropy: stop at exit k when H(p) / log(C) ≤ τ_k. Normalising by log C puts every exit and
 * every class count on [0, 1] (0 = one-hot, 1 = uniform), so a threshold means the same thing on
 * 10 classes and 1000, and a value meant for nats cannot slip in unnoticed (> 1 is refused).
 */
import type { EntropyPolicyJson } from '../../schemas/policy.ts';
import type { RowSummary } from '../softmax.ts';
import { ThresholdBase } from './base.ts';

export class EntropyPolicy extends ThresholdBase {
  readonly kind = 'entropy';
  readonly direction = 'at-most';

  constructor(json: Omit<EntropyPolicyJson, 'kind'>) {
    super(json, { min: 0, max: 1 });
  }

  protected score(_exit: number, row: RowSummary): number {
    return row.entropy;
  }

  withThresholds(thresholds: readonly (number | null)[]): EntropyPolicy {
    return new EntropyPolicy({ ...this.commonJson(), thresholds: [...thresholds] });
  }

  toJSON(): EntropyPolicyJson {
    return { kind: this.kind, ...this.commonJson(), thresholds: [...this.thresholds] };
  }
}
