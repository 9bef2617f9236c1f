/**
 * Threshold tuning against brute force: the exact optimum over every distinct threshold on small
 * problems, and the best point of a quantile grid on real and synthetic logits. Budgets and drop
 * limits are kept on the tuning samples.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fitPolicy } from '../../src/exits/policies/registry.ts';
import { simulate } from '../../src/exits/policies/simulate.ts';
import type { ExitPolicy, PatiencePolicy, ThresholdPolicy } from '../../src/exits/policies/policy.ts';
import { cumulativeCosts } from '../../src/exits/tuning/objectives.ts';
import { tuneThresholds, type TuningResult } from '../../src/exits/tuning/tune.ts';
import { fashionExits, syntheticExits, type LabelledOutputs } from './exit-data.ts';
import { combinations, correctness, outcome, quantileGrid } from './tuning-support.ts';

const EPS = 1e-9;

/** The tuned policy's accuracy and mean cost, recomputed by simulation and plain loops. */
function measured(result: TuningResult, d: LabelledOutputs, costs: readonly number[]): { accuracy: number; cost: number } {
  const { exitIndex } = simulate(result.policy, d.outputs);
  const correct = correctness(d);
  let hits = 0;
  let cost = 0;
  exitIndex.forEach((k, i) => {
    hits += correct[k]![i]!;
    cost += costs[k]!;
  });
  const m = { accuracy: hits / exitIndex.length, cost: cost / exitIndex.length };
  assert.ok(Math.abs(m.accuracy - result.metrics.accuracy) < EPS && Math.abs(m.cost - result.metrics.expectedCost) < 1e-6 * Math.max(1, m.cost));
  return m;
}

test('on small problems the tuner finds the exact optimum over every distinct threshold', () => {
  let cases = 0;
  for (const kind of ['max-softmax', 'entropy', 'learned']) {
    for (let seed = 1; seed <= 6; seed++) {
      const d = syntheticExits({ samples: 24, seed, reach: [0.5, 0.65, 0.8, 0.9] });
      const costs = [1, 2.5, 4, 6];
      const policy = fitPolicy(kind, d.outputs, d.labels);
      const scores = policy.scores(d.outputs);
      const correct = correctness(d);
      const all = [...combinations(scores.slice(0, 3).map((s) => [null, ...new Set(s)]))].map((t) => outcome(policy, scores, correct, costs, t));
      const finalAccuracy = correct[3]!.reduce((a, b) => a + b, 0) / 24;
      for (const maxDropPp of [0, 5, 10]) {
        const best = Math.min(...all.filter((o) => o.accuracy >= finalAccuracy - maxDropPp / 100 - EPS).map((o) => o.cost));
        const r = tuneThresholds(policy, d.outputs, d.labels, { target: { kind: 'accuracy-drop', maxDropPp }, costs: { flops: costs } });
        assert.ok(Math.abs(measured(r, d, costs).cost - best) < EPS, `${kind} seed ${seed} drop ${maxDropPp}: ${r.metrics.expectedCost} vs optimum ${best}`);
        cases++;
      }
      for (const budget of [1.5, 2.5, 4]) {
        const best = Math.max(...all.filter((o) => o.cost <= budget + EPS).map((o) => o.accuracy));
        const r = tuneThresholds(policy, d.outputs, d.labels, { target: { kind: 'flops-budget', flopsPerSample: budget }, costs: { flops: costs } });
        assert.ok(Math.abs(measured(r, d, costs).accuracy - best) < EPS, `${kind} seed ${seed} budget ${budget}`);
        cases++;
      }
    }
  }
  assert.equal(cases, 108);
});

const realistic: [string, () => LabelledOutputs][] = [
  ['fashion-mnist val', () => fashionExits().val],
  ['synthetic', () => syntheticExits({ samples: 1500, seed: 3 })],
];

for (const kind of ['max-softmax', 'entropy', 'margin', 'class-means', 'learned']) {
  for (const [dataName, data] of realistic) {
    test(`${kind} on ${dataName}: the tuner is at least as good as the best point of a 12^3 quantile grid`, () => {
      const d = data();
      const flops = fashionExits().meta.cumulativeFlops;
      const policy = fitPolicy(kind, d.outputs, d.labels);
      const scores = policy.scores(d.outputs);
      const correct = correctness(d);
      const grid = [...combinations(quantileGrid(scores, policy.exits, 11))].map((t) => outcome(policy, scores, correct, flops, t));
      const finalAccuracy = correct[3]!.reduce((a, b) => a + b, 0) / d.outputs.samples;
      const lines: string[] = [];
      for (const maxDropPp of [0.5, 1, 2]) {
        const best = Math.min(...grid.filter((o) => o.accuracy >= finalAccuracy - maxDropPp / 100 - EPS).map((o) => o.cost));
        const r = tuneThresholds(policy, d.outputs, d.labels, { target: { kind: 'accuracy-drop', maxDropPp }, costs: { flops } });
        const m = measured(r, d, flops);
        assert.ok(r.feasible && m.accuracy >= finalAccuracy - maxDropPp / 100 - EPS, `drop ${maxDropPp}: accuracy ${m.accuracy}`);
        assert.ok(m.cost <= best * (1 + 1e-9), `drop ${maxDropPp}: tuner ${m.cost}, grid ${best}`);
        lines.push(`drop ≤ ${maxDropPp} pp: FLOPs ${pct(m.cost / flops[3]!)} vs grid ${pct(best / flops[3]!)}`);
      }
      for (const fraction of [0.25, 0.5]) {
        const budget = fraction * flops[3]!;
        const best = Math.max(...grid.filter((o) => o.cost <= budget).map((o) => o.accuracy));
        const r = tuneThresholds(policy, d.outputs, d.labels, { target: { kind: 'flops-budget', flopsPerSample: budget }, costs: { flops } });
        const m = measured(r, d, flops);
        assert.ok(r.feasible && m.cost <= budget, `budget ${budget}: cost ${m.cost}`);
        assert.ok(m.accuracy >= best - EPS, `budget ${fraction}: tuner ${m.accuracy}, grid ${best}`);
        lines.push(`FLOPs ≤ ${fraction * 100}%: accuracy ${pct(m.accuracy)} vs grid ${pct(best)}`);
      }
      console.log(`# ${kind} on ${dataName}: ${lines.join('; ')}`);
    });
  }
}

test('latency budgets from profiled segment times are kept, and tighter budgets never raise accuracy', () => {
  const { val } = fashionExits();
  const latencyMs = cumulativeCosts([0.05, 0.3, 0.3, 0.55], [0.01, 0.02, 0.02, 0.02]);
  assert.deepEqual(latencyMs.map((v) => +v.toFixed(6)), [0.06, 0.38, 0.7, 1.27]);
  for (const kind of ['max-softmax', 'entropy', 'patience', 'learned']) {
    const policy = fitPolicy(kind, val.outputs, val.labels);
    let previous = Infinity;
    for (const budget of [1.2, 0.9, 0.6, 0.4, 0.2, 0.07]) {
      const r = tuneThresholds(policy, val.outputs, val.labels, { target: { kind: 'latency-budget', msPerSample: budget }, costs: { latencyMs } });
      const m = measured(r, val, latencyMs);
      if (r.feasible) {
        assert.ok(m.cost <= budget + 1e-12, `${kind} budget ${budget}: ${m.cost}`);
        assert.ok(m.accuracy <= previous + EPS, `${kind}: a tighter budget raised accuracy`);
        previous = m.accuracy;
      } else {
        // Patience can only stop at exits 0.. with streak, so low budgets may be out of reach; say so.
        assert.equal(kind, 'patience');
        assert.match(r.reason!, /cannot meet/);
      }
    }
  }
});

test('an impossible budget is reported, not silently exceeded', () => {
  const { val, meta } = fashionExits();
  const policy = fitPolicy('max-softmax', val.outputs, val.labels);
  const r = tuneThresholds(policy, val.outputs, val.labels, { target: { kind: 'flops-budget', flopsPerSample: meta.cumulativeFlops[0]! / 2 }, costs: { flops: meta.cumulativeFlops } });
  assert.equal(r.feasible, false);
  assert.match(r.reason!, /below the cost of exit 0/);
  // The closest it can get: everything stops at exit 0.
  assert.equal(r.metrics.exitFractions[0], 1);
});

test('patience tuning picks the best patience by exhaustive comparison', () => {
  const { val, meta } = fashionExits();
  const flops = meta.cumulativeFlops;
  const policy = fitPolicy('patience', val.outputs, val.labels) as PatiencePolicy;
  const options = [1, 2, 3].map((p) => ({ p, m: outcomeOf(policy.withPatience(p), val, flops) }));
  const finalAccuracy = meta.accuracy.val[3]!;
  for (const maxDropPp of [1, 3, 10]) {
    const ok = options.filter((o) => o.m.accuracy >= finalAccuracy - maxDropPp / 100 - EPS).sort((a, b) => a.m.cost - b.m.cost);
    const r = tuneThresholds(policy, val.outputs, val.labels, { target: { kind: 'accuracy-drop', maxDropPp }, costs: { flops } });
    if (ok.length === 0) {
      assert.equal(r.feasible, false);
      assert.match(r.reason!, /cannot stay within/);
    } else assert.equal((r.policy as PatiencePolicy).patience, ok[0]!.p);
  }
});

function outcomeOf(policy: ExitPolicy, d: LabelledOutputs, costs: readonly number[]): { accuracy: number; cost: number } {
  const correct = correctness(d);
  const { exitIndex } = simulate(policy, d.outputs);
  let hits = 0;
  let cost = 0;
  exitIndex.forEach((k, i) => {
    hits += correct[k]![i]!;
    cost += costs[k]!;
  });
  return { accuracy: hits / exitIndex.length, cost: cost / exitIndex.length };
}

test('tuned policies are valid JSON in the policy units, with null for disabled exits, and generalise to test', () => {
  const { val, test: testSplit, meta } = fashionExits();
  const flops = meta.cumulativeFlops;
  for (const kind of ['max-softmax', 'entropy', 'margin', 'class-means', 'learned']) {
    const policy = fitPolicy(kind, val.outputs, val.labels);
    const r = tuneThresholds(policy, val.outputs, val.labels, { target: { kind: 'accuracy-drop', maxDropPp: 1 }, costs: { flops } });
    const json = JSON.parse(JSON.stringify(r.policy.toJSON())) as { thresholds: (number | null)[] };
    assert.deepEqual(json.thresholds, [...(r.policy as ThresholdPolicy).thresholds]);
    const onTest = outcomeOf(r.policy, testSplit, flops);
    const drop = (meta.accuracy.test[3]! - onTest.accuracy) * 100;
    console.log(`# ${kind}, tuned on val for ≤ 1 pp: val drop ${r.metrics.dropPp.toFixed(2)} pp at ${pct(r.metrics.expectedCost / flops[3]!)} FLOPs; test drop ${drop.toFixed(2)} pp at ${pct(onTest.cost / flops[3]!)}`);
    assert.ok(drop < 3, `${kind}: test drop ${drop} pp`);
  }
  // A zero-drop target on a network whose early exits are never better: exits may all be off (null), explicitly.
  const strict = tuneThresholds(fitPolicy('max-softmax', val.outputs, val.labels), val.outputs, val.labels, { target: { kind: 'accuracy-drop', maxDropPp: 0 }, costs: { flops } });
  assert.ok(strict.metrics.dropPp <= EPS);
});

test('targets and costs are validated', () => {
  const { val, meta } = fashionExits();
  const policy = fitPolicy('max-softmax', val.outputs, val.labels);
  const tune = (target: unknown, costs: unknown) => () => tuneThresholds(policy, val.outputs, val.labels, { target, costs } as never);
  assert.throws(tune({ kind: 'flops-budget', flopsPerSample: 1e6 }, { latencyMs: [1, 2, 3, 4] }), { code: 'EXW_POLICY', message: /needs costs.flops/ });
  assert.throws(tune({ kind: 'accuracy-drop', maxDropPp: -1 }, { flops: meta.cumulativeFlops }), { code: 'EXW_POLICY', message: /invalid tuning target/ });
  assert.throws(tune({ kind: 'accuracy-drop', maxDropPp: Number.NaN }, { flops: meta.cumulativeFlops }), { code: 'EXW_POLICY' });
  assert.throws(tune({ kind: 'speed' }, { flops: meta.cumulativeFlops }), { code: 'EXW_POLICY' });
  assert.throws(tune({ kind: 'accuracy-drop', maxDropPp: 1 }, { flops: [1, 2, 3] }), { code: 'EXW_POLICY', message: /3 costs for 4 exits/ });
  assert.throws(tune({ kind: 'accuracy-drop', maxDropPp: 1 }, { flops: [1, 3, 2, 4] }), { code: 'EXW_POLICY', message: /cumulative/ });
  assert.throws(() => cumulativeCosts([1, -1], [0, 0]), { code: 'EXW_POLICY' });
});

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}
