/** Scattering the walk's steps (compacted rows) back into per-input results, in input order. */
import type { AdaptiveResult } from './types.ts';
import type { Step } from './walk.ts';

/** Per-input answers being filled in as steps arrive. */
export class ResultCollector {
  readonly result: AdaptiveResult;
  /** 1 where the chooser stopped the input (its answer is final). */
  readonly final: Uint8Array;
  readonly #classes: number;

  constructor(count: number, classes: number) {
    this.#classes = classes;
    this.result = {
      prediction: new Int32Array(count),
      exitIndex: new Int32Array(count),
      confidence: new Float32Array(count),
      logits: new Float32Array(count * classes),
      flops: new Float64Array(count),
    };
    this.final = new Uint8Array(count);
  }

  /** Records the rows of `step` that stop there, or every row when `all` (the latest answer of inputs still running). */
  record(step: Step, all: boolean): void {
    const c = this.#classes;
    const r = this.result;
    for (let j = 0; j < step.rows.length; j++) {
      const stop = step.stop[j] === 1;
      if (!stop && !all) continue;
      const i = step.rows[j]!;
      r.prediction[i] = step.prediction[j]!;
      r.exitIndex[i] = step.exit;
      r.confidence[i] = step.confidence[j]!;
      r.flops[i] = step.flops;
      r.logits.set(step.logits.subarray(j * c, j * c + c), i * c);
      if (stop) this.final[i] = 1;
    }
  }
}
