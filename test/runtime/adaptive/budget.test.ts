import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { saveBundle } from '../../../src/bundle/io.ts';
import { isExitwiseError } from '../../../src/errors.ts';
import { AdaptiveRuntime, planNextStep, simulateBudget, type StepCosts, type StepTimes } from '../../../src/runtime/adaptive/index.ts';
import { fashionExits } from '../../exits/exit-data.ts';
import { makeTestBundle, type TestBundle } from './support.ts';

describe('planNextStep', () => {
  const flat: StepCosts = { fixed: [0, 0, 0], perInput: [1, 1, 1] };

  it('sends on the least confident inputs first, as many as the budget left pays for', () => {
    const confidence = Float32Array.from([0.9, 0.2, 0.5]);
    assert.deepEqual(planNextStep(0, confidence, 2, flat, [0.5, 0.5]), { go: Uint8Array.from([0, 1, 1]), cost: 2 });
    assert.deepEqual(planNextStep(0, confidence, 1, flat, [0.5, 0.5]), { go: Uint8Array.from([0, 1, 0]), cost: 1 });
    assert.deepEqual(planNextStep(0, confidence, 0.5, flat, [0.5, 0.5]), { go: new Uint8Array(3), cost: 0 });
    assert.deepEqual(planNextStep(2, confidence, 10, flat, [0.5, 0.5]), { go: new Uint8Array(3), cost: 0 }, 'nothing after the final exit');
  });

  it('keeps budget for a second step of an unsure input rather than a first step of a sure one', () => {
    // 0.1 → 0.55 after one step: its second step gains 0.225, more than the 0.01 of the input at 0.98.
    const confidence = Float32Array.from([0.98, 0.1]);
    assert.deepEqual(planNextStep(0, confidence, 2, flat, [0.5, 0.5]).go, Uint8Array.from([0, 1]));
    assert.deepEqual(planNextStep(0, confidence, 3, flat, [0.5, 0.5]).go, Uint8Array.from([1, 1]));
  });

  it('charges a per-call cost once per step, and spends nothing where deeper fixes nothing', () => {
    const costs: StepCosts = { fixed: [5, 5, 5], perInput: [1, 1, 1] };
    const confidence = Float32Array.from([0.3, 0.4, 0.5]);
    assert.deepEqual(planNextStep(0, confidence, 7, costs, [0.5, 0.5]), { go: Uint8Array.from([1, 1, 0]), cost: 7 });
    assert.deepEqual(planNextStep(0, confidence, 100, costs, [0, 0]).go, new Uint8Array(3));
  });
});

describe('simulateBudget on a real network\'s validation logits', () => {
  const { val, meta } = fashionExits();
  const flops = meta.cumulativeFlops.map((f, k) => f - (meta.cumulativeFlops[k - 1] ?? 0));
  const costs: StepCosts = { fixed: flops.map(() => 0), perInput: flops };
  const n = val.outputs.samples;
  const minimum = n * flops[0]!;
  const maximum = n * meta.cumulativeFlops.at(-1)!;
  const argmax = (row: Float32Array): number => row.reduce((best, v, j) => (v > row[best]! ? j : best), 0);
  const accuracy = (prediction: Int32Array): number => prediction.reduce((s, p, i) => s + (p === val.labels[i] ? 1 : 0), 0) / n;

  it('never charges more than the budget, and more budget does not lower the expected correct answers', async () => {
    // An input sent one exit deeper answers with that exit, right more often (per-exit accuracy
    // rises) yet sometimes less confident: the sum of confidences can dip by a fraction of an
    // answer between neighbouring budgets (0.29 of 1,500 at worst on a 101-point sweep). Allow 0.1%.
    const tolerance = 1e-3 * n;
    let previous = -Infinity;
    for (let b = minimum; b <= maximum * 1.01; b += (maximum - minimum) / 16) {
      const sim = await simulateBudget(val.outputs, costs, b);
      assert.ok(sim.charged <= b, `charged ${sim.charged} ≤ budget ${b}`);
      const spent = sim.exitIndex.reduce((s, k) => s + meta.cumulativeFlops[k]!, 0);
      assert.equal(spent, sim.charged, 'the charge is what the exits reached cost');
      assert.ok(sim.expectedCorrect >= previous - tolerance, `expected correct ${sim.expectedCorrect} at ${b} vs ${previous} before`);
      previous = Math.max(previous, sim.expectedCorrect);
    }
    const least = await simulateBudget(val.outputs, costs, minimum);
    assert.ok(least.exitIndex.every((k) => k === 0));
    const most = await simulateBudget(val.outputs, costs, maximum);
    assert.ok(most.exitIndex.every((k) => k === 3));
    const final = Int32Array.from({ length: n }, (_, i) => argmax(val.outputs.logits[3]!.subarray(i * 10, i * 10 + 10)));
    assert.deepEqual(most.prediction, final);
    assert.ok(most.expectedCorrect > least.expectedCorrect + 0.1 * n);
  });

  it('buys more correct answers than spending the same budget on inputs in arrival order', async () => {
    for (const share of [0.2, 0.4, 0.6]) {
      const budget = minimum + share * (maximum - minimum);
      const sim = await simulateBudget(val.outputs, costs, budget);
      // Baseline: the first inputs run to the end, the rest stop at exit 0.
      const full = Math.floor((budget - minimum) / (maximum / n - flops[0]!));
      const naive = Int32Array.from({ length: n }, (_, i) => {
        const k = i < full ? 3 : 0;
        return argmax(val.outputs.logits[k]!.subarray(i * 10, i * 10 + 10));
      });
      assert.ok(accuracy(sim.prediction) > accuracy(naive) + 0.01, `at ${share}: ${accuracy(sim.prediction)} vs ${accuracy(naive)}`);
    }
    // With the network's own validation accuracies the plan is at least as good on these samples.
    const budget = minimum + 0.3 * (maximum - minimum);
    const informed = await simulateBudget(val.outputs, costs, budget, { exitAccuracy: meta.accuracy.val });
    assert.ok(informed.charged <= budget);
  });

  it('refuses a budget below stage 0 and exit 0 for every input, saying the minimum', async () => {
    await assert.rejects(simulateBudget(val.outputs, costs, minimum - 1, { unit: 'FLOPs' }), (e: unknown) => isExitwiseError(e, 'EXW_USAGE') && e.message.includes(`minimum of ${minimum} FLOPs`));
  });
});

describe('AdaptiveRuntime.budgeted', () => {
  const root = mkdtempSync(join(tmpdir(), 'exitwise-budget-'));
  let tb: TestBundle;
  let runtime: AdaptiveRuntime;
  before(async () => {
    tb = await makeTestBundle(root);
    runtime = await AdaptiveRuntime.open(tb.dir, { threads: 1 });
  });
  after(async () => {
    await runtime?.release();
    rmSync(root, { recursive: true, force: true });
  });

  it('spends a FLOPs budget exactly as the simulation on the reference logits, never above it', async () => {
    const { stages, exits } = tb.bundle.manifest;
    const perInput = stages.map((s, k) => s.flops + exits[k]!.flops);
    const costs: StepCosts = { fixed: perInput.map(() => 0), perInput };
    const minimum = tb.count * perInput[0]!;
    const maximum = tb.count * exits.at(-1)!.cumulativeFlops;
    for (const share of [0, 0.15, 0.5, 1]) {
      const budget = Math.round(minimum + share * (maximum - minimum));
      const result = await runtime.budgeted(tb.images, tb.count, { flops: budget });
      const sim = await simulateBudget(tb.reference, costs, budget, { temperatures: exits.map((e) => e.temperature) });
      assert.deepEqual(result.exitIndex, sim.exitIndex, `share ${share}`);
      assert.deepEqual(result.prediction, sim.prediction);
      assert.ok(result.spent.flops <= budget, `spent ${result.spent.flops} ≤ ${budget}`);
      assert.equal(result.spent.flops, result.charged);
      assert.equal(result.spent.flops, result.exitIndex.reduce((s, k) => s + exits[k]!.cumulativeFlops, 0));
      assert.ok(Math.abs(result.expectedCorrect - sim.expectedCorrect) < 1e-3);
      assert.ok(result.spent.ms > 0);
    }
    await assert.rejects(runtime.budgeted(tb.images, tb.count, { flops: minimum - 1 }), (e: unknown) => isExitwiseError(e, 'EXW_USAGE') && /below the minimum/.test(e.message));
    await assert.rejects(runtime.budgeted(tb.images, tb.count, { flops: 1, ms: 1 }), (e: unknown) => isExitwiseError(e, 'EXW_USAGE'));
  });

  it('plans a time budget with step times: profiled, given, or stored in the manifest', async () => {
    const profiled = await runtime.profile({ batch: 8, repeats: 3 });
    assert.equal(profiled.steps.length, 4);
    assert.ok(profiled.steps.every((s) => s.perInputMs > 0 || s.fixedMs > 0));

    const times: StepTimes = { kind: 'step-times', backend: 'node', threads: 1, steps: [0.1, 0.2, 0.2, 0.2].map((perInputMs) => ({ fixedMs: 0.05, perInputMs })) };
    const minimum = 0.05 + 0.1 * tb.count;
    const budget = minimum + 5;
    const given = await runtime.budgeted(tb.images, tb.count, { ms: budget }, { stepTimes: times });
    assert.ok(given.charged <= budget + 1e-9 && given.charged > minimum);
    await assert.rejects(runtime.budgeted(tb.images, tb.count, { ms: minimum - 0.01 }, { stepTimes: times }), (e: unknown) => isExitwiseError(e, 'EXW_USAGE'));

    const dir = join(root, 'profiled.exitwise');
    saveBundle(dir, { ...tb.bundle, manifest: { ...tb.bundle.manifest, profiles: { 'this-machine': times } } });
    const stored = await AdaptiveRuntime.open(dir, { threads: 1 });
    try {
      const fromManifest = await stored.budgeted(tb.images, tb.count, { ms: budget });
      assert.equal(fromManifest.charged, given.charged);
      assert.deepEqual(fromManifest.exitIndex, given.exitIndex);
    } finally {
      await stored.release();
    }
  });
});
