import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseManifest } from '../../src/bundle/manifest.ts';
import { isExitwiseError } from '../../src/errors.ts';
import { calibrateExits } from '../../src/exits/calibration.ts';
import type { ExitOutputs } from '../../src/exits/outputs.ts';
import { fitPolicy, policyFromJson } from '../../src/exits/policies/registry.ts';
import { simulate } from '../../src/exits/policies/simulate.ts';
import { buildReportData, type ReportInput } from '../../src/report/build.ts';
import type { ReportData, TradeoffPoint } from '../../src/report/types.ts';
import { fashionReportInput } from './support.ts';

// Brute-force references written from the definitions, sharing no code with src/.
function softmax(o: ExitOutputs, k: number, i: number, t: number): number[] {
  const z = Array.from(o.logits[k]!.subarray(i * o.classes, (i + 1) * o.classes), (v) => v / t);
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}
function argmax(o: ExitOutputs, k: number, i: number): number {
  const row = o.logits[k]!.subarray(i * o.classes, (i + 1) * o.classes);
  let best = 0;
  for (let j = 1; j < row.length; j++) if (row[j]! > row[best]!) best = j;
  return best;
}
/** A kind's score, oriented so that higher means "stop". */
function stopScore(kind: string, p: number[]): number {
  const sorted = [...p].sort((a, b) => b - a);
  if (kind === 'max-softmax') return sorted[0]!;
  if (kind === 'margin') return sorted[0]! - sorted[1]!;
  return p.reduce((h, v) => h + (v > 0 ? v * Math.log(v) : 0), 0) / Math.log(p.length); // −normalised entropy
}

interface Outcome { hits: number; flops: number; ms: number; counts: number[]; ambiguous: number }

/** `[K−1][n]` stop scores of every sample at every non-final exit. */
function stopScores(kind: string, o: ExitOutputs, temps: readonly number[]): number[][] {
  return Array.from({ length: o.logits.length - 1 }, (_, k) => Array.from({ length: o.samples }, (_, i) => stopScore(kind, softmax(o, k, i, temps[k]!))));
}

/**
 * Where each sample stops with one shared threshold `t` (null: never early), straight from the
 * definition. Samples whose score lies within 1e-9 of `t` are counted as ambiguous: float64
 * rounding in another softmax may decide them either way.
 */
function bruteThreshold(kind: string, scores: number[][], o: ExitOutputs, labels: Int32Array, t: number | null, flops: number[], ms: number[]): Outcome {
  const K = o.logits.length;
  const oriented = t === null ? null : kind === 'entropy' ? -t : t;
  const r: Outcome = { hits: 0, flops: 0, ms: 0, counts: new Array<number>(K).fill(0), ambiguous: 0 };
  for (let i = 0; i < o.samples; i++) {
    let stop = K - 1;
    for (let k = 0; k < K - 1 && oriented !== null; k++) {
      const s = scores[k]![i]!;
      if (Math.abs(s - oriented) < 1e-9) r.ambiguous++;
      if (s >= oriented) {
        stop = k;
        break;
      }
    }
    r.counts[stop]!++;
    r.hits += argmax(o, stop, i) === labels[i] ? 1 : 0;
    r.flops += flops[stop]!;
    r.ms += ms[stop]!;
  }
  return r;
}

function brutePatience(o: ExitOutputs, labels: Int32Array, patience: number, flops: number[]): Outcome {
  const K = o.logits.length;
  const r: Outcome = { hits: 0, flops: 0, ms: 0, counts: new Array<number>(K).fill(0), ambiguous: 0 };
  for (let i = 0; i < o.samples; i++) {
    let stop = K - 1;
    let streak = 0;
    for (let k = 0; k < K - 1; k++) {
      streak = k > 0 && argmax(o, k, i) === argmax(o, k - 1, i) ? streak + 1 : 1;
      if (streak >= patience) {
        stop = k;
        break;
      }
    }
    r.counts[stop]!++;
    r.hits += argmax(o, stop, i) === labels[i] ? 1 : 0;
    r.flops += flops[stop]!;
  }
  return r;
}

/** Figures of a simulate() run, computed here from its exit indices and predictions. */
function simulated(json: unknown, o: ExitOutputs, labels: Int32Array, flops: number[]): { accuracy: number; expectedFlops: number; exitFractions: number[] } {
  const { exitIndex, prediction } = simulate(policyFromJson(json), o);
  const counts = new Array<number>(o.logits.length).fill(0);
  let hits = 0;
  let cost = 0;
  exitIndex.forEach((k, i) => {
    counts[k]!++;
    hits += prediction[i] === labels[i] ? 1 : 0;
    cost += flops[k]!;
  });
  return { accuracy: hits / o.samples, expectedFlops: cost / o.samples, exitFractions: counts.map((c) => c / o.samples) };
}

function close(actual: number, expected: number, tolerance: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} vs ${expected}`);
}

function bruteEce(o: ExitOutputs, labels: Int32Array, k: number, t: number): number {
  const bins = Array.from({ length: 15 }, () => ({ n: 0, conf: 0, hits: 0 }));
  for (let i = 0; i < o.samples; i++) {
    const conf = Math.max(...softmax(o, k, i, t));
    const b = bins[Math.min(14, Math.max(0, Math.ceil(conf * 15) - 1))]!;
    b.n++;
    b.conf += conf;
    b.hits += argmax(o, k, i) === labels[i] ? 1 : 0;
  }
  return bins.reduce((e, b) => e + (b.n === 0 ? 0 : (b.n / o.samples) * Math.abs(b.hits / b.n - b.conf / b.n)), 0);
}

describe('buildReportData on the recorded Fashion-MNIST exits', () => {
  const input = fashionReportInput();
  const { manifest, test } = input;
  const o = test.outputs;
  const n = o.samples;
  const K = manifest.exits.length;
  const flops = manifest.exits.map((e) => e.cumulativeFlops);
  const full = flops[K - 1]!; // manifestForCosts folds the heads into the stages
  const ms = input.latency!.cumulativeMs;
  const temps = manifest.exits.map((e) => e.temperature);
  const data = buildReportData(input);

  it('sweeps max-softmax, entropy and margin: every point is simulate() at that shared threshold and the brute-force definition', () => {
    assert.deepEqual(data.tradeoffs.map((c) => c.kind), ['max-softmax', 'entropy', 'margin', 'patience']);
    for (const curve of data.tradeoffs.slice(0, 3)) {
      assert.ok(curve.points.length >= 20, `${curve.kind}: ${curve.points.length} points`);
      const scores = stopScores(curve.kind, o, temps);
      for (const p of curve.points) {
        const thresholds = new Array(K - 1).fill(p.parameter);
        const sim = simulated({ kind: curve.kind, exits: K, thresholds, temperatures: temps }, o, test.labels, flops);
        close(p.accuracy, sim.accuracy, 1e-12, `${curve.kind} τ=${p.parameter} accuracy`);
        close(p.expectedFlops, sim.expectedFlops, 1e-6, `${curve.kind} τ=${p.parameter} FLOPs`);
        p.exitFractions.forEach((f, k) => close(f, sim.exitFractions[k]!, 1e-12, `${curve.kind} τ=${p.parameter} exit ${k}`));
        close(p.flopsFraction, p.expectedFlops / full, 1e-12, 'FLOPs fraction');

        const brute = bruteThreshold(curve.kind, scores, o, test.labels, p.parameter, flops, ms);
        assert.ok(Math.abs(p.accuracy * n - brute.hits) <= brute.ambiguous, `${curve.kind} τ=${p.parameter}: ${p.accuracy * n} vs ${brute.hits} right (±${brute.ambiguous})`);
        if (brute.ambiguous === 0) {
          close(p.expectedFlops, brute.flops / n, 1e-6, `${curve.kind} τ=${p.parameter} brute FLOPs`);
          close(p.expectedMs!, brute.ms / n, 1e-9, `${curve.kind} τ=${p.parameter} brute ms`);
        }
      }
    }
  });

  it('each curve runs from "all stop at exit 0" to "final exit only", in increasing FLOPs', () => {
    const accuracy = (k: number) => Array.from({ length: n }, (_, i) => argmax(o, k, i) === test.labels[i]).filter(Boolean).length / n;
    for (const curve of data.tradeoffs) {
      const [first, last] = [curve.points[0]!, curve.points.at(-1)!];
      assert.deepEqual(first.exitFractions, [1, 0, 0, 0], curve.kind);
      close(first.accuracy, accuracy(0), 1e-12, `${curve.kind} exit-0 accuracy`);
      assert.equal(last.parameter, null);
      assert.deepEqual(last.exitFractions, [0, 0, 0, 1]);
      close(last.accuracy, accuracy(K - 1), 1e-12, `${curve.kind} final accuracy`);
      for (let i = 1; i < curve.points.length; i++) assert.ok(curve.points[i]!.expectedFlops >= curve.points[i - 1]!.expectedFlops);
    }
  });

  it('sweeps patience 1…K−1 exactly as the brute-force streak rule', () => {
    const patience = data.tradeoffs[3]!;
    assert.deepEqual(patience.points.map((p) => p.parameter), [1, 2, 3, null]);
    for (const p of patience.points.slice(0, -1)) {
      const brute = brutePatience(o, test.labels, p.parameter!, flops);
      close(p.accuracy, brute.hits / n, 1e-12, `patience ${p.parameter}`);
      close(p.expectedFlops, brute.flops / n, 1e-6, `patience ${p.parameter} FLOPs`);
      assert.deepEqual(p.exitFractions, brute.counts.map((c) => c / n));
    }
  });

  it('marks the tuned policy at its simulated operating point, with where its samples stop and how right they are', () => {
    const p = data.policy!;
    assert.equal(p.kind, 'max-softmax');
    assert.deepEqual(p.json, manifest.policy);
    const thresholds = p.thresholds!;
    assert.equal(thresholds.length, K - 1);
    // Brute force with per-exit thresholds.
    const counts = new Array<number>(K).fill(0);
    const right = new Array<number>(K).fill(0);
    let cost = 0;
    let time = 0;
    for (let i = 0; i < n; i++) {
      let stop = K - 1;
      for (let k = 0; k < K - 1; k++) {
        if (thresholds[k] !== null && Math.max(...softmax(o, k, i, p.temperatures[k]!)) >= thresholds[k]!) {
          stop = k;
          break;
        }
      }
      counts[stop]!++;
      right[stop]! += argmax(o, stop, i) === test.labels[i] ? 1 : 0;
      cost += flops[stop]!;
      time += ms[stop]!;
    }
    assert.deepEqual(p.figures.exitCounts, counts);
    assert.deepEqual(p.exitCorrect, right);
    close(p.figures.accuracy, right.reduce((a, b) => a + b) / n, 1e-12, 'accuracy');
    close(p.figures.expectedFlops, cost / n, 1e-6, 'FLOPs');
    close(p.figures.expectedMs!, time / n, 1e-9, 'ms');
    assert.ok(p.figures.flopsFraction < 0.9, 'the tuned policy saves FLOPs on test too');
  });

  it('reliability before (T = 1) and after (manifest temperatures) matches a brute-force ECE, bins hold every sample', () => {
    assert.equal(data.calibration.source, 'manifest');
    for (const e of data.calibration.exits) {
      close(e.before.ece, bruteEce(o, test.labels, e.exit, 1), 1e-9, `exit ${e.exit} ECE before`);
      close(e.after.ece, bruteEce(o, test.labels, e.exit, temps[e.exit]!), 1e-9, `exit ${e.exit} ECE after`);
      assert.equal(e.after.temperature, temps[e.exit]);
      for (const curve of [e.before, e.after]) {
        assert.equal(curve.bins.reduce((s, b) => s + b.count, 0), n);
        assert.ok(curve.bins.every((b) => b.count > 0 && b.confidence > b.lower - 1e-12 && b.confidence <= b.upper + 1e-12));
      }
    }
    // Temperatures fitted on val lower the mean test NLL (they are what calibration is for).
    const nll = (w: 'before' | 'after') => data.calibration.exits.reduce((s, e) => s + e[w].nll, 0);
    assert.ok(nll('after') < nll('before'));
  });

  it('first-right exits and overthinking agree with the per-sample definitions', () => {
    const first = Array.from({ length: n }, (_, i) => [0, 1, 2, 3].find((k) => argmax(o, k, i) === test.labels[i]) ?? -1);
    data.firstCorrect.forEach((f, k) => close(f, first.filter((x) => x === k).length / n, 1e-12, `first right at ${k}`));
    const early = first.map((k) => k >= 0 && k < K - 1);
    const finalRight = (i: number) => argmax(o, K - 1, i) === test.labels[i];
    close(data.analysis.overthinking.wasteful, early.filter(Boolean).length / n, 1e-12, 'wasteful');
    close(data.analysis.overthinking.destructive, early.filter((e, i) => e && !finalRight(i)).length / n, 1e-12, 'destructive');
    close(data.analysis.oracleAccuracy, first.filter((k) => k >= 0).length / n, 1e-12, 'oracle');
  });

  it('is plain JSON (no NaN, typed arrays or undefined) and says where it comes from', () => {
    assert.deepEqual(JSON.parse(JSON.stringify(data)), data);
    assert.equal(data.generatedAt, '2025-06-01T12:00:00.000Z');
    assert.deepEqual([data.title, data.dataset, data.split, data.samples], ['fashion-cnn', 'fashion-mnist', 'test', 1500]);
  });
});

describe('buildReportData variants and errors', () => {
  const full = fashionReportInput();
  const { val } = full;
  const uncalibrated = parseManifest({ ...full.manifest, exits: full.manifest.exits.map((e) => ({ ...e, temperature: 1 })), policy: undefined });

  it('fits temperatures on val for an uncalibrated bundle, or shows raw reliability without val; no policy → no operating point', () => {
    const fitted = buildReportData({ ...full, manifest: uncalibrated, latency: null });
    assert.equal(fitted.calibration.source, 'fitted-on-val');
    assert.deepEqual(fitted.calibration.exits.map((e) => e.after.temperature), calibrateExits(val!.outputs, val!.labels).calibration.temperatures);
    assert.equal(fitted.policy, null);
    assert.equal(fitted.latency, null);
    assert.ok(fitted.tradeoffs.every((c) => c.points.every((p) => p.expectedMs === null)));
    const { val: _v, ...noVal } = full;
    const raw = buildReportData({ ...noVal, manifest: uncalibrated });
    assert.equal(raw.calibration.source, 'none');
    assert.ok(raw.calibration.exits.every((e) => JSON.stringify(e.before) === JSON.stringify(e.after)));
  });

  it('adds a curve for a tuned kind the report does not sweep by default (class-means), with its fitted parts kept', () => {
    const classMeans = fitPolicy('class-means', val!.outputs, val!.labels);
    const manifest = parseManifest({ ...full.manifest, policy: classMeans.toJSON() });
    const data: ReportData = buildReportData({ ...full, manifest, sweepLevels: 9 });
    const curve = data.tradeoffs.find((c) => c.kind === 'class-means')!;
    assert.equal(data.tradeoffs.length, 5);
    const flops = manifest.exits.map((e) => e.cumulativeFlops);
    for (const p of curve.points.filter((q: TradeoffPoint) => q.parameter !== null)) {
      const json = { ...classMeans.toJSON(), thresholds: new Array(3).fill(p.parameter) };
      close(p.accuracy, simulated(json, full.test.outputs, full.test.labels, flops).accuracy, 1e-12, `class-means τ=${p.parameter}`);
    }
  });

  it('refuses outputs of another network and latency that is not cumulative', () => {
    const threeExits = { outputs: { ...full.test.outputs, logits: full.test.outputs.logits.slice(1) }, labels: full.test.labels };
    const bad = (patch: Partial<ReportInput>, pattern: RegExp) =>
      assert.throws(() => buildReportData({ ...full, ...patch }), (e: unknown) => isExitwiseError(e, 'EXW_POLICY') && pattern.test(e.message));
    bad({ test: threeExits }, /3 exits × 10 classes do not fit a bundle of 4 exits/);
    bad({ val: threeExits }, /3 exits × 10 classes do not fit a bundle of 4 exits/);
    bad({ latency: { label: 'x', description: 'x', cumulativeMs: [1, 2, 1.5, 3] } }, /non-decreasing cumulative ms/);
    bad({ latency: { label: 'x', description: 'x', cumulativeMs: [1, 2] } }, /4 non-negative/);
  });
});
