/**
 * Generic tests over every policy kind (policy-cases.ts), on real Fashion-MNIST exit logits and
 * on synthetic ones: brute-force reference, JSON round trip, batch = per-sample, monotone in
 * threshold, never past the final exit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/data/random.ts';
import { selectSamples } from '../../src/exits/outputs.ts';
import { policyFromJson } from '../../src/exits/policies/registry.ts';
import { simulate } from '../../src/exits/policies/simulate.ts';
import type { ExitPolicy, PatiencePolicy } from '../../src/exits/policies/policy.ts';
import { fashionExits, syntheticExits, type LabelledOutputs } from './exit-data.ts';
import { POLICY_CASES, referenceExits } from './policy-cases.ts';

const datasets: [string, () => LabelledOutputs][] = [
  ['fashion-mnist val', () => fashionExits().val],
  ['synthetic', () => syntheticExits({ samples: 1500, seed: 7 })],
];

for (const c of POLICY_CASES) {
  for (const [dataName, data] of datasets) {
    const name = `${c.name} on ${dataName}`;

    test(`${name}: simulate equals the brute-force reference, with exits at every stage`, () => {
      const d = data();
      const policy = c.make(d);
      const sim = simulate(policy, d.outputs);
      const ref = referenceExits(c, policy, d.outputs);
      let unclear = 0;
      for (let i = 0; i < ref.length; i++) {
        if (ref[i] === -1) unclear++;
        else assert.equal(sim.exitIndex[i], ref[i], `sample ${i}`);
      }
      assert.ok(unclear <= ref.length * 0.002, `${unclear} too-close-to-call samples`);
      // The case thresholds are chosen to exercise every exit, so the comparison is not vacuous.
      // (A streak of p first happens at exit p − 1.)
      const first = policy.kind === 'patience' ? (policy as PatiencePolicy).patience - 1 : 0;
      for (let k = first; k < policy.exits; k++) assert.ok(sim.exitIndex.some((e) => e === k), `nothing stops at exit ${k}`);
    });

    test(`${name}: JSON round trip gives an equal policy with equal decisions`, () => {
      const d = data();
      const policy = c.make(d);
      const json = JSON.parse(JSON.stringify(policy.toJSON())) as unknown;
      const back = policyFromJson(json, { exits: policy.exits });
      assert.deepEqual(back.toJSON(), policy.toJSON());
      assert.deepEqual(simulate(back, d.outputs), simulate(policy, d.outputs));
    });

    test(`${name}: decideBatch on random batches and one sample at a time equals simulate`, () => {
      const d = data();
      const policy = c.make(d);
      const sim = simulate(policy, d.outputs);
      const rng = new Rng(3);
      for (let start = 0; start < d.outputs.samples; ) {
        const size = Math.min(d.outputs.samples - start, [1, 7, 64, 300][rng.int(4)]!);
        const indices = Array.from({ length: size }, (_, r) => start + r);
        const exits = runIncrementally(policy, selectSamples(d.outputs, indices).logits, d.outputs.classes);
        indices.forEach((i, r) => assert.equal(exits[r], sim.exitIndex[i], `sample ${i} in a batch of ${size}`));
        start += size;
      }
    });

    test(`${name}: a stricter policy never stops a sample earlier`, () => {
      const d = data();
      const policy = c.make(d);
      const strict = c.stricter(policy);
      assert.notDeepEqual(strict.toJSON(), policy.toJSON());
      const a = simulate(policy, d.outputs).exitIndex;
      const b = simulate(strict, d.outputs).exitIndex;
      let later = 0;
      for (let i = 0; i < a.length; i++) {
        assert.ok(b[i]! >= a[i]!, `sample ${i}: exit ${a[i]} → ${b[i]}`);
        if (b[i]! > a[i]!) later++;
      }
      assert.ok(later > 0, 'stricter thresholds changed nothing');
    });

    test(`${name}: every sample stops exactly once, never after the final exit`, () => {
      const d = data();
      const policy = c.make(d);
      const K = policy.exits;
      const state = policy.createState(d.outputs.samples);
      // Without compaction: at the final exit, every sample stops whatever its score.
      for (let k = 0; k < K; k++) {
        const decision = policy.decideBatch(k, d.outputs.logits[k]!, state);
        if (k === K - 1) assert.ok(decision.exit.every((e) => e === 1));
      }
      assert.throws(() => policy.decideBatch(K - 1, d.outputs.logits[K - 1]!, state), { code: 'EXW_POLICY' });
      const sim = simulate(policy, d.outputs);
      assert.ok(sim.exitIndex.every((e) => e >= 0 && e < K));
    });

    test(`${name}: scores and thresholds reproduce the decisions`, () => {
      const d = data();
      const policy = c.make(d);
      const scores = policy.scores(d.outputs);
      const sim = simulate(policy, d.outputs);
      const passes = (s: number, t: number | null): boolean => t !== null && (policy.direction === 'at-least' ? s >= t : s <= t);
      for (let i = 0; i < d.outputs.samples; i++) {
        let k = 0;
        while (k < policy.exits - 1 && !passes(scores[k]![i]!, policy.thresholdAt(k))) k++;
        assert.equal(sim.exitIndex[i], k);
        assert.equal(sim.score[i], Math.fround(scores[k]![i]!));
      }
    });
  }
}

/** Runs a batch through the policy exit by exit with compaction, as the runtime does. */
function runIncrementally(policy: ExitPolicy, logits: readonly Float32Array[], classes: number): Int32Array {
  const n = logits[0]!.length / classes;
  const out = new Int32Array(n).fill(-1);
  let active = Array.from({ length: n }, (_, i) => i);
  let state = policy.createState(n);
  for (let k = 0; k < policy.exits; k++) {
    const batch = new Float32Array(active.length * classes);
    active.forEach((i, r) => batch.set(logits[k]!.subarray(i * classes, (i + 1) * classes), r * classes));
    const d = policy.decideBatch(k, batch, state);
    active.forEach((i, r) => {
      if (d.exit[r] === 1) out[i] = k;
    });
    state = state.remaining(d.exit);
    active = active.filter((_, r) => d.exit[r] === 0);
  }
  assert.equal(active.length, 0);
  return out;
}
