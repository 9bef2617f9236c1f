import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isExitwiseError } from '../../../src/errors.ts';
import type { ExitPolicy } from '../../../src/exits/policies/policy.ts';
import { fitPolicy } from '../../../src/exits/policies/registry.ts';
import { simulate } from '../../../src/exits/policies/simulate.ts';
import { RowReader } from '../../../src/exits/softmax.ts';
import { AnytimeRun } from '../../../src/runtime/adaptive/anytime.ts';
import { AdaptiveRuntime, type Refinement } from '../../../src/runtime/adaptive/index.ts';
import { PolicyChooser } from '../../../src/runtime/adaptive/policy-chooser.ts';
import { RecordedStepper } from '../../../src/runtime/adaptive/recorded.ts';
import type { LiveTensors } from '../../../src/runtime/adaptive/rows.ts';
import { walk } from '../../../src/runtime/adaptive/walk.ts';
import { makeTestBundle, type TestBundle, tunedThresholds } from './support.ts';

const root = mkdtempSync(join(tmpdir(), 'exitwise-anytime-'));
let tb: TestBundle;
let runtime: AdaptiveRuntime;
let policy: ExitPolicy;

before(async () => {
  tb = await makeTestBundle(root);
  policy = tunedThresholds(fitPolicy('max-softmax', tb.reference, tb.labels, { temperatures: [1.5, 1.2, 1.1, 1] }) as never, tb.reference, 0.3);
  runtime = await AdaptiveRuntime.open(tb.dir, { threads: 1, policy });
});
after(async () => {
  await runtime?.release();
  rmSync(root, { recursive: true, force: true });
});

async function collect(run: AsyncIterable<Refinement>): Promise<Refinement[]> {
  const out: Refinement[] = [];
  for await (const r of run) out.push(r);
  return out;
}

describe('AdaptiveRuntime.anytime', () => {
  it('refines the running inputs exit by exit, marks the answers the policy settles, and ends with run()\'s answers', async () => {
    const seen: Refinement[] = [];
    const run = runtime.anytime(tb.images, tb.count, { onRefinement: (r) => seen.push(r) });
    const refinements = await collect(run);
    const sim = simulate(policy, tb.reference);
    const reader = new RowReader(10);
    assert.deepEqual(refinements.map((r) => r.exit), [0, 1, 2, 3]);
    assert.deepEqual(seen, refinements, 'the callback sees every refinement');
    for (const r of refinements) {
      const expected = Array.from({ length: tb.count }, (_, i) => i).filter((i) => sim.exitIndex[i]! >= r.exit);
      assert.deepEqual(Array.from(r.indices), expected, `exit ${r.exit} refines the inputs still running, ascending`);
      r.indices.forEach((i, j) => {
        assert.equal(r.final[j], sim.exitIndex[i] === r.exit ? 1 : 0);
        assert.equal(r.prediction[j], reader.read(tb.reference.logits[r.exit]!, i * 10).argmax, 'the answer of this exit');
      });
      assert.equal(r.remaining, expected.filter((i) => sim.exitIndex[i]! > r.exit).length);
    }
    const result = await run.result();
    const plain = await runtime.run(tb.images, tb.count);
    assert.equal(result.stoppedBy, 'complete');
    assert.ok(result.final.every((f) => f === 1));
    assert.deepEqual(result.exitIndex, plain.exitIndex);
    assert.deepEqual(result.prediction, plain.prediction);
    // run() goes through the compiled graph, where ONNX Runtime may fuse differently: same values to float rounding.
    result.logits.forEach((v, i) => assert.ok(Math.abs(v - plain.logits[i]!) < 1e-5, `logit ${i}: ${v} vs ${plain.logits[i]}`));
  });

  it('stops at a deadline of 0 after exit 0, with exit 0\'s answer for every input', async () => {
    const run = runtime.anytime(tb.images, tb.count, { deadlineMs: 0 });
    const refinements = await collect(run);
    assert.deepEqual(refinements.map((r) => r.exit), [0]);
    assert.equal(refinements[0]!.indices.length, tb.count);
    const result = await run.result();
    assert.equal(result.stoppedBy, 'deadline');
    assert.ok(result.exitIndex.every((k) => k === 0));
    assert.deepEqual(result.prediction, refinements[0]!.prediction);
    assert.deepEqual(result.final, refinements[0]!.final, 'final only where the policy stopped the input');
    assert.ok(result.final.includes(0) && result.final.includes(1));
  });

  it('stops when the signal aborts, and when the consumer breaks out', async () => {
    const controller = new AbortController();
    const aborted = runtime.anytime(tb.images, tb.count, { signal: controller.signal });
    const exits: number[] = [];
    for await (const r of aborted) {
      exits.push(r.exit);
      if (r.exit === 1) controller.abort();
    }
    assert.deepEqual(exits, [0, 1]);
    const result = await aborted.result();
    assert.equal(result.stoppedBy, 'abort');
    assert.ok(result.exitIndex.every((k) => k <= 1));

    const broken = runtime.anytime(tb.images, tb.count);
    for await (const r of broken) if (r.exit === 0) break;
    assert.equal((await broken.result()).stoppedBy, 'cancelled');
  });

  it('runs to the end when only result() is awaited, and can be iterated once only', async () => {
    const run = runtime.anytime(tb.images, tb.count);
    const result = await run.result();
    assert.equal(result.stoppedBy, 'complete');
    assert.throws(() => run[Symbol.asyncIterator](), (e: unknown) => isExitwiseError(e, 'EXW_USAGE'));
    assert.throws(() => runtime.anytime(tb.images, tb.count, { deadlineMs: -1 }), (e: unknown) => isExitwiseError(e, 'EXW_USAGE'));
  });

  it('cuts a step in flight at the deadline instead of waiting for it', async () => {
    // Each step takes 100 ms: exit 0 arrives at ≈100 ms, exit 1 would at ≈200 ms, the deadline is at 150 ms.
    const recorded = new RecordedStepper(tb.reference);
    const slow = Object.assign(Object.create(recorded) as RecordedStepper, {
      step: async (k: number, live: LiveTensors, withExit: boolean) => {
        await new Promise((resolve) => setTimeout(resolve, 100));
        return recorded.step(k, live, withExit);
      },
    });
    const steps = walk(slow, recorded.feeds(), tb.count, new PolicyChooser(policy, tb.count, { skipDisabled: false }));
    const run = new AnytimeRun(steps, tb.count, 10, { deadlineMs: 150 });
    const refinements = await collect(run);
    const result = await run.result();
    assert.deepEqual(refinements.map((r) => r.exit), [0]);
    assert.equal(result.stoppedBy, 'deadline');
    assert.ok(result.elapsedMs >= 149 && result.elapsedMs < 195, `ended at the deadline, not after the step in flight (${result.elapsedMs.toFixed(0)} ms)`);
  });
});
