import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { simulate } from '../../../src/exits/policies/simulate.ts';
import { PolicyChooser } from '../../../src/runtime/adaptive/policy-chooser.ts';
import { RecordedStepper } from '../../../src/runtime/adaptive/recorded.ts';
import { keepRows } from '../../../src/runtime/adaptive/rows.ts';
import { walk, type Step } from '../../../src/runtime/adaptive/walk.ts';
import type { TensorLike } from '../../../src/runtime/tensor.ts';
import { fashionExits } from '../../exits/exit-data.ts';
import { POLICY_CASES } from '../../exits/policy-cases.ts';

describe('keepRows', () => {
  it('gathers the rows that go on, in order, for any element type and rank', () => {
    const stop = Uint8Array.from([1, 0, 0, 1, 0, 1, 1, 0]); // runs of kept rows: 1–2, 4, 7
    const kept = [1, 2, 4, 7];
    const f = { type: 'float32', dims: [8, 2, 3], data: Float32Array.from({ length: 48 }, (_, i) => i + 0.5) } as const;
    const out = keepRows(f, stop, 4);
    assert.deepEqual(out.dims, [4, 2, 3]);
    assert.deepEqual(Array.from(out.data as Float32Array), kept.flatMap((r) => Array.from({ length: 6 }, (_, j) => r * 6 + j + 0.5)));
    const ints = { type: 'int64', dims: [8], data: BigInt64Array.from({ length: 8 }, (_, i) => BigInt(i * 10)) } as const;
    const outInts = keepRows(ints, stop, 4) as TensorLike<'int64'>;
    assert.ok(outInts.data instanceof BigInt64Array);
    assert.deepEqual(Array.from(outInts.data), kept.map((r) => BigInt(r * 10)));
    assert.deepEqual(keepRows(f, new Uint8Array(8).fill(1), 0).dims, [0, 2, 3]);
  });
});

describe('the walk over recorded logits', () => {
  const { val } = fashionExits();

  for (const c of POLICY_CASES) {
    it(`equals simulate() with batch compaction on a real network's logits: ${c.name}`, async () => {
      const policy = c.make(val);
      const stepper = new RecordedStepper(val.outputs);
      const steps: Step[] = [];
      for await (const step of walk(stepper, stepper.feeds(), val.outputs.samples, new PolicyChooser(policy, val.outputs.samples, { skipDisabled: true }))) steps.push(step);
      const sim = simulate(policy, val.outputs);
      const exitIndex = new Int32Array(val.outputs.samples).fill(-1);
      const prediction = new Int32Array(val.outputs.samples);
      let running = Array.from({ length: val.outputs.samples }, (_, i) => i);
      for (const step of steps) {
        assert.deepEqual(Array.from(step.rows), running, `exit ${step.exit} sees exactly the inputs still running, in input order`);
        step.rows.forEach((i, j) => {
          if (step.stop[j] === 1) {
            exitIndex[i] = step.exit;
            prediction[i] = step.prediction[j]!;
          }
        });
        running = running.filter((_, j) => step.stop[j] === 0);
        assert.equal(step.remaining, running.length);
      }
      assert.deepEqual(exitIndex, sim.exitIndex);
      assert.deepEqual(prediction, sim.prediction);
      assert.ok(new Set(sim.exitIndex).size >= 3, 'samples stop at several exits');
    });
  }
});
