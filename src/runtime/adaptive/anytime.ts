/**
 * Anytime inference: the walk's steps as a stream of refinements, each input's answer improving
 * exit by exit until the policy settles it, a deadline passes or a signal aborts. Exit 0 always
 * completes (every input then has an answer); after it, the deadline also cuts a step in flight
 * (its result is dropped; ONNX Runtime cannot interrupt a call, so it finishes unobserved).
 */
import { ExitwiseError } from '../../errors.ts';
import { ResultCollector } from './collect.ts';
import type { AnytimeOptions, AnytimeResult, AnytimeStop, Refinement } from './types.ts';
import type { Step } from './walk.ts';

/**
 * A running anytime inference: iterate it (once) for the refinements, and/or await `result()`
 * for the best answer of every input when it ends.
 *
 * @example
 * const run = runtime.anytime(images, 8, { deadlineMs: 5 });
 * for await (const r of run) r.indices.forEach((i, j) => show(i, r.prediction[j], r.final[j] === 1));
 * const { prediction, final, stoppedBy } = await run.result();
 */
export class AnytimeRun implements AsyncIterable<Refinement> {
  readonly #steps: AsyncGenerator<Step, void, undefined>;
  readonly #options: AnytimeOptions;
  readonly #collector: ResultCollector;
  #iterated = false;
  #done: Promise<AnytimeResult> | undefined;
  #finish: ((result: AnytimeResult) => void) | undefined;
  #fail: ((error: unknown) => void) | undefined;

  constructor(steps: AsyncGenerator<Step, void, undefined>, count: number, classes: number, options: AnytimeOptions) {
    if (options.deadlineMs !== undefined && !(options.deadlineMs >= 0)) {
      throw new ExitwiseError('EXW_USAGE', `deadlineMs must be a non-negative number of milliseconds, got ${options.deadlineMs}`, { hint: 'Leave it out to run until the policy decides every input.' });
    }
    this.#steps = steps;
    this.#options = options;
    this.#collector = new ResultCollector(count, classes);
  }

  [Symbol.asyncIterator](): AsyncIterator<Refinement> {
    if (this.#iterated) throw new ExitwiseError('EXW_USAGE', 'an anytime run can be iterated only once', { hint: 'Start another run with runtime.anytime(), or await result().' });
    this.#iterated = true;
    this.#done = new Promise((resolve, reject) => {
      this.#finish = resolve;
      this.#fail = reject;
    });
    this.#done.catch(() => undefined); // reported through the iteration; result() rethrows it
    return this.#refine();
  }

  /** The answers when the run ends, running it to the end first if nobody iterates it. */
  async result(): Promise<AnytimeResult> {
    if (!this.#iterated) for await (const _ of this);
    return this.#done!;
  }

  async *#refine(): AsyncGenerator<Refinement, void, undefined> {
    const started = performance.now();
    const deadline = this.#options.deadlineMs === undefined ? Infinity : started + this.#options.deadlineMs;
    const stop = new Stopper(deadline, this.#options.signal);
    // Stays 'cancelled' when the consumer breaks out of its loop (we land in `finally` at the yield).
    let stoppedBy: AnytimeStop = 'cancelled';
    let failed = false;
    let first = true;
    try {
      for (;;) {
        if (!first && stop.reason !== undefined) {
          stoppedBy = stop.reason;
          break;
        }
        const pending = this.#steps.next();
        const next = first ? await pending : await Promise.race([pending, stop.stopped]);
        first = false;
        if (next === 'stopped') {
          pending.catch(() => undefined);
          stoppedBy = stop.reason!;
          break;
        }
        if (next.done === true) {
          stoppedBy = 'complete';
          break;
        }
        const refinement = this.#accept(next.value, performance.now() - started);
        this.#options.onRefinement?.(refinement);
        yield refinement;
      }
    } catch (error) {
      failed = true;
      this.#fail!(error);
      throw error;
    } finally {
      stop.dispose();
      // Ends the walk once any step in flight is done; its outcome no longer matters.
      this.#steps.return(undefined).catch(() => undefined);
      if (!failed) this.#finish!({ ...this.#collector.result, final: this.#collector.final, stoppedBy, elapsedMs: performance.now() - started });
    }
  }

  #accept(step: Step, elapsedMs: number): Refinement {
    this.#collector.record(step, true);
    return {
      exit: step.exit,
      indices: step.rows,
      prediction: step.prediction,
      confidence: step.confidence,
      logits: step.logits,
      final: step.stop,
      remaining: step.remaining,
      elapsedMs,
    };
  }
}

/** Resolves `stopped` at the deadline or when the signal aborts, whichever comes first. */
class Stopper {
  reason: Exclude<AnytimeStop, 'complete' | 'cancelled'> | undefined;
  readonly stopped: Promise<'stopped'>;
  readonly #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort: () => void;

  constructor(deadline: number, signal: AbortSignal | undefined) {
    let fire!: () => void;
    this.stopped = new Promise((resolve) => {
      fire = () => resolve('stopped');
    });
    this.#signal = signal;
    this.#onAbort = () => {
      this.reason ??= 'abort';
      fire();
    };
    if (signal?.aborted === true) this.#onAbort();
    signal?.addEventListener('abort', this.#onAbort, { once: true });
    if (Number.isFinite(deadline)) {
      const fireAtDeadline = (): void => {
        this.reason ??= 'deadline';
        fire();
      };
      const wait = deadline - performance.now();
      if (wait <= 0) fireAtDeadline();
      this.#timer = wait <= 0 ? undefined : setTimeout(fireAtDeadline, wait);
    }
  }

  dispose(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#signal?.removeEventListener('abort', this.#onAbort);
  }
}
