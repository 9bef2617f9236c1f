/**
 * Per-sample memory of an exit policy across exits, kept as columns so a runtime can compact it
 * together with the batch: after exit k, only the samples that did not stop go on.
 */
import { policyError } from '../outputs.ts';

/** What a policy remembers about each still-running sample of a batch. */
export class ExitState {
  /** Predicted class at the last exit seen; −1 before exit 0. `[size]` */
  readonly previous: Int32Array;
  /** How many consecutive exits, ending at the last one seen, predicted `previous`. `[size]` */
  readonly streak: Int32Array;
  /** The exit the next `decideBatch` call must be for (exits are decided in order). */
  nextExit: number;

  private constructor(previous: Int32Array, streak: Int32Array, nextExit: number) {
    this.previous = previous;
    this.streak = streak;
    this.nextExit = nextExit;
  }

  /** State of `size` samples about to reach exit 0. */
  static create(size: number): ExitState {
    if (!(Number.isInteger(size) && size >= 0)) throw policyError(`batch size must be a non-negative integer, got ${size}`, 'pass the batch size');
    return new ExitState(new Int32Array(size).fill(-1), new Int32Array(size), 0);
  }

  get size(): number {
    return this.previous.length;
  }

  /**
   * The state of the samples that did not stop (`exitMask[i] === 0`), in their original order:
   * apply the same compaction to the batch and to its state.
   */
  remaining(exitMask: Uint8Array): ExitState {
    if (exitMask.length !== this.size) throw policyError(`exit mask has ${exitMask.length} entries for ${this.size} samples`, 'pass the mask decideBatch returned');
    let kept = 0;
    for (let i = 0; i < exitMask.length; i++) if (exitMask[i] === 0) kept++;
    const previous = new Int32Array(kept);
    const streak = new Int32Array(kept);
    for (let i = 0, j = 0; i < exitMask.length; i++) {
      if (exitMask[i] !== 0) continue;
      previous[j] = this.previous[i]!;
      streak[j++] = this.streak[i]!;
    }
    return new ExitState(previous, streak, this.nextExit);
  }

  /** Records that sample `i` predicts `prediction` at the current exit; returns its new streak. */
  observe(i: number, prediction: number): number {
    const streak = this.previous[i] === prediction ? this.streak[i]! + 1 : 1;
    this.previous[i] = prediction;
    this.streak[i] = streak;
    return streak;
  }
}
