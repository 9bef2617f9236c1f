/**
 * The machinery all policy kinds share: in-order decisions over a batch, per-sample state,
 * tempered softmax, and validation of exits, temperatures and thresholds. A kind only says how
 * one sample scores at one exit (`score`) and what it compares that with (`thresholdAt`).
 * `decideBatch` and `scores` run the same per-row loop, so the runtime's batched decisions and
 * the tuner's score matrices cannot disagree.
 */
import { checkTemperature } from '../metrics.ts';
import { policyError, type ExitOutputs } from '../outputs.ts';
import { RowReader, type RowSummary } from '../softmax.ts';
import type { ExitDecision, ExitPolicy, PolicyJson, PolicyKind, ThresholdPolicy } from './policy.ts';
import { ExitState } from './state.ts';

/** The fields every policy's JSON has. */
export interface CommonJson {
  exits: number;
  temperatures?: number[] | undefined;
}

export abstract class BasePolicy implements ExitPolicy {
  abstract readonly kind: PolicyKind;
  abstract readonly direction: 'at-least' | 'at-most';
  readonly exits: number;
  readonly temperatures: readonly number[];

  protected constructor(json: CommonJson) {
    if (!(Number.isInteger(json.exits) && json.exits >= 1)) throw policyError(`exits must be an integer ≥ 1, got ${json.exits}`, 'count every exit, the final one included');
    this.exits = json.exits;
    const temperatures = json.temperatures ?? new Array<number>(json.exits).fill(1);
    if (temperatures.length !== json.exits) {
      throw policyError(`${temperatures.length} temperatures for ${json.exits} exits`, 'give one temperature per exit (final exit included), or none');
    }
    temperatures.forEach((t, k) => checkTemperature(t, k));
    this.temperatures = Object.freeze([...temperatures]);
  }

  /** Sample's score at `exit` given its summary there, its prediction at the previous exit (−1 at exit 0) and its streak including this exit. */
  protected abstract score(exit: number, row: RowSummary, previous: number, streak: number): number;
  abstract thresholdAt(exit: number): number | null;
  abstract toJSON(): PolicyJson;

  /** Throws when the policy was fitted for another number of classes (class-means). */
  protected checkClasses(classes: number): void {
    if (!(Number.isInteger(classes) && classes >= 2)) throw policyError(`logits imply ${classes} classes`, 'logits are row-major [batch, classes] with at least 2 classes');
  }

  createState(batch: number): ExitState {
    return ExitState.create(batch);
  }

  decideBatch(exit: number, logits: Float32Array, state: ExitState): ExitDecision {
    if (!(Number.isInteger(exit) && exit >= 0 && exit < this.exits)) throw policyError(`exit ${exit} does not exist (the policy has ${this.exits})`, 'exits are numbered 0..K−1');
    if (state.nextExit !== exit) {
      throw policyError(`asked to decide exit ${exit} but the state is at exit ${state.nextExit}`, 'decide exits in order 0, 1, …, once each, with the state of the same batch');
    }
    const m = state.size;
    const decision: ExitDecision = { exit: new Uint8Array(m), score: new Float32Array(m), confidence: new Float32Array(m), prediction: new Int32Array(m) };
    if (m === 0) {
      state.nextExit++;
      return decision;
    }
    const classes = logits.length / m;
    if (!Number.isInteger(classes)) throw policyError(`${logits.length} logits for a batch of ${m}`, 'logits are row-major [batch, classes] for the samples still running');
    this.checkClasses(classes);
    const last = exit === this.exits - 1;
    const threshold = last ? null : this.thresholdAt(exit);
    const reader = new RowReader(classes);
    const temperature = this.temperatures[exit]!;
    for (let i = 0; i < m; i++) {
      const off = i * classes;
      for (let j = 0; j < classes; j++) {
        if (!Number.isFinite(logits[off + j]!)) {
          throw policyError(`non-finite logit ${logits[off + j]} for sample ${i} at exit ${exit}`, 'check the model for overflow; policies cannot rank NaN');
        }
      }
      const row = reader.read(logits, off, temperature);
      const previous = state.previous[i]!;
      const s = this.score(exit, row, previous, state.observe(i, row.argmax));
      decision.exit[i] = last || this.passes(s, threshold) ? 1 : 0;
      decision.score[i] = s;
      decision.confidence[i] = row.pMax;
      decision.prediction[i] = row.argmax;
    }
    state.nextExit++;
    return decision;
  }

  scores(outputs: ExitOutputs): Float64Array[] {
    if (outputs.logits.length !== this.exits) {
      throw policyError(`outputs have ${outputs.logits.length} exits, the policy ${this.exits}`, 'use a policy made for this network');
    }
    this.checkClasses(outputs.classes);
    const n = outputs.samples;
    const state = ExitState.create(n);
    const reader = new RowReader(outputs.classes);
    return outputs.logits.map((logits, exit) => {
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const row = reader.read(logits, i * outputs.classes, this.temperatures[exit]);
        const previous = state.previous[i]!;
        out[i] = this.score(exit, row, previous, state.observe(i, row.argmax));
      }
      return out;
    });
  }

  /** Whether `score` stops a sample at an exit with `threshold`. */
  passes(score: number, threshold: number | null): boolean {
    if (threshold === null) return false;
    return this.direction === 'at-least' ? score >= threshold : score <= threshold;
  }

  protected commonJson(): CommonJson & { temperatures: number[] } {
    return { exits: this.exits, temperatures: [...this.temperatures] };
  }
}

/** A policy with one threshold per non-final exit, each `null` or inside `range`. */
export abstract class ThresholdBase extends BasePolicy implements ThresholdPolicy {
  readonly thresholds: readonly (number | null)[];

  protected constructor(json: CommonJson & { thresholds: readonly (number | null)[] }, range: { min: number; max: number }) {
    super(json);
    this.thresholds = Object.freeze(checkThresholds(json.thresholds, json.exits, range));
  }

  abstract withThresholds(thresholds: readonly (number | null)[]): ThresholdPolicy;

  thresholdAt(exit: number): number | null {
    return this.thresholds[exit] ?? null;
  }
}

/**
 * Checks K−1 thresholds against the range of the score. Out-of-range values are refused rather
 * than accepted: a max-softmax threshold of 1.5 or an entropy threshold in nats would silently
 * disable or force exiting, which is the failure mode this guards against. `null` disables an
 * exit on purpose.
 */
export function checkThresholds(thresholds: readonly (number | null)[], exits: number, range: { min: number; max: number }): (number | null)[] {
  if (thresholds.length !== exits - 1) {
    throw policyError(
      `${thresholds.length} thresholds for ${exits} exits`,
      `give one threshold per non-final exit (${exits - 1}); the final exit always stops, and null disables an exit`,
    );
  }
  return thresholds.map((t, k) => {
    if (t === null) return null;
    if (!(Number.isFinite(t) && t >= range.min && t <= range.max)) {
      throw policyError(`threshold ${t} at exit ${k} is outside [${range.min}, ${range.max}]`, 'use a value the score can take, or null to disable the exit');
    }
    return t;
  });
}
