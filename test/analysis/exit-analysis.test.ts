import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { adaptiveFigures } from '../../src/analysis/adaptive.ts';
import { analyzeExits, bundleCosts, exitAccuracies, firstCorrectExits, oracleAccuracy, overthinking } from '../../src/analysis/exit-analysis.ts';
import { evaluateOutputs } from '../../src/analysis/evaluate.ts';
import { isExitwiseError } from '../../src/errors.ts';
import { exitOutputs, type ExitOutputs } from '../../src/exits/outputs.ts';
import { policyFromJson } from '../../src/exits/policies/registry.ts';
import { fashionExits } from '../exits/exit-data.ts';
import { manifestForCosts } from './support.ts';

/** Logits [n, classes] whose argmax is `predictions[i]` (2 there, 0 elsewhere). */
function oneHot(predictions: number[], classes: number): Float32Array {
  const out = new Float32Array(predictions.length * classes);
  predictions.forEach((p, i) => (out[i * classes + p] = 2));
  return out;
}

// Brute-force references, written from the definitions and sharing no code with src/analysis.
function argmax(l: Float32Array, i: number, c: number): number {
  let best = 0;
  for (let j = 1; j < c; j++) if (l[i * c + j]! > l[i * c + best]!) best = j;
  return best;
}
function right(o: ExitOutputs, labels: Int32Array, k: number, i: number): boolean {
  return argmax(o.logits[k]!, i, o.classes) === labels[i];
}
function softmaxMax(l: Float32Array, i: number, c: number, t: number): number {
  const z = Array.from(l.subarray(i * c, i * c + c), (v) => v / t);
  const m = Math.max(...z);
  return 1 / z.reduce((s, v) => s + Math.exp(v - m), 0);
}
function bruteEce(l: Float32Array, labels: Int32Array, c: number, t: number, bins = 15): number {
  const n = labels.length;
  const sums = Array.from({ length: bins }, () => ({ count: 0, conf: 0, hits: 0 }));
  for (let i = 0; i < n; i++) {
    const conf = softmaxMax(l, i, c, t);
    const b = Math.min(bins - 1, Math.max(0, Math.ceil(conf * bins) - 1));
    sums[b]!.count++;
    sums[b]!.conf += conf;
    sums[b]!.hits += argmax(l, i, c) === labels[i] ? 1 : 0;
  }
  return sums.reduce((e, s) => e + (s.count === 0 ? 0 : (s.count / n) * Math.abs(s.hits / s.count - s.conf / s.count)), 0);
}

describe('exit analysis on hand-made logits', () => {
  // Exit predictions per sample; labels [0, 1, 2, 0].
  const labels = new Int32Array([0, 1, 2, 0]);
  const outputs = exitOutputs([oneHot([0, 0, 2, 1], 3), oneHot([0, 1, 0, 1], 3), oneHot([1, 1, 2, 2], 3)], 3);

  it('accuracy per exit, first right exit, oracle and overthinking follow the definitions', () => {
    assert.deepEqual(exitAccuracies(outputs, labels), [0.5, 0.5, 0.5]);
    assert.deepEqual(Array.from(firstCorrectExits(outputs, labels)), [0, 1, 0, -1]);
    assert.equal(oracleAccuracy(outputs, labels), 0.75);
    // wasteful: samples 0, 1, 2 had a right non-final exit; destructive: sample 0 only (its final exit is wrong).
    assert.deepEqual(overthinking(outputs, labels), { wasteful: 0.75, destructive: 0.25 });
  });

  it('a single exit cannot overthink; an oracle of one exit is its accuracy', () => {
    const one = exitOutputs([oneHot([0, 0, 2, 1], 3)], 3);
    assert.deepEqual(overthinking(one, labels), { wasteful: 0, destructive: 0 });
    assert.equal(oracleAccuracy(one, labels), 0.5);
  });

  it('analyzeExits adds costs and the oracle\'s FLOPs; checks the outputs fit the bundle', () => {
    const manifest = { ...manifestForCosts([10, 30, 60]), task: { kind: 'classification' as const, classes: ['a', 'b', 'c'] } };
    const a = analyzeExits(outputs, labels, manifest);
    assert.equal(a.fullModelFlops, 60);
    assert.deepEqual(a.exits.map((e) => [e.index, e.cumulativeFlops, e.flopsFraction]), [[0, 10, 1 / 6], [1, 30, 0.5], [2, 60, 1]]);
    assert.ok(Math.abs(a.oracleFlopsFraction - (10 + 30 + 10 + 60) / 4 / 60) < 1e-12);
    assert.throws(() => analyzeExits(outputs, labels, manifestForCosts([10, 30, 60])), (e: unknown) => isExitwiseError(e, 'EXW_POLICY') && /3 exits × 3 classes do not fit a bundle of 3 exits × 10 classes/.test(e.message));
    assert.throws(() => analyzeExits(outputs, labels, manifestForCosts([10, 60])), (e: unknown) => isExitwiseError(e, 'EXW_POLICY'));
  });

  it('bundleCosts: the full model is every stage and the final classifier, without the early heads', () => {
    const m = manifestForCosts([10, 30, 60]);
    const withHeads = { ...m, exits: m.exits.map((e, k) => ({ ...e, flops: [4, 5, 6][k]! })) };
    assert.equal(bundleCosts(withHeads).fullModelFlops, 60 + 6);
  });
});

describe('exit analysis on the real Fashion-MNIST exit logits', () => {
  const { val, meta } = fashionExits();
  const temperatures = [0.8, 0.9, 1.1, 1.3];
  const manifest = manifestForCosts(meta.cumulativeFlops, temperatures);
  const n = val.labels.length;

  it('matches brute-force references: accuracies (≈ PyTorch\'s), oracle, overthinking, ECE raw and tempered', () => {
    const a = analyzeExits(val.outputs, val.labels, manifest);
    assert.equal(a.samples, n);
    a.exits.forEach((e, k) => {
      let hits = 0;
      for (let i = 0; i < n; i++) if (right(val.outputs, val.labels, k, i)) hits++;
      assert.equal(e.accuracy, hits / n, `exit ${k} accuracy`);
      // PyTorch's figure from float logits; the fixture's int16 rounding makes a few ties.
      assert.ok(Math.abs(e.accuracy - meta.accuracy.val[k]!) < 2e-3, `exit ${k} accuracy vs PyTorch`);
    });
    let [oracle, wasteful, destructive, oracleFlops] = [0, 0, 0, 0];
    for (let i = 0; i < n; i++) {
      const r = [0, 1, 2, 3].map((k) => right(val.outputs, val.labels, k, i));
      if (r.some(Boolean)) oracle++;
      if (r.slice(0, 3).some(Boolean)) wasteful++;
      if (r.slice(0, 3).some(Boolean) && !r[3]) destructive++;
      const first = r.indexOf(true);
      oracleFlops += meta.cumulativeFlops[first < 0 ? 3 : first]!;
    }
    assert.equal(a.oracleAccuracy, oracle / n);
    assert.deepEqual(a.overthinking, { wasteful: wasteful / n, destructive: destructive / n });
    assert.ok(Math.abs(a.oracleFlopsFraction - oracleFlops / n / meta.cumulativeFlops[3]!) < 1e-12);
    assert.ok(a.oracleAccuracy > meta.accuracy.val[3]! && a.overthinking.destructive > 0, 'a real network overthinks');
    a.exits.forEach((e, k) => {
      assert.ok(Math.abs(e.ece - bruteEce(val.outputs.logits[k]!, val.labels, 10, 1)) < 1e-9, `exit ${k} raw ECE`);
      assert.ok(Math.abs(e.eceCalibrated - bruteEce(val.outputs.logits[k]!, val.labels, 10, temperatures[k]!)) < 1e-9, `exit ${k} tempered ECE`);
      assert.equal(e.temperature, temperatures[k]);
    });
  });

  it('adaptive figures of a policy match a per-sample brute-force walk through the exits', () => {
    const thresholds = [0.95, 0.9, 0.8];
    const policy = policyFromJson({ kind: 'max-softmax', exits: 4, temperatures, thresholds });
    const f = adaptiveFigures(policy, val.outputs, val.labels, { ...bundleCosts(manifest), latencyMs: [1, 2, 3, 4] });
    const counts = [0, 0, 0, 0];
    let [hits, finalHits, flops, ms] = [0, 0, 0, 0];
    for (let i = 0; i < n; i++) {
      if (right(val.outputs, val.labels, 3, i)) finalHits++;
      let k = 0;
      while (k < 3 && softmaxMax(val.outputs.logits[k]!, i, 10, temperatures[k]!) < thresholds[k]!) k++;
      counts[k]!++;
      if (right(val.outputs, val.labels, k, i)) hits++;
      flops += meta.cumulativeFlops[k]!;
      ms += k + 1;
    }
    assert.deepEqual(f.exitCounts, counts);
    assert.equal(f.accuracy, hits / n);
    assert.equal(f.finalAccuracy, finalHits / n);
    assert.ok(Math.abs(f.dropPp - ((finalHits - hits) / n) * 100) < 1e-9);
    assert.ok(Math.abs(f.expectedFlops - flops / n) < 1e-6 && Math.abs(f.flopsFraction - flops / n / meta.cumulativeFlops[3]!) < 1e-12);
    assert.ok(Math.abs(f.expectedMs! - ms / n) < 1e-12);
    assert.ok(counts[0]! > 0 && counts[3]! > 0, 'the thresholds stop some samples early and send some to the end');
  });

  it('evaluateOutputs adds the bundle policy\'s adaptive figures, or null without one', () => {
    assert.equal(evaluateOutputs(manifest, val.outputs, val.labels).adaptive, null);
    const policy = { kind: 'entropy', exits: 4, temperatures, thresholds: [0.2, 0.3, null] };
    const e = evaluateOutputs({ ...manifest, policy }, val.outputs, val.labels);
    assert.deepEqual(e.adaptive?.policy, policy);
    assert.deepEqual(e.adaptive?.exitCounts, adaptiveFigures(policyFromJson(policy), val.outputs, val.labels, bundleCosts(manifest)).exitCounts);
    assert.equal(e.adaptive?.exitCounts[2], 0, 'a null threshold disables the exit');
    assert.throws(() => evaluateOutputs({ ...manifest, policy: { ...policy, exits: 3, temperatures: [1, 1, 1], thresholds: [0.2, 0.3] } }, val.outputs, val.labels), (e: unknown) => isExitwiseError(e, 'EXW_POLICY'));
  });
});
