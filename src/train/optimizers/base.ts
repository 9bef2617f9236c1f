/**
 * What every optimizer shares: the step counter, per-parameter slot buffers, the checks on the
 * gradients it is given, and saving and loading its state. A kind supplies only its update rule.
 */
import { ExitwiseError } from '../../errors.ts';
import type { ParamEntry } from '../params.ts';
import type { Optimizer, OptimizerConfig, OptimizerState, Resolved } from './types.ts';

export abstract class SlotOptimizer<C extends Resolved<OptimizerConfig>> implements Optimizer {
  readonly config: C;
  protected readonly params: readonly ParamEntry[];
  /** Slot name → one buffer per parameter, in `params` order. */
  protected readonly slots: Record<string, Float32Array[]>;
  private steps = 0;

  constructor(config: C, params: readonly ParamEntry[], slotNames: readonly string[]) {
    this.config = config;
    this.params = params.filter((p) => p.trainable);
    this.slots = Object.fromEntries(slotNames.map((s) => [s, this.params.map((p) => new Float32Array(p.value.length))]));
  }

  get stepCount(): number {
    return this.steps;
  }

  step(grads: ReadonlyMap<string, Float32Array>, lr: number): void {
    if (!Number.isFinite(lr) || lr < 0) throw usage(`learning rate ${lr} is not a finite number ≥ 0`);
    for (const p of this.params) {
      const g = grads.get(p.name);
      if (g === undefined) throw usage(`no gradient for parameter "${p.name}"`);
      if (g.length !== p.value.length) throw usage(`the gradient of "${p.name}" holds ${g.length} values; the parameter ${p.value.length}`);
    }
    if (grads.size !== this.params.length) {
      const extra = [...grads.keys()].filter((n) => !this.params.some((p) => p.name === n));
      throw usage(`gradients given for ${extra.join(', ')}, which the optimizer does not train`);
    }
    this.steps++;
    for (let i = 0; i < this.params.length; i++) this.update(i, this.params[i]!, grads.get(this.params[i]!.name)!, lr, this.steps);
  }

  /** Updates parameter `i` in place; `t` counts steps from 1 (this one included). */
  protected abstract update(i: number, param: ParamEntry, grad: Float32Array, lr: number, t: number): void;

  state(): OptimizerState {
    const slots = Object.fromEntries(Object.entries(this.slots).map(([slot, buffers]) =>
      [slot, Object.fromEntries(this.params.map((p, i) => [p.name, buffers[i]!.slice()]))]));
    return { kind: this.config.kind, step: this.steps, slots };
  }

  loadState(state: OptimizerState): void {
    const fail = (what: string) => new ExitwiseError('EXW_CHECKPOINT', `the optimizer state does not fit: ${what}`, {
      hint: 'Resume with the optimizer kind and settings (momentum on or off) and the trainable parameters of the saved run.',
    });
    if (state.kind !== this.config.kind) throw fail(`it is ${state.kind} state; the optimizer is ${this.config.kind}`);
    if (!Number.isSafeInteger(state.step) || state.step < 0) throw fail(`step ${state.step} is not a count`);
    const [mine, theirs] = [Object.keys(this.slots).sort(), Object.keys(state.slots).sort()];
    if (mine.join() !== theirs.join()) throw fail(`it has slots [${theirs.join(', ')}], this optimizer [${mine.join(', ')}]`);
    for (const [slot, saved] of Object.entries(state.slots)) {
      const names = Object.keys(saved);
      const extra = names.filter((n) => !this.params.some((p) => p.name === n));
      if (extra.length > 0) throw fail(`${slot} holds parameters the optimizer does not train: ${extra.join(', ')}`);
      for (const p of this.params) {
        const buffer = saved[p.name];
        if (buffer === undefined) throw fail(`${slot} has no buffer for "${p.name}"`);
        if (buffer.length !== p.value.length) throw fail(`${slot} of "${p.name}" holds ${buffer.length} values; the parameter ${p.value.length}`);
      }
    }
    for (const [slot, saved] of Object.entries(state.slots)) this.params.forEach((p, i) => this.slots[slot]![i]!.set(saved[p.name]!));
    this.steps = state.step;
  }
}

function usage(message: string): ExitwiseError {
  return new ExitwiseError('EXW_USAGE', message, { hint: 'Pass one gradient per trainable parameter of the store, keyed by parameter name.' });
}
