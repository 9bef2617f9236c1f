/**
 * Class means (after Görmez et al. 2022, "E2CM: Early Exit via Class Means"): at each exit,
 * the mean tempered probability vector of the validation samples of each class is fitted once;
 * a sample stops at exit k when its probability vector lies within τ_k of the mean of the class
 * it predicts there. Distances are divided by the exit's median validation distance, so
 * thresholds read the same at every exit (1 = as close as the median validation sample).
 */
import type { ClassMeansPolicyJson } from '../../schemas/policy.ts';
import { checkLabels, policyError, type ExitOutputs } from '../outputs.ts';
import { RowReader, type RowSummary } from '../softmax.ts';
import { ThresholdBase } from './base.ts';
import { defaultThresholds } from './defaults.ts';

export class ClassMeansPolicy extends ThresholdBase {
  readonly kind = 'class-means';
  readonly direction = 'at-most';
  /** `means[k]`: `[classes, classes]`, row c = mean probability vector of class c at exit k (k < K−1). */
  private readonly means: readonly Float64Array[];
  private readonly scales: readonly number[];
  private readonly classes: number;

  constructor(json: Omit<ClassMeansPolicyJson, 'kind'>) {
    super(json, { min: 0, max: Number.MAX_VALUE });
    const decisive = json.exits - 1;
    if (json.means.length !== decisive || json.scales.length !== decisive) {
      throw policyError(`class-means needs means and scales for ${decisive} non-final exits, got ${json.means.length} and ${json.scales.length}`, 'fit the policy with fitPolicy on validation outputs');
    }
    this.classes = json.means[0]?.length ?? 0;
    this.means = json.means.map((m, k) => {
      if (m.length !== this.classes || m.some((row) => row.length !== this.classes || row.some((v) => !Number.isFinite(v)))) {
        throw policyError(`class means of exit ${k} are not a finite ${this.classes}×${this.classes} matrix`, 'means[k][c] is the mean probability vector of class c');
      }
      return Float64Array.from(m.flat());
    });
    this.scales = [...json.scales];
  }

  /** Fits class means and distance scales on validation outputs; thresholds default to {@link defaultThresholds}. */
  static fit(outputs: ExitOutputs, labels: Int32Array, options: { temperatures?: number[]; thresholds?: (number | null)[] } = {}): ClassMeansPolicy {
    checkLabels(outputs, labels);
    const exits = outputs.logits.length;
    const c = outputs.classes;
    const temperatures = options.temperatures ?? new Array<number>(exits).fill(1);
    const reader = new RowReader(c);
    const means: number[][][] = [];
    const scales: number[] = [];
    for (let k = 0; k < exits - 1; k++) {
      const t = temperatures[k] ?? 1;
      const sum = new Float64Array(c * c);
      const count = new Float64Array(c);
      for (let i = 0; i < outputs.samples; i++) {
        const p = reader.read(outputs.logits[k]!, i * c, t).probs;
        const y = labels[i]!;
        count[y]! += 1;
        for (let j = 0; j < c; j++) sum[y * c + j]! += p[j]!;
      }
      // A class absent from validation gets its one-hot vertex: the point a confident prediction approaches.
      const mean = Array.from({ length: c }, (_, y) => Array.from({ length: c }, (_, j) => (count[y]! > 0 ? sum[y * c + j]! / count[y]! : j === y ? 1 : 0)));
      const flat = Float64Array.from(mean.flat());
      const distances = Float64Array.from({ length: outputs.samples }, (_, i) => distance(reader.read(outputs.logits[k]!, i * c, t), flat, c));
      distances.sort();
      const median = distances.length > 0 ? distances[Math.floor((distances.length - 1) / 2)]! : 0;
      means.push(mean);
      scales.push(median > 1e-12 ? median : 1); // all samples on their means: any unit works
    }
    return new ClassMeansPolicy({ exits, temperatures, thresholds: options.thresholds ?? defaultThresholds('class-means', exits), means, scales });
  }

  protected override checkClasses(classes: number): void {
    super.checkClasses(classes);
    if (this.exits > 1 && classes !== this.classes) {
      throw policyError(`class-means was fitted for ${this.classes} classes, the logits have ${classes}`, 'fit the policy on outputs of the same network');
    }
  }

  protected score(exit: number, row: RowSummary): number {
    if (exit === this.exits - 1) return 0; // the final exit always stops; nothing to measure against
    return distance(row, this.means[exit]!, this.classes) / this.scales[exit]!;
  }

  withThresholds(thresholds: readonly (number | null)[]): ClassMeansPolicy {
    return new ClassMeansPolicy({ ...this.toJSON(), thresholds: [...thresholds] });
  }

  toJSON(): ClassMeansPolicyJson {
    const c = this.classes;
    const means = this.means.map((m) => Array.from({ length: c }, (_, y) => Array.from(m.subarray(y * c, y * c + c))));
    return { kind: this.kind, ...this.commonJson(), thresholds: [...this.thresholds], means, scales: [...this.scales] };
  }
}

/** Euclidean distance between the row's probabilities and the mean of its predicted class. */
function distance(row: RowSummary, means: Float64Array, classes: number): number {
  const off = row.argmax * classes;
  let sq = 0;
  for (let j = 0; j < classes; j++) sq += (row.probs[j]! - means[off + j]!) ** 2;
  return Math.sqrt(sq);
}
