/**
 * The public types of the adaptive runtime: what `run`, `anytime` and `budgeted` return. The
 * machinery lives in the other files of this folder; runtime.ts is the class that ties them.
 */
import type { ExitPolicy } from '../../exits/policies/policy.ts';
import type { BackendKind } from '../session.ts';
import type { StepTimes } from './timing.ts';

/** Options of `AdaptiveRuntime.open`. */
export interface AdaptiveOpenOptions {
  /** ONNX Runtime package (default `'node'`). */
  backend?: BackendKind;
  /** Intra-op threads of every segment session (default: ONNX Runtime's choice). */
  threads?: number;
  /**
   * The policy `run` and `anytime` use unless a call gives another. Default: the manifest's
   * `policy` (with the manifest's exit temperatures when it carries none), else max-softmax with
   * the default thresholds (src/exits/policies/defaults.ts) and the manifest's temperatures.
   */
  policy?: ExitPolicy;
  /**
   * Run stage k and exit k in one ONNX Runtime call when their graphs can be merged (default
   * true): one call fewer per exit, which matters at batch 1 where a call costs about as much
   * as a small segment. `false` keeps one session per segment file.
   */
  fuse?: boolean;
  /**
   * On `'node'`, call onnxruntime-node's native binding directly (default true): ≈ 10 µs of CPU
   * per call instead of ≈ 28 µs through the public API (calls.ts). `false` uses the public API.
   */
  directCalls?: boolean;
  /**
   * `run` through the compiled adaptive model (src/runtime/compiled) when the policy compiles
   * (default true): the whole network and policy as one graph with `If` branches, one ONNX Runtime
   * call per batch. `false`: `run` walks the segments, one call per exit, like `anytime`.
   */
  compiled?: boolean;
}

/** What every input ended with. Arrays are in input order, `[count]` unless said otherwise. */
export interface AdaptiveResult {
  /** Predicted class. */
  prediction: Int32Array;
  /** The exit whose answer this is. */
  exitIndex: Int32Array;
  /** Tempered max softmax probability at that exit (the policy's temperatures). */
  confidence: Float32Array;
  /** `[count, classes]` raw logits of that exit. */
  logits: Float32Array;
  /** Per-input FLOPs actually spent: every stage it went through plus every exit head run on it. */
  flops: Float64Array;
}

/**
 * One refinement of an anytime run: exit `exit` has answered for the inputs still running.
 * A UI keeps, per input, the answer of the latest refinement that names it; once `final[j]` is
 * 1, input `indices[j]` will not be refined again. Arrays are `[indices.length]`.
 */
export interface Refinement {
  exit: number;
  /** Original indices (into the batch) of the inputs refined here, ascending. */
  indices: Int32Array;
  prediction: Int32Array;
  confidence: Float32Array;
  /** `[indices.length, classes]` raw logits. */
  logits: Float32Array;
  /** 1 where the policy stopped the input here (always at the final exit). */
  final: Uint8Array;
  /** Inputs still running after this refinement (0 on the last refinement of a complete run). */
  remaining: number;
  /** Milliseconds since the anytime run started. */
  elapsedMs: number;
}

/** Why an anytime run ended. */
export type AnytimeStop = 'complete' | 'deadline' | 'abort' | 'cancelled';

/** The best answer for every input when an anytime run ended. */
export interface AnytimeResult extends AdaptiveResult {
  /** 1 where the policy decided the answer; 0 where the run was cut short first (latest refinement kept). */
  final: Uint8Array;
  /** `complete`: every input was decided by the policy; otherwise the deadline, the signal, or the consumer stopped it. */
  stoppedBy: AnytimeStop;
  elapsedMs: number;
}

/** Options of `AdaptiveRuntime.anytime`. */
export interface AnytimeOptions {
  /**
   * Stop this many milliseconds after the start with the best answers so far. Exit 0 is always
   * computed first (so every input has an answer); the deadline cuts the refinements after it,
   * including one in flight (its result is dropped).
   */
  deadlineMs?: number;
  /** Stops the run like a deadline when aborted. */
  signal?: AbortSignal;
  /** The policy deciding when an input's answer is final (default: the runtime's). */
  policy?: ExitPolicy;
  /** Called with every refinement, whether or not the run is iterated. */
  onRefinement?: (refinement: Refinement) => void;
}

/** A budget for a whole batch: exactly one of FLOPs or milliseconds. */
export interface Budget {
  /** Total FLOPs for the batch (stage and head FLOPs of the manifest, per input). */
  flops?: number;
  /** Total milliseconds, spent according to step times (measured, profiled or from the manifest). */
  ms?: number;
}

/** Options of `AdaptiveRuntime.budgeted`. */
export interface BudgetedOptions {
  /**
   * Validation accuracy of each exit (length K). Sets how much of an exit's errors going one exit
   * deeper is expected to fix; without it, a default rate (budget.ts) is assumed.
   */
  exitAccuracy?: readonly number[];
  /** Step times for a time budget (default: profiled, from the manifest, or measured; see timing.ts). */
  stepTimes?: StepTimes;
}

/** The answers of a budgeted run: each input's answer is that of the deepest exit it reached. */
export interface BudgetedResult extends AdaptiveResult {
  /** What the batch cost: exact FLOPs, and measured wall-clock milliseconds of the call. */
  spent: { flops: number; ms: number };
  /** The cost charged against the budget, in its unit (FLOPs, or estimated ms); never above it. */
  charged: number;
  /** Sum of the confidences of the answers: the expected number of correct predictions if calibrated. */
  expectedCorrect: number;
}
