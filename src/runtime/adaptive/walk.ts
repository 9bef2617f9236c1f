/**
 * The adaptive loop, written once for every mode: run stage k (and exit k) on the inputs still
 * running, let a chooser decide who stops, hand the step to the caller, and carry only the rows
 * that go on to stage k+1 (order kept). `run`, `anytime` and `budgeted` differ only in their
 * chooser and in what they do with each step; simulations over recorded logits walk the same
 * loop with a stepper that reads rows instead of running sessions.
 */
import { keepIndices, keepLive, type LiveTensors } from './rows.ts';

/** What the loop runs: a chain of stages, each followed by an exit head. */
export interface Stepper {
  /** Number of exits K (= stages). */
  readonly levels: number;
  readonly classes: number;
  /** Per-input FLOPs of stage k. */
  readonly stageFlops: readonly number[];
  /** Per-input FLOPs of exit head k. */
  readonly exitFlops: readonly number[];
  /**
   * Runs stage k on `live` (every tensor with the running inputs first) and, when `withExit`,
   * exit k. Returns the tensors later stages read and exit k's logits `[m, classes]`.
   */
  step(k: number, live: LiveTensors, withExit: boolean): Promise<{ live: LiveTensors; logits: Float32Array | undefined }>;
}

/** Who stops at an exit, and what they answer there. Arrays are `[m]` for the m running inputs. */
export interface ExitChoice {
  /** 1: the input stops here. Must be all 1 at the final exit. */
  stop: Uint8Array;
  prediction: Int32Array;
  confidence: Float32Array;
}

/** The decision rule of one walk (a policy, a budget). Holds its own per-input state. */
export interface Chooser {
  /** False when exit k cannot change anything, so its head need not run (never the final exit). */
  needsExit(k: number): boolean;
  /** Exit k was skipped: every running input went on without its logits. */
  skipped(k: number): void;
  /** Decides exit k for the running inputs `rows` (original indices) given their logits. */
  choose(k: number, logits: Float32Array, rows: Int32Array): ExitChoice;
}

/** One exit's outcome for the inputs that reached it. */
export interface Step extends ExitChoice {
  exit: number;
  /** Original indices of the inputs that reached this exit, ascending. */
  rows: Int32Array;
  /** `[rows.length, classes]`. */
  logits: Float32Array;
  /** FLOPs spent so far on each of these inputs (stages 0..k and every head run). */
  flops: number;
  /** How many of them go on. */
  remaining: number;
}

/**
 * Walks the stages for `count` inputs starting from `live` (the stage-0 feeds), yielding after
 * every exit that ran. Ends after the final exit or as soon as no input is left.
 */
export async function* walk(stepper: Stepper, live: LiveTensors, count: number, chooser: Chooser): AsyncGenerator<Step, void, undefined> {
  let rows: Int32Array = Int32Array.from({ length: count }, (_, i) => i);
  let flops = 0;
  for (let k = 0; k < stepper.levels && rows.length > 0; k++) {
    const last = k === stepper.levels - 1;
    const withExit = last || chooser.needsExit(k);
    const out = await stepper.step(k, live, withExit);
    flops += stepper.stageFlops[k]!;
    if (!withExit) {
      chooser.skipped(k);
      live = out.live;
      continue;
    }
    flops += stepper.exitFlops[k]!;
    const choice = chooser.choose(k, out.logits!, rows);
    let stopped = 0;
    for (let i = 0; i < rows.length; i++) stopped += choice.stop[i]!;
    if (last && stopped !== rows.length) throw new Error('internal: a chooser kept inputs running past the final exit');
    const remaining = rows.length - stopped;
    yield { exit: k, rows, logits: out.logits!, flops, remaining, ...choice };
    if (remaining === 0) return;
    // Nothing stopped: the stage's outputs go on as they are, no copy.
    if (stopped > 0) {
      live = keepLive(out.live, choice.stop, remaining);
      rows = keepIndices(rows, choice.stop, remaining);
    } else {
      live = out.live;
    }
  }
}
