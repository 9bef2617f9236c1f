/** Bad policy JSON and misuse give EXW_POLICY errors (exit status 65) that say what to do. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isExitwiseError } from '../../src/errors.ts';
import { exitOutputs, fromProbabilities } from '../../src/exits/outputs.ts';
import { simulate } from '../../src/exits/policies/simulate.ts';
import { softmaxRef } from './policy-cases.ts';
import { fitPolicy, policyFromJson, policyKinds } from '../../src/exits/policies/registry.ts';
import { PolicyJsonSchema } from '../../src/schemas/policy.ts';
import { fashionExits } from './exit-data.ts';

function rejects(json: unknown, message: RegExp, expect: { exits?: number } = {}): void {
  assert.throws(
    () => policyFromJson(json, expect),
    (e: unknown) => isExitwiseError(e, 'EXW_POLICY') && e.exitStatus === 65 && message.test(e.message) && (e.hint ?? '').length > 0,
  );
}

test('unknown kinds are refused with the registered kinds listed', () => {
  try {
    policyFromJson({ kind: 'max-softmaxx', exits: 2, thresholds: [0.9] });
    assert.fail('accepted an unknown kind');
  } catch (e) {
    assert.ok(isExitwiseError(e, 'EXW_POLICY'));
    assert.match(e.message, /unknown policy kind 'max-softmaxx'/);
    for (const kind of policyKinds()) assert.ok(e.hint!.includes(kind), `hint lacks ${kind}`);
  }
  rejects({ exits: 2 }, /needs a string `kind`/);
  rejects(null, /needs a string `kind`/);
  rejects({ kind: 'toString', exits: 2 }, /unknown policy kind/); // not an inherited property
});

test('threshold counts, NaN, infinities, ranges and typos are refused', () => {
  rejects({ kind: 'max-softmax', exits: 3, thresholds: [0.9] }, /1 thresholds for 3 exits/);
  rejects({ kind: 'max-softmax', exits: 3, thresholds: [0.9, 0.8, 0.7] }, /3 thresholds for 3 exits/);
  rejects({ kind: 'max-softmax', exits: 3, thresholds: [0.9, Number.NaN] }, /invalid max-softmax policy/);
  rejects({ kind: 'margin', exits: 2, thresholds: [Infinity] }, /invalid margin policy/);
  rejects({ kind: 'max-softmax', exits: 2, thresholds: [1.5] }, /outside \[0, 1\]/);
  // An entropy threshold in nats (log 10 ≈ 2.3 is the maximum) would silently mean "always exit".
  rejects({ kind: 'entropy', exits: 2, thresholds: [1.2] }, /outside \[0, 1\]/);
  rejects({ kind: 'max-softmax', exits: 2, threshold: [0.9] }, /invalid max-softmax policy/);
  rejects({ kind: 'max-softmax', exits: 2, thresholds: [0.9], temperatures: [1] }, /1 temperatures for 2 exits/);
  rejects({ kind: 'max-softmax', exits: 2, thresholds: [0.9], temperatures: [1, 0] }, /invalid max-softmax policy/);
  rejects({ kind: 'max-softmax', exits: 0, thresholds: [] }, /invalid max-softmax policy/);
  rejects({ kind: 'max-softmax', exits: 3, thresholds: [0.9, 0.8] }, /for 3 exits, the network has 4/, { exits: 4 });
  rejects({ kind: 'patience', exits: 3, patience: 3 }, /never stops a sample before the final exit/);
  rejects({ kind: 'patience', exits: 3, patience: 0 }, /invalid patience policy/);
  rejects({ kind: 'learned', exits: 3, thresholds: [0.9, 0.9], weights: [[0, 0, 0, 0, 0]] }, /2 finite weight vectors/);
  rejects({ kind: 'class-means', exits: 2, thresholds: [0.5], means: [[[1, 0], [0]]], scales: [1] }, /2×2 matrix/);
});

test('null disables an exit explicitly; a single-exit policy has no thresholds', () => {
  const p = policyFromJson({ kind: 'entropy', exits: 3, thresholds: [null, 0.2] });
  assert.equal(p.thresholdAt(0), null);
  assert.equal(p.thresholdAt(1), 0.2);
  const one = policyFromJson({ kind: 'max-softmax', exits: 1, thresholds: [] });
  const d = one.decideBatch(0, new Float32Array([0, 1, 1, 0]), one.createState(2));
  assert.deepEqual(Array.from(d.exit), [1, 1]);
});

test('every policy JSON validates against the published discriminated union', () => {
  const { val } = fashionExits();
  for (const kind of policyKinds()) {
    const json = fitPolicy(kind, val.outputs, val.labels).toJSON();
    assert.ok(PolicyJsonSchema.safeParse(json).success, kind);
  }
});

test('decideBatch refuses out-of-order exits, ragged logits and NaN', () => {
  const p = policyFromJson({ kind: 'max-softmax', exits: 3, thresholds: [0.9, 0.9] });
  const s = p.createState(2);
  assert.throws(() => p.decideBatch(1, new Float32Array(4), s), { code: 'EXW_POLICY', message: /state is at exit 0/ });
  assert.throws(() => p.decideBatch(3, new Float32Array(4), s), { code: 'EXW_POLICY', message: /exit 3 does not exist/ });
  assert.throws(() => p.decideBatch(0, new Float32Array(5), s), { code: 'EXW_POLICY', message: /5 logits for a batch of 2/ });
  assert.throws(() => p.decideBatch(0, new Float32Array([0, 1, Number.NaN, 0]), p.createState(2)), { code: 'EXW_POLICY', message: /non-finite/ });
  assert.throws(() => s.remaining(new Uint8Array(3)), { code: 'EXW_POLICY' });
});

test('exit outputs are validated: NaN logits, ragged exits, bad labels', () => {
  assert.throws(() => exitOutputs([new Float32Array([0, Number.NaN])], 2), { code: 'EXW_POLICY', message: /non-finite logit/ });
  assert.throws(() => exitOutputs([new Float32Array(4), new Float32Array(6)], 2), { code: 'EXW_POLICY', message: /exit 1 has 6 values/ });
  assert.throws(() => exitOutputs([], 2), { code: 'EXW_POLICY' });
  const o = exitOutputs([new Float32Array(4), new Float32Array(4)], 2);
  assert.throws(() => fitPolicy('learned', o, new Int32Array([0, 2])), { code: 'EXW_POLICY', message: /label 2 at sample 1/ });
  assert.throws(() => fitPolicy('learned', o, new Int32Array([0])), { code: 'EXW_POLICY', message: /1 labels for 2 samples/ });
  assert.throws(() => fitPolicy('max-softmax', o, new Int32Array([0, 1]), { temperatures: [1] }), { code: 'EXW_POLICY' });
});

test('probabilities in place of logits give the same decisions (softmax(log p) = p)', () => {
  const { val } = fashionExits();
  const C = val.outputs.classes;
  const probs = val.outputs.logits.map((l) => {
    const out = new Float32Array(l.length);
    for (let i = 0; i < val.outputs.samples; i++) out.set(softmaxRef(Array.from(l.subarray(i * C, i * C + C)), 1), i * C);
    return out;
  });
  const fromP = fromProbabilities(probs, C);
  for (const kind of ['max-softmax', 'entropy', 'margin', 'patience']) {
    const policy = fitPolicy(kind, val.outputs, val.labels);
    const a = simulate(policy, val.outputs).exitIndex;
    const b = simulate(policy, fromP).exitIndex;
    const differ = a.filter((k, i) => k !== b[i]).length;
    assert.ok(differ <= 2, `${kind}: ${differ} samples differ (float32 rounding of p only)`);
  }
  assert.throws(() => fromProbabilities([new Float32Array([0.5, 1.5])], 2), { code: 'EXW_POLICY' });
});
