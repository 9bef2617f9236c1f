/**
 * The walk over recorded exit logits instead of sessions: the same loop, choosers and compaction
 * as the runtime, so a budget can be evaluated offline on validation outputs (and the runtime
 * checked against it). The running inputs are carried as a tensor of their original indices.
 */
import { policyError, type ExitOutputs } from '../../exits/outputs.ts';
import { BudgetChooser, fixRates, type StepCosts } from './budget.ts';
import { ResultCollector } from './collect.ts';
import type { LiveTensors } from './rows.ts';
import { walk, type Stepper } from './walk.ts';

const ROWS = 'rows';

/** A {@link Stepper} that looks logits up in `outputs` (step costs: zero FLOPs unless given). */
export class RecordedStepper implements Stepper {
  readonly levels: number;
  readonly classes: number;
  readonly stageFlops: readonly number[];
  readonly exitFlops: readonly number[];
  readonly #outputs: ExitOutputs;

  constructor(outputs: ExitOutputs, flops: { stage?: readonly number[]; exit?: readonly number[] } = {}) {
    this.#outputs = outputs;
    this.levels = outputs.logits.length;
    this.classes = outputs.classes;
    this.stageFlops = flops.stage ?? new Array<number>(this.levels).fill(0);
    this.exitFlops = flops.exit ?? new Array<number>(this.levels).fill(0);
  }

  /** Stage-0 feeds for all samples. */
  feeds(): LiveTensors {
    const n = this.#outputs.samples;
    return { [ROWS]: { type: 'int32', dims: [n], data: Int32Array.from({ length: n }, (_, i) => i) } };
  }

  async step(k: number, live: LiveTensors, withExit: boolean): Promise<{ live: LiveTensors; logits: Float32Array | undefined }> {
    if (!withExit) return { live, logits: undefined };
    const rows = live[ROWS]!.data as Int32Array;
    const c = this.classes;
    const source = this.#outputs.logits[k]!;
    const logits = new Float32Array(rows.length * c);
    rows.forEach((i, r) => logits.set(source.subarray(i * c, i * c + c), r * c));
    return { live, logits };
  }
}

/** Where a budget sent each sample. Arrays are `[samples]`. */
export interface BudgetSimulation {
  /** The deepest exit each sample reached: its answer. */
  exitIndex: Int32Array;
  prediction: Int32Array;
  confidence: Float32Array;
  /** Cost charged, in the budget's unit (≤ budget). */
  charged: number;
  /** Sum of the answers' confidences. */
  expectedCorrect: number;
}

/**
 * Runs the budgeted allocation of `AdaptiveRuntime.budgeted` on recorded outputs: the whole set
 * is one batch with `budget` to spend, step k costing `costs.fixed[k] + costs.perInput[k]·m`.
 *
 * @example
 * const costs = { fixed: [0, 0, 0], perInput: manifest.exits.map((e, k) => manifest.stages[k].flops + e.flops) };
 * const sim = await simulateBudget(valOutputs, costs, 2 * costs.perInput[0] * valOutputs.samples, { temperatures });
 */
export async function simulateBudget(
  outputs: ExitOutputs,
  costs: StepCosts,
  budget: number,
  options: { temperatures?: readonly number[]; exitAccuracy?: readonly number[]; unit?: string } = {},
): Promise<BudgetSimulation> {
  const levels = outputs.logits.length;
  if (costs.fixed.length !== levels || costs.perInput.length !== levels) throw policyError(`step costs for ${costs.perInput.length} steps, outputs of ${levels} exits`, 'give one cost per exit');
  const stepper = new RecordedStepper(outputs);
  const chooser = new BudgetChooser(outputs.samples, budget, costs, {
    temperatures: options.temperatures ?? new Array<number>(levels).fill(1),
    rates: fixRates(levels, options.exitAccuracy),
    classes: outputs.classes,
    unit: options.unit ?? 'units',
  });
  const collector = new ResultCollector(outputs.samples, outputs.classes);
  for await (const step of walk(stepper, stepper.feeds(), outputs.samples, chooser)) collector.record(step, false);
  const { exitIndex, prediction, confidence } = collector.result;
  return { exitIndex, prediction, confidence, charged: chooser.charged, expectedCorrect: confidence.reduce((s, c) => s + c, 0) };
}
