/** Margin: stop at exit k when the top-1 minus top-2 probability, p1 − p2, is ≥ τ_k. */
import type { MarginPolicyJson } from '../../schemas/policy.ts';
import type { RowSummary } from '../softmax.ts';
import { ThresholdBase } from './base.ts';

export class MarginPolicy extends ThresholdBase {
  readonly kind = 'margin';
  readonly direction = 'at-least';

  constructor(json: Omit<MarginPolicyJson, 'kind'>) {
    super(json, { min: 0, max: 1 });
  }

  protected score(_exit: number, row: RowSummary): number {
    return row.pMax - row.pSecond;
  }

  withThresholds(thresholds: readonly (number | null)[]): MarginPolicy {
    return new MarginPolicy({ ...this.commonJson(), thresholds: [...thresholds] });
  }

  toJSON(): MarginPolicyJson {
    return { kind: this.kind, ...this.commonJson(), thresholds: [...this.thresholds] };
  }
}
