/**
 * The guarantee's arithmetic: binomial tails against exact rational arithmetic, the
 * Clopper–Pearson bound against its definition, and fixed-sequence testing against simulation —
 * many validation sets drawn from a known population, counting how often the certified policy's
 * true drop exceeds ε (it must be at most δ, up to simulation error).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/data/random.ts';
import { selectSamples } from '../../src/exits/outputs.ts';
import { fitPolicy, policyFromJson } from '../../src/exits/policies/registry.ts';
import { binomialCdf, binomialUpperBound, minimumSamples } from '../../src/exits/tuning/binomial.ts';
import { dropLosses, fixedSequenceTest, tuneCertified } from '../../src/exits/tuning/guarantee.ts';
import { fashionExits, syntheticExits } from './exit-data.ts';
import { correctness } from './tuning-support.ts';

/** P(Bin(n, a/b) ≤ k) exactly, as a BigInt fraction turned into a double at the end. */
function exactCdf(k: number, n: number, a: bigint, b: bigint): number {
  let num = 0n;
  let choose = 1n;
  for (let i = 0; i <= k; i++) {
    if (i > 0) choose = (choose * BigInt(n - i + 1)) / BigInt(i);
    num += choose * a ** BigInt(i) * (b - a) ** BigInt(n - i);
  }
  const den = b ** BigInt(n);
  const scale = 10n ** 30n;
  return Number((num * scale) / den) / 1e30;
}

test('the binomial CDF equals exact rational arithmetic', () => {
  for (const n of [1, 2, 7, 30]) {
    for (const [a, b] of [[1n, 2n], [1n, 10n], [3n, 100n], [97n, 100n]] as const) {
      for (let k = 0; k <= n; k++) {
        const want = exactCdf(k, n, a, b);
        const got = binomialCdf(k, n, Number(a) / Number(b));
        assert.ok(Math.abs(got - want) <= 1e-13 + 1e-12 * want, `n ${n} p ${a}/${b} k ${k}: ${got} vs ${want}`);
      }
    }
  }
  // Large n, deep in the tail, where plain products underflow: n = 3000, p = 1/100.
  for (const k of [0, 5, 12, 30, 45]) {
    const want = exactCdf(k, 3000, 1n, 100n);
    const got = binomialCdf(k, 3000, 0.01);
    assert.ok(Math.abs(got / want - 1) < 1e-10, `k ${k}: ${got} vs ${want}`);
  }
  // A known value: P(Bin(100, 1/2) ≤ 40) = 0.028443966820490…
  assert.ok(Math.abs(binomialCdf(40, 100, 0.5) - 0.02844396682049) < 1e-13);
  assert.equal(binomialCdf(-1, 10, 0.3), 0);
  assert.equal(binomialCdf(10, 10, 0.3), 1);
  assert.equal(binomialCdf(3, 10, 0), 1);
  assert.equal(binomialCdf(3, 10, 1), 0);
  assert.ok(binomialCdf(0, 1e6, 1e-3) > 0 || binomialCdf(0, 1e6, 1e-3) === 0); // no NaN, no throw at large n
  assert.throws(() => binomialCdf(1, 10, 1.5), { code: 'EXW_POLICY' });
});

test('the Clopper–Pearson bound: closed form at zero losses, CDF equals δ at the bound, monotone', () => {
  for (const n of [10, 100, 1000]) {
    for (const delta of [0.01, 0.1]) {
      assert.ok(Math.abs(binomialUpperBound(0, n, delta) - (1 - delta ** (1 / n))) < 1e-12);
      let previous = 0;
      for (const k of [...new Set([0, 1, 3, Math.floor(n / 10), n - 1])]) {
        const u = binomialUpperBound(k, n, delta);
        assert.ok(Math.abs(binomialCdf(k, n, u) - delta) < 1e-9, `n ${n} k ${k}`);
        assert.ok(u > previous && u >= k / n);
        previous = u;
      }
      assert.equal(binomialUpperBound(n, n, delta), 1);
    }
  }
  // (1 − ε)^n ≤ δ first holds at minimumSamples.
  for (const [eps, delta] of [[0.01, 0.05], [0.05, 0.1], [0.001, 0.01]] as const) {
    const m = minimumSamples(eps, delta);
    assert.ok((1 - eps) ** m <= delta && (1 - eps) ** (m - 1) > delta, `ε ${eps} δ ${delta}: ${m}`);
  }
  assert.equal(minimumSamples(0.01, 0.05), 299);
});

test('fixed-sequence testing stops at the first candidate it cannot certify', () => {
  const tests = fixedSequenceTest([0, 1, 30, 2], 500, 0.05, 0.05);
  assert.deepEqual(tests.map((t) => t.rejected), [true, true, false, false]);
  assert.ok(tests[3]!.pValue < 0.05, 'the last one alone would pass: the sequence must still stop');
  assert.throws(() => fixedSequenceTest([0], 10, 0, 0.1), { code: 'EXW_POLICY' });
  assert.throws(() => fixedSequenceTest([0], 10, 0.1, 1), { code: 'EXW_POLICY' });
});

test('the drop loss is "early exit wrong while the final exit is right"', () => {
  const { val } = fashionExits();
  const policy = policyFromJson({ kind: 'max-softmax', exits: 4, thresholds: [0.8, 0.8, 0.8] });
  const losses = dropLosses(policy, val.outputs, val.labels);
  const correct = correctness(val);
  const { exitIndex } = (() => {
    const sim = { exitIndex: new Int32Array(val.outputs.samples) };
    const scores = policy.scores(val.outputs);
    for (let i = 0; i < val.outputs.samples; i++) {
      let k = 0;
      while (k < 3 && !(scores[k]![i]! >= 0.8)) k++;
      sim.exitIndex[i] = k;
    }
    return sim;
  })();
  let drop = 0;
  losses.forEach((l, i) => {
    assert.equal(l, correct[exitIndex[i]!]![i] === 0 && correct[3]![i] === 1 ? 1 : 0);
    drop += correct[3]![i]! - correct[exitIndex[i]!]![i]!;
  });
  // The loss rate bounds the accuracy drop from above.
  assert.ok(losses.reduce((a, b) => a + b, 0) >= drop);
});

test('simulation: over many validation draws, the certified policy violates ε at most a δ fraction of the time', () => {
  // A known population; candidates are a data-independent sequence of shared max-softmax thresholds.
  const population = syntheticExits({ samples: 20000, seed: 99 });
  const thresholds = Array.from({ length: 40 }, (_, j) => 0.999 - j * 0.0125); // conservative → aggressive
  const losses = thresholds.map((t) => dropLosses(policyFromJson({ kind: 'max-softmax', exits: 4, thresholds: [t, t, t] }), population.outputs, population.labels));
  const risk = losses.map((l) => l.reduce((a, b) => a + b, 0) / l.length); // the true risks
  const epsilon = 0.05;
  const delta = 0.1;
  const n = 400;
  assert.ok(risk.some((r) => r > epsilon) && risk.some((r) => r < epsilon * 0.8), 'the path must cross ε');
  const rng = new Rng(2024);
  const trials = 2000;
  let violations = 0;
  let naiveViolations = 0;
  let certified = 0;
  for (let trial = 0; trial < trials; trial++) {
    const draw = Int32Array.from({ length: n }, () => rng.int(population.outputs.samples));
    const counts = losses.map((l) => draw.reduce((a, i) => a + l[i]!, 0));
    const tests = fixedSequenceTest(counts, n, epsilon, delta);
    const index = tests.findIndex((t) => !t.rejected) - 1;
    const chosen = index === -2 ? tests.length - 1 : index;
    if (chosen >= 0) {
      certified++;
      if (risk[chosen]! > epsilon) violations++;
    }
    // The naive rule: the most aggressive candidate whose empirical loss is ≤ ε.
    let naive = -1;
    counts.forEach((c, j) => {
      if (c / n <= epsilon) naive = j;
    });
    if (naive >= 0 && risk[naive]! > epsilon) naiveViolations++;
  }
  const rate = violations / trials;
  const slack = 3 * Math.sqrt((delta * (1 - delta)) / trials);
  console.log(`# ${trials} draws of n=${n}, ε=${epsilon}, δ=${delta}: certified in ${certified}, violation rate ${rate.toFixed(4)} (bound ${delta}); naive rule ${(naiveViolations / trials).toFixed(4)}`);
  assert.ok(rate <= delta + slack, `violation rate ${rate}`);
  assert.ok(certified > trials * 0.9, 'the test should usually certify something');
  assert.ok(naiveViolations / trials > 3 * delta, 'the simulation must be able to catch an invalid rule');
});

test('tuneCertified on real logits: certifies on held-out val, and the drop holds on test', () => {
  const { val, test: testSplit, meta } = fashionExits();
  const fit = (o: typeof val.outputs, l: Int32Array) => fitPolicy('max-softmax', o, l);
  const r = tuneCertified(fit, val.outputs, val.labels, { maxDropPp: 3, delta: 0.1, costs: { flops: meta.cumulativeFlops } });
  assert.equal(r.tuneSamples + r.certifySamples, val.outputs.samples);
  assert.ok(r.policy !== null, r.reason);
  assert.ok(r.candidates.length >= 2);
  const best = r.tests[r.index]!;
  assert.ok(best.pValue <= 0.1 && best.upperBound <= 0.03 + 1e-12);
  const testLosses = dropLosses(r.policy, testSplit.outputs, testSplit.labels).reduce((a, b) => a + b, 0) / testSplit.outputs.samples;
  console.log(
    `# certified ${r.index + 1} of ${r.candidates.length} candidates; loss bound ${(best.upperBound * 100).toFixed(2)} pp, FLOPs ${(
      (r.metrics!.expectedCost / meta.cumulativeFlops[3]!) * 100
    ).toFixed(1)}% on the certification half; test loss rate ${(testLosses * 100).toFixed(2)} pp`,
  );
  assert.ok(testLosses <= 0.03, `test loss ${testLosses}`);
  // Same seed, same answer.
  assert.deepEqual(tuneCertified(fit, val.outputs, val.labels, { maxDropPp: 3, delta: 0.1, costs: { flops: meta.cumulativeFlops } }).policy!.toJSON(), r.policy.toJSON());
});

test('too few certification samples: "cannot certify" with the reason and the sample size needed', () => {
  const { val, meta } = fashionExits();
  const small = selectSamples(val.outputs, Array.from({ length: 200 }, (_, i) => i));
  const r = tuneCertified(fitPolicy('entropy', small, val.labels.subarray(0, 200)), small, val.labels.subarray(0, 200), {
    maxDropPp: 1,
    delta: 0.05,
    costs: { flops: meta.cumulativeFlops },
  });
  assert.equal(r.policy, null);
  assert.equal(r.index, -1);
  assert.match(r.reason!, /100 certification samples cannot certify a drop ≤ 1 pp at δ = 0.05.*need ≥ 299 samples/);
});
