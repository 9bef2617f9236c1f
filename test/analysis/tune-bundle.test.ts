import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { absoluteTarget, tuneBundlePolicy } from '../../src/analysis/tune-bundle.ts';
import { isExitwiseError } from '../../src/errors.ts';
import type { ExitOutputs } from '../../src/exits/outputs.ts';
import { policyFromJson } from '../../src/exits/policies/registry.ts';
import type { LatencyProfile } from '../../src/schemas/profile.ts';
import { fashionExits } from '../exits/exit-data.ts';
import { manifestForCosts } from './support.ts';

const { val, meta } = fashionExits();
const manifest = manifestForCosts(meta.cumulativeFlops);
const full = meta.cumulativeFlops[3]!;
const n = val.labels.length;

/** `[K][n]` tempered max-softmax and correctness, computed here from the definitions. */
function table(outputs: ExitOutputs, labels: Int32Array, temperatures: readonly number[]): { pMax: Float64Array[]; right: Uint8Array[] } {
  const c = outputs.classes;
  const pMax = outputs.logits.map(() => new Float64Array(n));
  const right = outputs.logits.map(() => new Uint8Array(n));
  outputs.logits.forEach((l, k) => {
    for (let i = 0; i < n; i++) {
      const z = Array.from(l.subarray(i * c, i * c + c), (v) => v / temperatures[k]!);
      const m = Math.max(...z);
      pMax[k]![i] = 1 / z.reduce((s, v) => s + Math.exp(v - m), 0);
      right[k]![i] = z.indexOf(m) === labels[i] ? 1 : 0;
    }
  });
  return { pMax, right };
}

/** Every max-softmax threshold triple on a coarse grid (1 = exit off): accuracy and mean FLOPs. */
function grid(temperatures: readonly number[]): { accuracy: number; flops: number }[] {
  const { pMax, right } = table(val.outputs, val.labels, temperatures);
  const levels = [0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.93, 0.96, 0.98, 0.99, 1.01];
  const out: { accuracy: number; flops: number }[] = [];
  for (const a of levels) for (const b of levels) for (const c of levels) {
    const t = [a, b, c];
    let [hits, flops] = [0, 0];
    for (let i = 0; i < n; i++) {
      let k = 0;
      while (k < 3 && pMax[k]![i]! < t[k]!) k++;
      hits += right[k]![i]!;
      flops += meta.cumulativeFlops[k]!;
    }
    out.push({ accuracy: hits / n, flops: flops / n });
  }
  return out;
}

const finalAccuracy = table(val.outputs, val.labels, [1, 1, 1, 1]).right[3]!.reduce((a, b) => a + b, 0) / n;

describe('tuneBundlePolicy on the real Fashion-MNIST exit logits (validation split)', () => {
  it('--max-drop: meets the drop on val with no more FLOPs than the best of a brute-force threshold grid', () => {
    for (const maxDropPp of [0.5, 2]) {
      const t = tuneBundlePolicy(manifest, val.outputs, val.labels, { target: { kind: 'accuracy-drop', maxDropPp } });
      assert.equal(t.feasible, true);
      assert.equal(t.policy!.kind, 'max-softmax', 'the default policy');
      assert.ok(t.val!.dropPp <= maxDropPp + 1e-9, `drop ${t.val!.dropPp}`);
      assert.deepEqual(t.policy!.temperatures, t.temperatures);
      const best = Math.min(...grid(t.temperatures).filter((g) => (finalAccuracy - g.accuracy) * 100 <= maxDropPp + 1e-9).map((g) => g.flops));
      assert.ok(t.val!.expectedFlops <= best + 1e-6, `${maxDropPp} pp: tuned ${t.val!.expectedFlops} FLOPs vs grid ${best}`);
      assert.ok(t.val!.flopsFraction < 0.5, 'real early exits save FLOPs');
    }
  });

  it('--flops-budget as a fraction or in FLOPs: within budget, at least as accurate as the best grid point within it', () => {
    assert.deepEqual(absoluteTarget({ kind: 'flops-budget', flops: 0.45 }, 1000), { kind: 'flops-budget', flopsPerSample: 450 });
    assert.deepEqual(absoluteTarget({ kind: 'flops-budget', flops: 2e6 }, 1000), { kind: 'flops-budget', flopsPerSample: 2e6 });
    for (const target of [{ kind: 'flops-budget', flops: 0.3 }, { kind: 'flops-budget', flops: 0.5 * full }] as const) {
      const budget = target.flops <= 1 ? target.flops * full : target.flops;
      const t = tuneBundlePolicy(manifest, val.outputs, val.labels, { target });
      assert.equal(t.feasible, true);
      assert.ok(t.val!.expectedFlops <= budget, `${t.val!.expectedFlops} > ${budget}`);
      const best = Math.max(...grid(t.temperatures).filter((g) => g.flops <= budget).map((g) => g.accuracy));
      assert.ok(t.val!.accuracy >= best - 1e-12, `tuned ${t.val!.accuracy} vs grid ${best}`);
    }
    const impossible = tuneBundlePolicy(manifest, val.outputs, val.labels, { target: { kind: 'flops-budget', flops: 0.01 } });
    assert.equal(impossible.feasible, false);
    assert.match(impossible.reason!, /below the cost of exit 0/);
  });

  it('--latency-budget: costs exits with the profile\'s measured times', () => {
    const profile: LatencyProfile = {
      kind: 'latency', backend: 'node', threads: 2, batch: 1, stageMs: [0.2, 0.3, 0.3, 0.4], exitMs: [0.05, 0.05, 0.05, 0.02],
      warmup: 5, repeats: 25, cpu: 'test', measuredAt: '2025-01-01T00:00:00.000Z',
    };
    const t = tuneBundlePolicy(manifest, val.outputs, val.labels, { target: { kind: 'latency-budget', msPerSample: 0.6 }, latency: profile });
    assert.equal(t.feasible, true);
    assert.equal(t.profile, 'cpu-2t-b1');
    const costs = [0.25, 0.6, 0.95, 1.37];
    const ms = t.val!.exitCounts.reduce((s, c, k) => s + c * costs[k]!, 0) / n;
    assert.ok(Math.abs(t.val!.expectedMs! - ms) < 1e-9 && ms <= 0.6 + 1e-12, `expected ${ms} ms`);
    assert.throws(() => tuneBundlePolicy(manifest, val.outputs, val.labels, { target: { kind: 'latency-budget', msPerSample: 0.6 } }), (e: unknown) => isExitwiseError(e, 'EXW_POLICY') && /needs a latency profile/.test(e.message));
  });

  it('fits the policies that learn from validation data (learned, class-means) and restores them from JSON', () => {
    for (const policy of ['learned', 'class-means', 'patience'] as const) {
      const t = tuneBundlePolicy(manifest, val.outputs, val.labels, { target: { kind: 'accuracy-drop', maxDropPp: 2 }, policy });
      assert.equal(t.policy!.kind, policy);
      assert.ok(t.val!.dropPp <= 2 + 1e-9, `${policy}: drop ${t.val!.dropPp}`);
      assert.equal(policyFromJson(t.policy, { exits: 4 }).kind, policy);
    }
  });

  it('--delta certifies with Learn-then-Test (calibrated and fitted on the tuning half only), or says why it cannot', () => {
    const ok = tuneBundlePolicy(manifest, val.outputs, val.labels, { target: { kind: 'accuracy-drop', maxDropPp: 3 }, delta: 0.1 });
    assert.equal(ok.feasible, true);
    const c = ok.certification!;
    assert.deepEqual([c.certified, c.tuneSamples + c.certifySamples, c.delta, c.maxDropPp], [true, n, 0.1, 3]);
    assert.ok(c.upperBoundPp! <= 3 && c.losses! >= 0 && c.candidates > 0);
    const fullVal = tuneBundlePolicy(manifest, val.outputs, val.labels, { target: { kind: 'accuracy-drop', maxDropPp: 3 } });
    assert.notDeepEqual(ok.temperatures, fullVal.temperatures, 'temperatures come from the tuning half, not all of val');

    const strict = tuneBundlePolicy(manifest, val.outputs, val.labels, { target: { kind: 'accuracy-drop', maxDropPp: 0.1 }, delta: 0.05 });
    assert.equal(strict.feasible, false);
    assert.equal(strict.policy, null);
    assert.equal(strict.certification!.certified, false);
    assert.match(strict.reason!, /cannot certify an accuracy drop ≤ 0.1 pp with probability ≥ 0.95: 750 certification samples cannot certify/);
    assert.throws(() => tuneBundlePolicy(manifest, val.outputs, val.labels, { target: { kind: 'flops-budget', flops: 0.4 }, delta: 0.1 }), (e: unknown) => isExitwiseError(e, 'EXW_POLICY') && /certifies an accuracy drop/.test(e.message));
  });

  it('reports ECE before and after the fitted temperatures on val (calibration lowers it)', () => {
    const t = tuneBundlePolicy(manifest, val.outputs, val.labels, { target: { kind: 'accuracy-drop', maxDropPp: 1 } });
    assert.equal(t.calibration.length, 4);
    const before = t.calibration.reduce((s, c) => s + c.eceBefore, 0);
    const after = t.calibration.reduce((s, c) => s + c.eceAfter, 0);
    assert.ok(after < before, `ECE ${before} → ${after}`);
  });
});
