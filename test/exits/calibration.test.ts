/** ECE and reliability bins against hand computation and a naive reference; temperature fits against a grid and a known truth. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/data/random.ts';
import { calibrateExits, fitTemperature, TEMPERATURE_RANGE } from '../../src/exits/calibration.ts';
import { expectedCalibrationError, reliability } from '../../src/exits/metrics.ts';
import { fashionExits } from './exit-data.ts';
import { sampleLogits, softmaxRef } from './policy-cases.ts';

/** ECE from the definition: bins ((m−1)/M, m/M], |acc − conf| weighted by bin size. */
function eceReference(probs: number[][], labels: ArrayLike<number>, bins: number): number {
  const groups: { conf: number; hit: number }[][] = Array.from({ length: bins }, () => []);
  probs.forEach((p, i) => {
    const conf = Math.max(...p);
    let m = 0;
    while (m < bins - 1 && !(conf <= (m + 1) / bins)) m++;
    groups[m]!.push({ conf, hit: p.indexOf(conf) === labels[i] ? 1 : 0 });
  });
  return groups.reduce((ece, g) => {
    if (g.length === 0) return ece;
    const acc = g.reduce((a, s) => a + s.hit, 0) / g.length;
    const conf = g.reduce((a, s) => a + s.conf, 0) / g.length;
    return ece + (g.length / probs.length) * Math.abs(acc - conf);
  }, 0);
}

function nllReference(logits: number[][], labels: ArrayLike<number>, t: number): number {
  return logits.reduce((a, z, i) => a - Math.log(softmaxRef(z, t)[labels[i]!]!), 0) / logits.length;
}

test('ECE of a hand-computed example', () => {
  // Two classes. Confidences: 0.85 (right), 0.85 (wrong), 0.55 (right), and exactly 0.5 (a tie,
  // predicted class 0, right), which sits on a bin edge and belongs to (0.4, 0.5].
  const logit = (p: number): number => Math.log(p / (1 - p));
  const z = new Float32Array([logit(0.85), 0, logit(0.85), 0, logit(0.55), 0, 0, 0]);
  const labels = new Int32Array([0, 1, 0, 0]);
  const r = reliability(z, labels, 2, { bins: 10 });
  // (0.8, 0.9]: acc 0.5, conf 0.85 → 0.5 · 0.35; (0.5, 0.6]: acc 1, conf 0.55 → 0.25 · 0.45;
  // (0.4, 0.5]: acc 1, conf 0.5 → 0.25 · 0.5. ECE = 0.175 + 0.1125 + 0.125.
  assert.ok(Math.abs(r.ece - 0.4125) < 1e-6, `ECE ${r.ece}`);
  assert.equal(r.bins[8]!.count, 2);
  assert.equal(r.bins[5]!.count, 1);
  assert.equal(r.bins[4]!.count, 1);
  assert.equal(r.accuracy, 0.75);
  assert.ok(Number.isNaN(r.bins[0]!.accuracy));
});

test('ECE and reliability bins match the reference on real logits, for several bin counts and temperatures', () => {
  const { val } = fashionExits();
  const C = val.outputs.classes;
  for (const k of [0, 3]) {
    for (const [bins, t] of [[15, 1], [10, 1.7], [1, 0.6], [40, 1]] as const) {
      const probs = Array.from({ length: val.outputs.samples }, (_, i) => softmaxRef(sampleLogits(val.outputs, i)[k]!, t));
      const r = reliability(val.outputs.logits[k]!, val.labels, C, { bins, temperature: t });
      assert.ok(Math.abs(r.ece - eceReference(probs, val.labels, bins)) < 1e-9, `exit ${k}, ${bins} bins, T ${t}`);
      assert.equal(r.bins.reduce((a, b) => a + b.count, 0), val.outputs.samples);
      assert.equal(r.bins.length, bins);
      const logits = Array.from({ length: val.outputs.samples }, (_, i) => sampleLogits(val.outputs, i)[k]!);
      assert.ok(Math.abs(r.nll - nllReference(logits, val.labels, t)) < 1e-9);
    }
  }
});

test('the fitted temperature minimises NLL: no point of a fine grid does better', () => {
  const { val } = fashionExits();
  for (let k = 0; k < 4; k++) {
    const logits = Array.from({ length: val.outputs.samples }, (_, i) => sampleLogits(val.outputs, i)[k]!);
    const t = fitTemperature(val.outputs.logits[k]!, val.labels, val.outputs.classes);
    const fitted = nllReference(logits, val.labels, t);
    let best = { t: 0, nll: Infinity };
    for (let g = 0; g <= 400; g++) {
      const tg = 0.3 * 10 ** (g / 400); // 0.3 … 3
      const nll = nllReference(logits, val.labels, tg);
      if (nll < best.nll) best = { t: tg, nll };
    }
    assert.ok(fitted <= best.nll + 1e-12, `exit ${k}: T ${t} gives ${fitted}, grid T ${best.t} gives ${best.nll}`);
    assert.ok(Math.abs(Math.log(t / best.t)) < 0.01, `exit ${k}: T ${t} vs grid ${best.t}`);
  }
});

test('temperature scaling recovers the temperature that generated the labels', () => {
  const rng = new Rng(21);
  const n = 20000;
  const C = 5;
  for (const truth of [0.5, 1, 2.5]) {
    const logits = new Float32Array(n * C);
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const z = Array.from({ length: C }, () => 4 * rng.next());
      logits.set(z, i * C);
      const p = softmaxRef(z, truth);
      let u = rng.next();
      let y = 0;
      while (y < C - 1 && (u -= p[y]!) > 0) y++;
      labels[i] = y;
    }
    const t = fitTemperature(logits, labels, C);
    assert.ok(Math.abs(t / truth - 1) < 0.06, `truth ${truth}, fitted ${t}`);
  }
});

test('calibration on val lowers ECE on test for the miscalibrated exits of the real network', () => {
  const { val, test: testSplit } = fashionExits();
  const report = calibrateExits(val.outputs, val.labels);
  assert.equal(report.bins, 15);
  report.exits.forEach((e, k) => {
    assert.ok(e.nllAfter <= e.nllBefore + 1e-12, `exit ${k}: val NLL must not rise`);
    const before = expectedCalibrationError(testSplit.outputs.logits[k]!, testSplit.labels, 10);
    const after = expectedCalibrationError(testSplit.outputs.logits[k]!, testSplit.labels, 10, { temperature: e.temperature });
    console.log(`# exit ${k}: T ${e.temperature.toFixed(3)}, val ECE ${e.eceBefore.toFixed(4)} → ${e.eceAfter.toFixed(4)}, test ECE ${before.toFixed(4)} → ${after.toFixed(4)}`);
    if (e.eceBefore > 0.04) assert.ok(after < before, `exit ${k}: test ECE ${before} → ${after}`);
  });
  assert.deepEqual(JSON.parse(JSON.stringify(report.calibration)), report.calibration);
});

test('degenerate validation data reaches a temperature bound and says so', () => {
  // Perfectly separated: NLL keeps falling as T → 0.
  const sep = new Float32Array([2, 0, 0, 2, 3, 0]);
  assert.equal(fitTemperature(sep, new Int32Array([0, 1, 0]), 2), TEMPERATURE_RANGE.min);
  // Always wrong: the best model is the flattest one.
  assert.equal(fitTemperature(sep, new Int32Array([1, 0, 1]), 2), TEMPERATURE_RANGE.max);
  const report = calibrateExits({ logits: [sep], samples: 3, classes: 2 }, new Int32Array([0, 1, 0]));
  assert.equal(report.exits[0]!.atBound, true);
  assert.throws(() => reliability(sep, new Int32Array([0, 1, 0]), 2, { temperature: 0 }), { code: 'EXW_POLICY' });
  assert.throws(() => reliability(sep, new Int32Array([0, 1, 0]), 2, { bins: 0 }), { code: 'EXW_POLICY' });
});
