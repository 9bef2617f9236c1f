/**
 * One row of logits turned into the quantities every policy and metric reads: tempered softmax
 * probabilities, top-1/top-2, normalised entropy. Computed in float64 with the max subtracted,
 * so logits of ±1e4 neither overflow nor lose the runner-up.
 */

/** What a policy or metric needs to know about one sample at one exit. */
export interface RowSummary {
  /** Predicted class (ties → lowest index). */
  argmax: number;
  /** Largest probability. */
  pMax: number;
  /** Second largest probability (0 with one class). */
  pSecond: number;
  /** Shannon entropy divided by log(classes): 0 = one-hot, 1 = uniform. */
  entropy: number;
  /** The tempered softmax, valid until the next `read` (a reused scratch buffer). */
  probs: Float64Array;
  /** log-sum-exp of the tempered logits (for the NLL: −log p_y = lse − z_y / T). */
  logSumExp: number;
}

/** Reads rows of `[n, classes]` logits into a reused {@link RowSummary} (no allocation per row). */
export class RowReader {
  readonly classes: number;
  private readonly row: RowSummary;
  private readonly logClasses: number;

  constructor(classes: number) {
    this.classes = classes;
    this.logClasses = Math.log(classes);
    this.row = { argmax: 0, pMax: 0, pSecond: 0, entropy: 0, probs: new Float64Array(classes), logSumExp: 0 };
  }

  /** Summarises `logits[offset .. offset + classes)` divided by `temperature`. */
  read(logits: ArrayLike<number>, offset: number, temperature = 1): RowSummary {
    const { classes, row } = this;
    const p = row.probs;
    let best = 0;
    for (let j = 1; j < classes; j++) if (logits[offset + j]! > logits[offset + best]!) best = j;
    const max = logits[offset + best]! / temperature;
    let sum = 0;
    let weighted = 0; // Σ e^(z_j − max) · (z_j − max), for the entropy without a second pass of logs
    for (let j = 0; j < classes; j++) {
      const shifted = logits[offset + j]! / temperature - max;
      const e = Math.exp(shifted);
      p[j] = e;
      sum += e;
      weighted += e * shifted;
    }
    let second = 0;
    for (let j = 0; j < classes; j++) {
      p[j]! /= sum;
      if (j !== best && p[j]! > second) second = p[j]!;
    }
    const logSum = Math.log(sum);
    // H = −Σ p_j log p_j with log p_j = shifted_j − log Σ: H = log Σ − Σ p_j shifted_j.
    const entropy = Math.max(0, logSum - weighted / sum);
    row.argmax = best;
    row.pMax = p[best]!;
    row.pSecond = second;
    row.entropy = Math.min(1, entropy / this.logClasses);
    row.logSumExp = logSum + max;
    return row;
  }
}
