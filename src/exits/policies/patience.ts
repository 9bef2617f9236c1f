/**
 * Patience (Zhou et al. 2020, "BERT Loses Patience"): stop once the predicted class has stayed
 * the same for `patience` consecutive exits. One integer for all exits, not a threshold per exit;
 * the score is the current streak of agreeing exits (1 at exit 0).
 */
import type { PatiencePolicyJson } from '../../schemas/policy.ts';
import { policyError } from '../outputs.ts';
import type { RowSummary } from '../softmax.ts';
import { BasePolicy } from './base.ts';
import type { PatiencePolicy as PatiencePolicyApi } from './policy.ts';

export class PatiencePolicy extends BasePolicy implements PatiencePolicyApi {
  readonly kind = 'patience';
  readonly direction = 'at-least';
  readonly patience: number;

  constructor(json: Omit<PatiencePolicyJson, 'kind'>) {
    super(json);
    // A streak of p first happens at exit p−1, so p ≥ K would never stop a sample early.
    const max = Math.max(1, json.exits - 1);
    if (!(Number.isInteger(json.patience) && json.patience >= 1 && json.patience <= max)) {
      throw policyError(
        `patience ${json.patience} with ${json.exits} exits ${json.patience > max ? 'never stops a sample before the final exit' : 'is not a positive integer'}`,
        `use an integer in [1, ${max}]`,
      );
    }
    this.patience = json.patience;
  }

  protected score(_exit: number, _row: RowSummary, _previous: number, streak: number): number {
    return streak;
  }

  thresholdAt(): number {
    return this.patience;
  }

  withPatience(patience: number): PatiencePolicy {
    return new PatiencePolicy({ ...this.commonJson(), patience });
  }

  toJSON(): PatiencePolicyJson {
    return { kind: this.kind, ...this.commonJson(), patience: this.patience };
  }
}
