/**
 * Budgeted adaptive inference: a total cost for a whole batch (FLOPs or milliseconds), spent where
 * it buys the most expected correct answers. Every input gets stage 0 and exit 0; after each exit
 * the running inputs are re-planned with what is left:
 *
 * - The calibrated confidence c of an input's current answer is the probability it is right.
 *   Going one exit deeper is expected to fix a fraction φ_k of exit k's errors, so it gains
 *   (1 − c)·φ_k expected correct answers, and the next step after that gains less (diminishing
 *   returns): lower confidence gains more.
 * - Steps are taken greedily by expected gain per unit cost (a max-heap over each input's next
 *   step) while they fit in what is left. Only the steps into the next exit are committed; the
 *   deeper ones are re-planned once their inputs' new confidences are known.
 *
 * Each committed step fits in the budget left, so the cost charged never exceeds the budget.
 */
import { ExitwiseError } from '../../errors.ts';
import { RowReader } from '../../exits/softmax.ts';
import type { Chooser, ExitChoice } from './walk.ts';

/**
 * The share of an exit's errors that the next exit is assumed to fix when no validation accuracies
 * are given: between "deeper fixes nothing" (never worth paying) and "deeper fixes everything"
 * (which would plan one step ahead only). Half keeps inputs ranked by confidence and makes each
 * further step worth less than the one before.
 */
export const DEFAULT_FIX_RATE = 0.5;

/** Cost of step k (stage k then exit k) on m > 0 inputs: `fixed[k] + perInput[k]·m`. */
export interface StepCosts {
  fixed: readonly number[];
  perInput: readonly number[];
}

/** φ_k for k < K−1 from per-exit validation accuracies: `(a_{k+1} − a_k) / (1 − a_k)`, in [0, 1]. */
export function fixRates(levels: number, exitAccuracy?: readonly number[]): number[] {
  if (exitAccuracy === undefined) return new Array<number>(Math.max(0, levels - 1)).fill(DEFAULT_FIX_RATE);
  if (exitAccuracy.length !== levels || exitAccuracy.some((a) => !(a >= 0 && a <= 1))) {
    throw new ExitwiseError('EXW_USAGE', `exitAccuracy needs ${levels} accuracies in [0, 1], got [${exitAccuracy.join(', ')}]`, {
      hint: 'Give the validation accuracy of every exit, final exit included.',
    });
  }
  return exitAccuracy.slice(0, -1).map((a, k) => (a >= 1 ? 0 : Math.min(1, Math.max(0, (exitAccuracy[k + 1]! - a) / (1 - a)))));
}

/**
 * Which of the inputs at exit `level` (confidences `confidence`) take the next step, given `left`
 * to spend on this and all later steps. Returns a mask `[m]` (1: continue) and what it costs.
 */
export function planNextStep(level: number, confidence: Float32Array, left: number, costs: StepCosts, rates: readonly number[]): { go: Uint8Array; cost: number } {
  const m = confidence.length;
  const levels = costs.perInput.length;
  const go = new Uint8Array(m);
  if (level >= levels - 1 || m === 0) return { go, cost: 0 };
  const believed = Float64Array.from(confidence); // each input's expected P(correct) after its planned steps
  const heap = new StepHeap();
  // The per-call cost is shared by the inputs of a step: rank by its share, charge it once.
  const unit = (j: number): number => costs.perInput[j]! + costs.fixed[j]! / m;
  const push = (i: number, j: number): void => {
    const gain = (1 - believed[i]!) * rates[j - 1]!;
    if (gain > 0) heap.push(gain / unit(j), i, j);
  };
  for (let i = 0; i < m; i++) push(i, level + 1);
  const used = new Uint8Array(levels);
  let budget = left;
  let cost = 0;
  while (heap.size > 0) {
    const { input: i, to: j } = heap.pop();
    const price = costs.perInput[j]! + (used[j] === 0 ? costs.fixed[j]! : 0);
    if (price > budget) continue; // this input stops here; cheaper steps may still fit
    budget -= price;
    used[j] = 1;
    if (j === level + 1) {
      go[i] = 1;
      cost += price;
    }
    believed[i] = believed[i]! + (1 - believed[i]!) * rates[j - 1]!;
    if (j + 1 < levels) push(i, j + 1);
  }
  return { go, cost };
}

/** The budget as the walk's chooser: confidences under `temperatures`, steps planned by {@link planNextStep}. */
export class BudgetChooser implements Chooser {
  readonly #costs: StepCosts;
  readonly #rates: readonly number[];
  readonly #temperatures: readonly number[];
  readonly #reader: RowReader;
  #left: number;
  /** Cost charged so far, in the budget's unit. */
  charged: number;

  /** `budget` is the whole batch's; `EXW_USAGE` when it cannot pay for stage 0 and exit 0 of all `count` inputs. */
  constructor(count: number, budget: number, costs: StepCosts, options: { temperatures: readonly number[]; rates: readonly number[]; classes: number; unit: string }) {
    const minimum = count === 0 ? 0 : costs.fixed[0]! + costs.perInput[0]! * count;
    if (!(budget >= minimum)) {
      throw new ExitwiseError('EXW_USAGE', `a budget of ${budget} ${options.unit} is below the minimum of ${minimum} ${options.unit} for ${count} inputs`, {
        hint: `Every input gets stage 0 and exit 0: give at least ${minimum} ${options.unit} (${costs.perInput[0]} per input${costs.fixed[0]! > 0 ? ` plus ${costs.fixed[0]} per call` : ''}).`,
      });
    }
    this.#costs = costs;
    this.#rates = options.rates;
    this.#temperatures = options.temperatures;
    this.#reader = new RowReader(options.classes);
    this.charged = minimum;
    this.#left = budget - minimum;
  }

  needsExit(): boolean {
    return true;
  }

  skipped(): void {
    throw new Error('internal: a budgeted walk never skips an exit');
  }

  choose(k: number, logits: Float32Array): ExitChoice {
    const classes = this.#reader.classes;
    const m = logits.length / classes;
    const prediction = new Int32Array(m);
    const confidence = new Float32Array(m);
    for (let i = 0; i < m; i++) {
      const row = this.#reader.read(logits, i * classes, this.#temperatures[k]);
      prediction[i] = row.argmax;
      confidence[i] = row.pMax;
    }
    const { go, cost } = planNextStep(k, confidence, this.#left, this.#costs, this.#rates);
    this.#left -= cost;
    this.charged += cost;
    const stop = go.map((g) => 1 - g);
    return { stop, prediction, confidence };
  }
}

/** A binary max-heap of planned steps, by gain per cost (ties: lower input index first). */
class StepHeap {
  readonly #keys: number[] = [];
  readonly #inputs: number[] = [];
  readonly #to: number[] = [];

  get size(): number {
    return this.#keys.length;
  }

  push(key: number, input: number, to: number): void {
    this.#keys.push(key);
    this.#inputs.push(input);
    this.#to.push(to);
    for (let i = this.#keys.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!this.#before(i, parent)) break;
      this.#swap(i, parent);
      i = parent;
    }
  }

  pop(): { input: number; to: number } {
    const top = { input: this.#inputs[0]!, to: this.#to[0]! };
    const last = this.#keys.length - 1;
    this.#swap(0, last);
    this.#keys.pop();
    this.#inputs.pop();
    this.#to.pop();
    for (let i = 0; ; ) {
      const l = 2 * i + 1;
      const r = l + 1;
      let best = i;
      if (l < last && this.#before(l, best)) best = l;
      if (r < last && this.#before(r, best)) best = r;
      if (best === i) break;
      this.#swap(i, best);
      i = best;
    }
    return top;
  }

  #before(a: number, b: number): boolean {
    const ka = this.#keys[a]!;
    const kb = this.#keys[b]!;
    return ka > kb || (ka === kb && this.#inputs[a]! < this.#inputs[b]!);
  }

  #swap(a: number, b: number): void {
    swapAt(this.#keys, a, b);
    swapAt(this.#inputs, a, b);
    swapAt(this.#to, a, b);
  }
}

function swapAt(xs: number[], a: number, b: number): void {
  const t = xs[a]!;
  xs[a] = xs[b]!;
  xs[b] = t;
}
