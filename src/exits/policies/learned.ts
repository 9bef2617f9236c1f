/**
 * Learned policy: at each non-final exit, a logistic regression on the exit's own outputs
 * predicts P(this exit's prediction is correct); the sample stops when that reaches τ_k.
 * Features (all in [0, 1]): max probability, margin p1 − p2, normalised entropy, and whether the
 * prediction agrees with the previous exit's (0 at exit 0, where the bias absorbs it). Fitted on
 * validation outputs and labels with {@link fitLogistic}.
 */
import type { LearnedPolicyJson } from '../../schemas/policy.ts';
import { checkLabels, policyError, type ExitOutputs } from '../outputs.ts';
import { RowReader, type RowSummary } from '../softmax.ts';
import { ThresholdBase } from './base.ts';
import { defaultThresholds } from './defaults.ts';
import { fitLogistic, sigmoid } from './logistic.ts';
import { ExitState } from './state.ts';

/** bias, p_max, margin, entropy, agrees-with-previous. */
const FEATURES = 5;

export class LearnedPolicy extends ThresholdBase {
  readonly kind = 'learned';
  readonly direction = 'at-least';
  private readonly weights: readonly Float64Array[];
  private readonly features = new Float64Array(FEATURES); // scratch for score()

  constructor(json: Omit<LearnedPolicyJson, 'kind'>) {
    super(json, { min: 0, max: 1 });
    if (json.weights.length !== json.exits - 1 || json.weights.some((w) => w.length !== FEATURES || w.some((v) => !Number.isFinite(v)))) {
      throw policyError(`learned needs ${json.exits - 1} finite weight vectors of ${FEATURES}`, 'weights[k] = [bias, p_max, margin, entropy, agrees]; fit with fitPolicy');
    }
    this.weights = json.weights.map((w) => Float64Array.from(w));
  }

  /** Fits one logistic model per non-final exit on validation outputs (deterministic). */
  static fit(outputs: ExitOutputs, labels: Int32Array, options: { temperatures?: number[]; thresholds?: (number | null)[] } = {}): LearnedPolicy {
    checkLabels(outputs, labels);
    const exits = outputs.logits.length;
    const n = outputs.samples;
    const temperatures = options.temperatures ?? new Array<number>(exits).fill(1);
    const reader = new RowReader(outputs.classes);
    const state = ExitState.create(n);
    const weights: number[][] = [];
    for (let k = 0; k < exits - 1; k++) {
      const x = new Float64Array(n * FEATURES);
      const correct = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        const row = reader.read(outputs.logits[k]!, i * outputs.classes, temperatures[k] ?? 1);
        writeFeatures(x, i * FEATURES, row, state.previous[i]!);
        state.observe(i, row.argmax);
        correct[i] = row.argmax === labels[i] ? 1 : 0;
      }
      weights.push(Array.from(fitLogistic(x, correct, FEATURES)));
    }
    return new LearnedPolicy({ exits, temperatures, thresholds: options.thresholds ?? defaultThresholds('learned', exits), weights });
  }

  protected score(exit: number, row: RowSummary, previous: number): number {
    const w = this.weights[exit];
    if (w === undefined) return 1; // the final exit always stops
    const x = this.features;
    writeFeatures(x, 0, row, previous);
    let z = 0;
    for (let a = 0; a < FEATURES; a++) z += w[a]! * x[a]!;
    return sigmoid(z);
  }

  withThresholds(thresholds: readonly (number | null)[]): LearnedPolicy {
    return new LearnedPolicy({ ...this.toJSON(), thresholds: [...thresholds] });
  }

  toJSON(): LearnedPolicyJson {
    return { kind: this.kind, ...this.commonJson(), thresholds: [...this.thresholds], weights: this.weights.map((w) => Array.from(w)) };
  }
}

function writeFeatures(x: Float64Array, off: number, row: RowSummary, previous: number): void {
  x[off] = 1;
  x[off + 1] = row.pMax;
  x[off + 2] = row.pMax - row.pSecond;
  x[off + 3] = row.entropy;
  x[off + 4] = previous === row.argmax ? 1 : 0;
}
