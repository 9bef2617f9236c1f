/** Max-softmax (BranchyNet-style confidence): stop at exit k when max_j p_j ≥ τ_k. */
import type { MaxSoftmaxPolicyJson } from '../../schemas/policy.ts';
import type { RowSummary } from '../softmax.ts';
import { ThresholdBase } from './base.ts';

export class MaxSoftmaxPolicy extends ThresholdBase {
  readonly kind = 'max-softmax';
  readonly direction = 'at-least';

  constructor(json: Omit<MaxSoftmaxPolicyJson, 'kind'>) {
    super(json, { min: 0, max: 1 });
  }

  protected score(_exit: number, row: RowSummary): number {
    return row.pMax;
  }

  withThresholds(thresholds: readonly (number | null)[]): MaxSoftmaxPolicy {
    return new MaxSoftmaxPolicy({ ...this.commonJson(), thresholds: [...thresholds] });
  }

  toJSON(): MaxSoftmaxPolicyJson {
    return { kind: this.kind, ...this.commonJson(), thresholds: [...this.thresholds] };
  }
}
