// The compiled adaptive model (src/runtime/compiled): the bundle and its policy as one ONNX graph.
// Its answers are checked against simulate() on every exit's logits and against the segment walk.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ThresholdPolicy } from '../../../src/exits/policies/policy.ts';
import { fitPolicy, policyKinds } from '../../../src/exits/policies/registry.ts';
import type { GraphProto } from '../../../src/onnx/proto/onnx_pb.ts';
import { AdaptiveRuntime } from '../../../src/runtime/adaptive/index.ts';
import { COMPILED_KINDS, compileAdaptive, whyNotCompiled } from '../../../src/runtime/compiled/index.ts';
import { assertSimulated, makeTestBundle, type TestBundle, tunedThresholds } from './support.ts';

const root = mkdtempSync(join(tmpdir(), 'exitwise-compiled-'));
const temperatures = [1.5, 1.2, 1.1, 1];
let tb: TestBundle;
let compiled: AdaptiveRuntime;
let walking: AdaptiveRuntime;

before(async () => {
  tb = await makeTestBundle(root, { temperatures });
  compiled = await AdaptiveRuntime.open(tb.dir, { threads: 1 });
  walking = await AdaptiveRuntime.open(tb.dir, { threads: 1, compiled: false });
});
after(async () => {
  await Promise.all([compiled?.release(), walking?.release()]);
  rmSync(root, { recursive: true, force: true });
});

/** `kind` fitted on the reference outputs, thresholds stopping about `fraction` at each exit, away from every score. */
function tuned(kind: string, fraction = 0.3): ThresholdPolicy {
  return tunedThresholds(fitPolicy(kind, tb.reference, tb.labels, { temperatures }) as ThresholdPolicy, tb.reference, fraction) as ThresholdPolicy;
}


/** Every graph nested in `graph`'s If nodes, depth first, with its depth. */
function nested(graph: GraphProto, depth = 0): { graph: GraphProto; depth: number }[] {
  return [{ graph, depth }, ...graph.node.flatMap((n) => n.attribute.flatMap((a) => (a.g === undefined ? [] : nested(a.g, depth + 1))))];
}

describe('the compiled adaptive model', () => {
  it('compiles max-softmax, entropy and margin, and says why the other kinds walk the segments', () => {
    assert.deepEqual([...COMPILED_KINDS].sort(), ['entropy', 'margin', 'max-softmax']);
    for (const kind of policyKinds()) {
      const policy = fitPolicy(kind, tb.reference, tb.labels, { temperatures, ...(kind === 'patience' ? { patience: 2 } : {}) });
      const reason = whyNotCompiled(tb.bundle, policy);
      if (COMPILED_KINDS.includes(policy.kind)) assert.equal(reason, undefined, kind);
      else assert.match(reason ?? '', new RegExp(kind), `${kind} names itself in the reason`);
      assert.equal(compiled.notCompiledBecause(policy), reason);
    }
    assert.match(walking.notCompiledBecause() ?? '', /compiled: false/);
  });

  for (const kind of COMPILED_KINDS) {
    it(`equals simulate() and the segment walk, whole batch and one input at a time: ${kind}`, async () => {
      const policy = tuned(kind);
      const whole = await compiled.run(tb.images, tb.count, { policy });
      assertSimulated(whole, policy, tb.reference, `${kind} batch`);
      assert.ok(new Set(whole.exitIndex).size >= 3, `${kind}: inputs leave at several exits (${[...new Set(whole.exitIndex)]})`);
      const walked = await walking.run(tb.images, tb.count, { policy });
      assert.deepEqual(whole.exitIndex, walked.exitIndex);
      assert.deepEqual(whole.flops, walked.flops, 'FLOPs per input as the walk counts them');
      const size = 28 * 28;
      for (let i = 0; i < 12; i++) {
        const one = await compiled.run(tb.images.subarray(i * size, (i + 1) * size), 1, { policy });
        assert.equal(one.exitIndex[0], whole.exitIndex[i], `${kind}: input ${i} alone`);
        assert.equal(one.prediction[0], whole.prediction[i]);
        assert.equal(one.flops[0], whole.flops[i]);
      }
    });
  }

  it('keeps input order through in-graph compaction in uneven batches', async () => {
    const policy = tuned('max-softmax', 0.4);
    const whole = await compiled.run(tb.images, tb.count, { policy });
    const size = 28 * 28;
    for (const [start, end] of [[0, 2], [2, 9], [9, 40], [40, tb.count]] as const) {
      const part = await compiled.run(tb.images.subarray(start * size, end * size), end - start, { policy });
      assert.deepEqual(part.exitIndex, whole.exitIndex.subarray(start, end));
      assert.deepEqual(part.prediction, whole.prediction.subarray(start, end));
    }
  });

  it('nests one If per enabled early exit and leaves the heads of disabled exits out', () => {
    const policy = tuned('entropy');
    for (const shape of ['single', 'batch'] as const) {
      const all = compileAdaptive(tb.bundle, policy, shape);
      assert.equal(Math.max(...nested(all.model.graph!).map((g) => g.depth)), 3, `${shape}: three early exits, three levels of branches`);
      const oneOff = compileAdaptive(tb.bundle, policy.withThresholds([policy.thresholds[0]!, null, policy.thresholds[2]!]), shape);
      assert.deepEqual(oneOff.exitsRun, [true, false, true, true]);
      assert.equal(Math.max(...nested(oneOff.model.graph!).map((g) => g.depth)), 2, shape);
      const head1 = new Set(tb.bundle.exits[1]!.graph!.node.map((n) => n.output[0]));
      const outputs = nested(oneOff.model.graph!).flatMap(({ graph }) => graph.node.flatMap((n) => n.output));
      assert.ok(!outputs.some((o) => head1.has(o)), `${shape}: no node of exit 1's head`);
    }
  });

  it('answers at the final exit for every input when no threshold can be met, and at exit 0 when all are', async () => {
    const policy = tuned('max-softmax');
    const never = await compiled.run(tb.images, tb.count, { policy: policy.withThresholds([1, 1, 1]) });
    // A tempered max-softmax of 1 needs one logit far above the others; these tiny exits never get there.
    assert.ok(never.exitIndex.every((k) => k === 3));
    const always = await compiled.run(tb.images, tb.count, { policy: policy.withThresholds([0, 0, 0]) });
    assert.ok(always.exitIndex.every((k) => k === 0));
    assertSimulated(always, policy.withThresholds([0, 0, 0]), tb.reference, 'all at exit 0');
  });

  it('uses the segment walk for policies it does not compile, with the same answers as before', async () => {
    const policy = fitPolicy('patience', tb.reference, tb.labels, { patience: 2 });
    assert.ok(compiled.notCompiledBecause(policy) !== undefined);
    assertSimulated(await compiled.run(tb.images, tb.count, { policy }), policy, tb.reference, 'patience');
  });
});
