import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isExitwiseError } from '../../../src/errors.ts';
import { DEFAULT_THRESHOLD } from '../../../src/exits/policies/defaults.ts';
import { isThresholdPolicy, type ExitPolicy, type ThresholdPolicy } from '../../../src/exits/policies/policy.ts';
import { fitPolicy, policyFromJson, policyKinds } from '../../../src/exits/policies/registry.ts';
import { directCallsAvailable } from '../../../src/runtime/adaptive/calls.ts';
import { AdaptiveRuntime, bundlePolicy } from '../../../src/runtime/adaptive/index.ts';
import { assertSimulated, makeTestBundle, type TestBundle, tunedThresholds } from './support.ts';

const root = mkdtempSync(join(tmpdir(), 'exitwise-adaptive-'));
let tb: TestBundle;
let runtime: AdaptiveRuntime;
const temperatures = [1.5, 1.2, 1.1, 1];

before(async () => {
  tb = await makeTestBundle(root, { temperatures });
  runtime = await AdaptiveRuntime.open(tb.dir, { threads: 1 });
});
after(async () => {
  await runtime?.release();
  rmSync(root, { recursive: true, force: true });
});

/** The policy of `kind` fitted on the reference outputs, thresholds stopping about 30% at each exit. */
function policyOf(kind: string): ExitPolicy {
  const fitted = fitPolicy(kind, tb.reference, tb.labels, { temperatures, ...(kind === 'patience' ? { patience: 2 } : {}) });
  return isThresholdPolicy(fitted) ? tunedThresholds(fitted, tb.reference, 0.3) : fitted;
}

/** Per-input FLOPs of a sample leaving at exit k having run every head up to k. */
const cumulative = (k: number): number => tb.bundle.manifest.exits[k]!.cumulativeFlops;


describe('AdaptiveRuntime.run', () => {
  for (const kind of policyKinds()) {
    it(`equals simulate() on the logits of every exit: ${kind}`, async () => {
      const policy = policyOf(kind);
      const result = await runtime.run(tb.images, tb.count, { policy });
      assertSimulated(result, policy, tb.reference, kind);
      const histogram = new Set(result.exitIndex);
      assert.ok(histogram.size >= 2, `${kind}: inputs leave at more than one exit (got ${[...histogram]})`);
      result.exitIndex.forEach((k, i) => assert.equal(result.flops[i], cumulative(k)));
    });
  }

  it('gives the same answers per input whatever the batch: one at a time, and in uneven slices', async () => {
    const policy = policyOf('patience');
    const whole = await runtime.run(tb.images, tb.count, { policy });
    const size = 28 * 28;
    for (const [start, end] of [[0, 1], [1, 2], [2, 9], [9, 40], [40, tb.count]] as const) {
      const part = await runtime.run(tb.images.subarray(start * size, end * size), end - start, { policy });
      assert.deepEqual(part.exitIndex, whole.exitIndex.subarray(start, end));
      assert.deepEqual(part.prediction, whole.prediction.subarray(start, end));
    }
  });

  it('runs concurrent calls independently', async () => {
    const a = policyOf('max-softmax');
    const b = policyOf('entropy');
    const [ra, rb] = await Promise.all([runtime.run(tb.images, tb.count, { policy: a }), runtime.run(tb.images, tb.count, { policy: b })]);
    assertSimulated(ra, a, tb.reference, 'concurrent max-softmax');
    assertSimulated(rb, b, tb.reference, 'concurrent entropy');
  });

  it('does not run the head of a disabled exit, and decides exactly as if it had', async () => {
    const tuned = policyOf('max-softmax') as ThresholdPolicy;
    const policy = tuned.withThresholds([tuned.thresholds[0]!, null, tuned.thresholds[2]!]);
    const result = await runtime.run(tb.images, tb.count, { policy });
    assertSimulated(result, policy, tb.reference, 'disabled exit 1');
    assert.ok(!result.exitIndex.includes(1));
    const head1 = tb.bundle.manifest.exits[1]!.flops;
    result.exitIndex.forEach((k, i) => assert.equal(result.flops[i], k === 0 ? cumulative(0) : cumulative(k) - head1));
  });

  it('with every early exit disabled, equals the backbone alone (stages chained, final head only)', async () => {
    const policy = policyFromJson({ kind: 'entropy', exits: 4, thresholds: [null, null, null] });
    const result = await runtime.run(tb.images, tb.count, { policy });
    assert.ok(result.exitIndex.every((k) => k === 3));
    assertSimulated(result, policy, tb.reference, 'no early exit');
    const { stages, exits } = tb.bundle.manifest;
    const backbone = stages.reduce((s, st) => s + st.flops, 0) + exits[3]!.flops;
    assert.ok(result.flops.every((f) => f === backbone));
  });

  it('stops everyone at exit 0 when the threshold lets all pass, running stage 0 and head 0 only', async () => {
    const policy = policyFromJson({ kind: 'max-softmax', exits: 4, thresholds: [0, 0.5, 0.5] });
    const result = await runtime.run(tb.images, tb.count, { policy });
    assert.ok(result.exitIndex.every((k) => k === 0));
    assert.ok(result.flops.every((f) => f === cumulative(0)));
    assertSimulated(result, policy, tb.reference, 'all at exit 0');
  });

  it('gives the same results with one session per segment file, and through the public ORT API', async () => {
    for (const options of [{ fuse: false }, { directCalls: false }]) {
      const other = await AdaptiveRuntime.open(tb.bundle, { threads: 1, ...options });
      try {
        for (const kind of ['margin', 'learned']) {
          const policy = policyOf(kind);
          assertSimulated(await other.run(tb.images, tb.count, { policy }), policy, tb.reference, `${kind}, ${JSON.stringify(options)}`);
        }
      } finally {
        await other.release();
      }
    }
  });

  it('calls onnxruntime-node\'s binding directly on this install (else every call costs ≈ 18 µs more)', () => {
    assert.ok(directCallsAvailable(), 'onnxruntime-node/dist/binding.js changed: update src/runtime/adaptive/calls.ts');
  });

  it('returns empty results for an empty batch', async () => {
    const result = await runtime.run(new Float32Array(0), 0);
    assert.equal(result.prediction.length, 0);
    assert.equal(result.logits.length, 0);
  });

  it('refuses inputs of the wrong size or type, and policies for another number of exits', async () => {
    await assert.rejects(runtime.run(new Float32Array(784 * 2 - 1), 2), (e: unknown) => isExitwiseError(e, 'EXW_USAGE') && /2 × \[1, 28, 28\] = 1568 values, got 1567/.test(e.message));
    await assert.rejects(runtime.run(new Float64Array(784) as unknown as Float32Array, 1), (e: unknown) => isExitwiseError(e, 'EXW_USAGE') && /Float64Array/.test(e.message));
    await assert.rejects(runtime.run(new Float32Array(784), 1.5), (e: unknown) => isExitwiseError(e, 'EXW_USAGE'));
    const three = policyFromJson({ kind: 'max-softmax', exits: 3, thresholds: [0.9, 0.9] });
    await assert.rejects(runtime.run(new Float32Array(784), 1, { policy: three }), (e: unknown) => isExitwiseError(e, 'EXW_POLICY') && /3 exits, the bundle has 4/.test(e.message));
    await assert.rejects(AdaptiveRuntime.open(tb.dir, { policy: three }), (e: unknown) => isExitwiseError(e, 'EXW_POLICY'));
    await assert.rejects(AdaptiveRuntime.open(join(root, 'missing.exitwise')), (e: unknown) => isExitwiseError(e, 'EXW_BUNDLE'));
  });
});

describe('the default policy', () => {
  it('is max-softmax with the default thresholds and the manifest temperatures when the manifest has none', () => {
    const policy = runtime.policy as ThresholdPolicy;
    assert.equal(policy.kind, 'max-softmax');
    assert.deepEqual(policy.thresholds, [DEFAULT_THRESHOLD['max-softmax'], DEFAULT_THRESHOLD['max-softmax'], DEFAULT_THRESHOLD['max-softmax']]);
    assert.deepEqual(policy.temperatures, temperatures);
  });

  it("is the manifest's policy, filled in with the exit count and temperatures it leaves out", () => {
    const manifest = { ...tb.bundle.manifest, policy: { kind: 'margin', thresholds: [0.3, null, 0.5] } };
    const policy = bundlePolicy(manifest) as ThresholdPolicy;
    assert.equal(policy.kind, 'margin');
    assert.deepEqual(policy.thresholds, [0.3, null, 0.5]);
    assert.deepEqual(policy.temperatures, temperatures);
    const own = bundlePolicy(manifest, { kind: 'patience', patience: 2, temperatures: [1, 1, 1, 1] });
    assert.deepEqual(own.temperatures, [1, 1, 1, 1], 'temperatures a policy carries are its own');
    assert.throws(() => bundlePolicy(manifest, { kind: 'margin', thresholds: [0.3] }), (e: unknown) => isExitwiseError(e, 'EXW_POLICY'));
  });
});
