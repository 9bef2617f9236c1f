/**
 * Optimizers against PyTorch 1.13 (test/fixtures/optim-reference.json, made by
 * scripts/fixtures/make-optim-fixtures.py): every parameter after each of 20 steps with a new
 * learning rate each step, and the optimizer state at the end. Then resumption, determinism and
 * the errors a trainer can run into.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isExitwiseError } from '../../src/errors.ts';
import { createOptimizer, resolveOptimizerConfig } from '../../src/train/optimizers/index.ts';
import type { OptimizerConfig } from '../../src/train/optimizers/types.ts';
import { ParamStore } from '../../src/train/params.ts';
import { REFERENCE, referenceGrads, referenceStore, scaledError } from './fixture.ts';

/** float32 rounding order differs from PyTorch's kernels: measured worst 3.2e-7 (parameters) and 4.8e-7 (state) of the tensor's scale. */
const TOLERANCE = 1e-6;
const STEPS = REFERENCE.lrs.length;
/** exitwise slot → PyTorch state key. */
const TORCH_SLOT: Record<string, string> = { momentum: 'momentum_buffer', expAvg: 'exp_avg', expAvgSq: 'exp_avg_sq' };

function run(config: OptimizerConfig, store: ParamStore, from = 0, to = STEPS) {
  const optimizer = createOptimizer(config, store);
  for (let t = from; t < to; t++) optimizer.step(referenceGrads(t), REFERENCE.lrs[t]!);
  return optimizer;
}

const throwsCode = (fn: () => unknown, code: string, message: RegExp) =>
  assert.throws(fn, (e: unknown) => isExitwiseError(e) && e.code === code && message.test(e.message) && e.hint !== undefined);

describe('optimizers match PyTorch', () => {
  for (const c of REFERENCE.optimizers) {
    it(`${c.name}: parameters after each of ${STEPS} steps, and the final state`, () => {
      const store = referenceStore();
      const optimizer = createOptimizer(c.config as unknown as OptimizerConfig, store);
      for (let t = 0; t < STEPS; t++) {
        optimizer.step(referenceGrads(t), REFERENCE.lrs[t]!);
        for (const e of store.params()) {
          const err = scaledError(e.value, c.trajectory[t]![e.name]!);
          assert.ok(err < TOLERANCE, `step ${t + 1}, ${e.name}: error ${err.toExponential(2)}`);
        }
      }
      const state = optimizer.state();
      assert.equal(state.step, STEPS);
      for (const [slot, buffers] of Object.entries(state.slots)) {
        for (const [name, buffer] of Object.entries(buffers)) {
          const err = scaledError(buffer, c.state[name]![TORCH_SLOT[slot]!] as number[]);
          assert.ok(err < TOLERANCE, `${slot} of ${name}: error ${err.toExponential(2)}`);
        }
      }
      // Same slots as PyTorch keeps (plain SGD keeps none).
      const torchSlots = Object.keys(c.state['fc.weight']!).filter((k) => k !== 'step').sort();
      assert.deepEqual(Object.keys(state.slots).map((s) => TORCH_SLOT[s]).sort(), torchSlots);
    });
  }

  it('weight decay follows each entry\'s decay flag (decaying the biases too misses the reference)', () => {
    const c = REFERENCE.optimizers.find((o) => o.name === 'adamw-custom')!;
    const store = new ParamStore(referenceStore().entries().map((e) => ({ ...e, decay: true })));
    run(c.config as unknown as OptimizerConfig, store);
    const err = scaledError(store.get('fc.bias').value, c.trajectory[STEPS - 1]!['fc.bias']!);
    assert.ok(err > 100 * TOLERANCE, `error ${err}`);
  });
});

describe('optimizer state', () => {
  for (const c of REFERENCE.optimizers) {
    it(`${c.name}: 8 steps, state saved and loaded into a new optimizer, 12 more = 20 uninterrupted, bit for bit`, () => {
      const config = c.config as unknown as OptimizerConfig;
      const whole = referenceStore();
      run(config, whole);
      const first = referenceStore();
      const saved = run(config, first, 0, 8).state();
      const resumed = new ParamStore(first.entries().map((e) => ({ ...e, value: e.value.slice() })));
      const optimizer = createOptimizer(config, resumed);
      optimizer.loadState(saved);
      assert.equal(optimizer.stepCount, 8);
      for (let t = 8; t < STEPS; t++) optimizer.step(referenceGrads(t), REFERENCE.lrs[t]!);
      for (const e of whole.params()) assert.deepEqual(resumed.get(e.name).value, e.value, e.name);
    });
  }

  it('state() is a copy: later steps do not change it', () => {
    const optimizer = run({ kind: 'adamw' }, referenceStore(), 0, 3);
    const state = optimizer.state();
    const before = state.slots['expAvg']!['fc.weight']!.slice();
    optimizer.step(referenceGrads(3), 0.1);
    assert.deepEqual(state.slots['expAvg']!['fc.weight'], before);
  });

  it('refuses state of another kind, other slots or other parameters', () => {
    const sgdState = run({ kind: 'sgd', momentum: 0.9 }, referenceStore(), 0, 2).state();
    throwsCode(() => createOptimizer({ kind: 'adamw' }, referenceStore()).loadState(sgdState), 'EXW_CHECKPOINT', /sgd state; the optimizer is adamw/);
    throwsCode(() => createOptimizer({ kind: 'sgd' }, referenceStore()).loadState(sgdState), 'EXW_CHECKPOINT', /slots \[momentum\], this optimizer \[\]/);
    const fewer = new ParamStore(referenceStore().entries().filter((e) => e.name !== 'bn.scale'));
    throwsCode(() => createOptimizer({ kind: 'sgd', momentum: 0.9 }, fewer).loadState(sgdState), 'EXW_CHECKPOINT', /does not train: bn\.scale/);
    const reshaped = structuredClone(sgdState);
    reshaped.slots['momentum']!['fc.bias'] = new Float32Array(5);
    throwsCode(() => createOptimizer({ kind: 'sgd', momentum: 0.9 }, referenceStore()).loadState(reshaped), 'EXW_CHECKPOINT', /fc\.bias" holds 5 values; the parameter 4/);
  });
});

describe('optimizer inputs', () => {
  it('is deterministic: the same gradients give the same bits', () => {
    const [a, b] = [referenceStore(), referenceStore()];
    run({ kind: 'adamw', weightDecay: 0.05 }, a);
    run({ kind: 'adamw', weightDecay: 0.05 }, b);
    for (const e of a.params()) assert.deepEqual(b.get(e.name).value, e.value);
  });

  it('updates only trainable entries: buffers are left alone', () => {
    const base = referenceStore().entries();
    const running = { name: 'bn.running_mean', dims: [2], value: Float32Array.from([0.5, -0.5]), trainable: false, decay: false };
    const store = new ParamStore([...base, running]);
    run({ kind: 'sgd', momentum: 0.9, weightDecay: 0.1 }, store);
    assert.deepEqual([...store.get('bn.running_mean').value], [0.5, -0.5]);
    assert.deepEqual(Object.keys(createOptimizer({ kind: 'sgd', momentum: 0.9 }, store).state().slots['momentum']!), base.map((e) => e.name));
  });

  it('fills in PyTorch\'s defaults and refuses bad configs naming the field', () => {
    assert.deepEqual(resolveOptimizerConfig({ kind: 'adamw' }), { kind: 'adamw', beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 });
    assert.deepEqual(resolveOptimizerConfig({ kind: 'sgd' }), { kind: 'sgd', momentum: 0, dampening: 0, nesterov: false, weightDecay: 0 });
    throwsCode(() => resolveOptimizerConfig({ kind: 'sgd', nesterov: true }), 'EXW_USAGE', /nesterov: nesterov needs momentum > 0/);
    throwsCode(() => resolveOptimizerConfig({ kind: 'sgd', momentum: 0.9, dampening: 0.1, nesterov: true }), 'EXW_USAGE', /nesterov/);
    throwsCode(() => resolveOptimizerConfig({ kind: 'adamw', beta2: 1 }), 'EXW_USAGE', /beta2/);
    throwsCode(() => resolveOptimizerConfig({ kind: 'adamw', betas: [0.9, 0.99] }), 'EXW_USAGE', /betas/);
    throwsCode(() => resolveOptimizerConfig({ kind: 'adam' }), 'EXW_USAGE', /among sgd, adamw; got "adam"/);
    throwsCode(() => resolveOptimizerConfig(null), 'EXW_USAGE', /needs a "kind"/);
  });

  it('refuses missing, extra or mis-sized gradients and bad learning rates, before changing anything', () => {
    const store = referenceStore();
    const before = store.snapshot();
    const optimizer = createOptimizer({ kind: 'sgd', momentum: 0.9 }, store);
    const grads = referenceGrads(0);
    const without = new Map(grads);
    without.delete('fc.bias');
    throwsCode(() => optimizer.step(without, 0.1), 'EXW_USAGE', /no gradient for parameter "fc\.bias"/);
    throwsCode(() => optimizer.step(new Map([...grads, ['fc.bias', new Float32Array(3)]]), 0.1), 'EXW_USAGE', /"fc\.bias" holds 3 values; the parameter 4/);
    throwsCode(() => optimizer.step(new Map([...grads, ['ghost', new Float32Array(1)]]), 0.1), 'EXW_USAGE', /gradients given for ghost/);
    throwsCode(() => optimizer.step(grads, Number.NaN), 'EXW_USAGE', /learning rate NaN/);
    throwsCode(() => optimizer.step(grads, -1), 'EXW_USAGE', /learning rate -1/);
    assert.equal(optimizer.stepCount, 0);
    assert.deepEqual(store.snapshot(), before);
  });
});
