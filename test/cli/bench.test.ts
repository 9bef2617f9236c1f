import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bundleSplitData } from '../../src/bundle/data.ts';
import { saveBundle, type Bundle } from '../../src/bundle/io.ts';
import { loadDataset } from '../../src/data/registry.ts';
import { argmaxRows, exitOutputs, type ExitOutputs } from '../../src/exits/outputs.ts';
import type { ExitPolicy } from '../../src/exits/policies/policy.ts';
import { policyFromJson } from '../../src/exits/policies/registry.ts';
import { simulate } from '../../src/exits/policies/simulate.ts';
import { AdaptiveRuntime } from '../../src/runtime/adaptive/index.ts';
import { noExitPolicy } from '../../src/runtime/bench/benchmark.ts';
import { type BenchInputs, prepareInputs } from '../../src/runtime/bench/inputs.ts';
import { PaddedRuntime } from '../../src/runtime/bench/padded.ts';
import { type BenchReport, BenchReportSchema } from '../../src/schemas/bench.ts';
import { exitwiseInProcess, runSegments, tinyBundle } from '../bundle/subnet-support.ts';

const COUNT = 64;
const tmp = mkdtempSync(join(tmpdir(), 'exw-cli-bench-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const dir = join(tmp, 'tiny.exitwise');

let bundle: Bundle;
let inputs: BenchInputs;
let outputs: ExitOutputs;
let policy: ExitPolicy;

/**
 * The tiny untrained bundle, with a max-softmax policy whose thresholds sit at the median score
 * of each early exit on the first 64 MNIST test images (midway between two samples' scores, so
 * batch composition cannot flip a decision): inputs leave at every exit.
 */
before(async () => {
  const untuned = tinyBundle().bundle;
  inputs = prepareInputs(bundleSplitData(untuned.manifest, await loadDataset('mnist'), 'test'), COUNT);
  const logits = await runSegments(untuned, { type: 'float32', dims: [COUNT, ...inputs.inputDims], data: inputs.data });
  outputs = exitOutputs(logits.map((t) => t.data as Float32Array), 10);
  const K = logits.length;
  const scores = policyFromJson({ kind: 'max-softmax', exits: K, thresholds: new Array(K - 1).fill(null) }).scores(outputs);
  const thresholds = scores.slice(0, -1).map((s) => {
    const sorted = Float64Array.from(s).sort();
    return (sorted[COUNT / 2 - 1]! + sorted[COUNT / 2]!) / 2;
  });
  policy = policyFromJson({ kind: 'max-softmax', exits: K, thresholds });
  bundle = { ...untuned, manifest: { ...untuned.manifest, policy: policy.toJSON() } };
  saveBundle(dir, bundle);
});

function accuracy(prediction: Int32Array): number {
  return prediction.reduce((n, p, i) => n + (p === inputs.labels[i] ? 1 : 0), 0) / COUNT;
}

describe('exitwise bench', () => {
  let report: BenchReport;

  it('--json prints the report: histograms, accuracies and the ideal speedup agree with simulate() over every exit\'s outputs', async () => {
    const r = await exitwiseInProcess('bench', dir, '--limit', String(COUNT), '--batch', '1,16,64', '--rounds', '1', '--threads', '1', '--json');
    assert.equal(r.status, 0, r.stderr);
    report = BenchReportSchema.parse(JSON.parse(r.stdout));
    assert.match(r.stderr, /^bench .*tiny\.exitwise on 64 mnist test inputs, batches 1, 16, 64, 1 rounds, threads 1\n/);
    assert.match(r.stderr, /batch 16, round 1\/1: full [\d.]+ ms, adaptive [\d.]+ ms, padded [\d.]+ ms, nothing exits [\d.]+ ms per input/);
    assert.deepEqual([report.bundle, report.dataset, report.split, report.count, report.threads, report.rounds], [dir, 'mnist', 'test', COUNT, 1, 1]);
    assert.deepEqual(report.policy, policy.toJSON());

    const simulated = simulate(policy, outputs);
    const histogram = [0, 0, 0];
    for (const k of simulated.exitIndex) histogram[k]! += 1;
    assert.ok(histogram.every((n) => n > 0), `inputs leave at every exit: ${histogram}`);
    const { cumulativeFlops } = bundle.manifest.exits.at(-1)!;
    const fullFlops = bundle.manifest.stages.reduce((n, s) => n + s.flops, 0) + bundle.manifest.exits.at(-1)!.flops;
    assert.ok(fullFlops < cumulativeFlops, 'the plain model runs no early head');
    assert.equal(report.fullFlops, fullFlops);
    const expectedFlops = simulated.exitIndex.reduce((n, k) => n + bundle.manifest.exits[k]!.cumulativeFlops, 0) / COUNT;
    const finalAccuracy = accuracy(argmaxRows(outputs.logits.at(-1)!, 10));

    assert.deepEqual(report.batches.map((b) => b.batch), [1, 16, 64]);
    for (const b of report.batches) {
      assert.deepEqual(b.exitHistogram, histogram, `batch ${b.batch}`);
      assert.equal(b.exitHistogram.reduce((a, c) => a + c, 0), COUNT);
      assert.equal(b.accuracyAdaptive, accuracy(simulated.prediction));
      assert.equal(b.accuracyFull, finalAccuracy);
      assert.ok(Math.abs(b.expectedFlops - expectedFlops) <= 1e-9 * expectedFlops);
      assert.ok(Math.abs(b.idealSpeedup - fullFlops / expectedFlops) <= 1e-12 * b.idealSpeedup);
      assert.ok(Math.abs(b.speedup - b.fullMs / b.adaptiveMs) <= 1e-12 * b.speedup);
      assert.ok(Math.abs(b.efficiency - b.speedup / b.idealSpeedup) <= 1e-12 * b.efficiency);
      assert.ok(Math.abs(b.speedupVsPadded - b.paddedMs / b.adaptiveMs) <= 1e-12 * b.speedupVsPadded);
      assert.ok(b.fullMs > 0 && b.adaptiveMs > 0 && b.paddedMs > 0);
    }
    assert.deepEqual(report.noExit.map((n) => n.batch), [1, 16, 64]);
    for (const [i, n] of report.noExit.entries()) {
      assert.equal(n.fullMs, report.batches[i]!.fullMs, 'the same plain-model measurement');
      assert.ok(Math.abs(n.ratio - n.adaptiveMs / n.fullMs) <= 1e-12 * n.ratio);
    }
  });

  it('the padded baseline predicts what the adaptive runtime does, input by input, at every batch size', async () => {
    const adaptive = await AdaptiveRuntime.open(bundle, { threads: 1 });
    const padded = await PaddedRuntime.open(bundle, adaptive.policy, { threads: 1 });
    try {
      const simulated = simulate(policy, outputs);
      for (const batch of [1, 16, 64]) {
        const exits = { adaptive: new Int32Array(COUNT), padded: new Int32Array(COUNT) };
        const predictions = { adaptive: new Int32Array(COUNT), padded: new Int32Array(COUNT) };
        const size = inputs.data.length / COUNT;
        for (let start = 0; start < COUNT; start += batch) {
          const x = inputs.data.subarray(start * size, (start + batch) * size);
          const a = await adaptive.run(x, batch);
          const p = await padded.run(x, batch);
          exits.adaptive.set(a.exitIndex, start);
          exits.padded.set(p.exitIndex, start);
          predictions.adaptive.set(a.prediction, start);
          predictions.padded.set(p.prediction, start);
        }
        assert.deepEqual(predictions.padded, predictions.adaptive, `batch ${batch}`);
        assert.deepEqual(exits.padded, exits.adaptive, `batch ${batch}`);
        assert.deepEqual(exits.adaptive, simulated.exitIndex, `batch ${batch}`);
      }
      // The expected FLOPs of the report are the runtime's per-input FLOPs: the manifest's, less the heads it skips.
      const { exits } = bundle.manifest;
      const first = (policy.toJSON() as { thresholds: number[] }).thresholds[0]!;
      const skipping = await adaptive.run(inputs.data, COUNT, { policy: policyFromJson({ kind: 'max-softmax', exits: 3, thresholds: [first, null] }) });
      skipping.exitIndex.forEach((k, i) => assert.equal(skipping.flops[i], exits[k]!.cumulativeFlops - (k === 2 ? exits[1]!.flops : 0)));
      assert.ok(skipping.exitIndex.includes(2));
      const none = await adaptive.run(inputs.data, COUNT, { policy: noExitPolicy(3) });
      assert.deepEqual(none.exitIndex, new Int32Array(COUNT).fill(2), 'the nothing-exits policy stops no input early');
      assert.deepEqual(none.prediction, argmaxRows(outputs.logits.at(-1)!, 10));
    } finally {
      await padded.release();
      await adaptive.release();
    }
  });

  it('prints a table without --json', async () => {
    const r = await exitwiseInProcess('bench', dir, '--limit', '16', '--batch', '8', '--rounds', '1', '--quiet');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.match(r.stdout, /^.*tiny\.exitwise on 16 mnist test inputs, policy max-softmax \(compiled graph\), threads default, median of 1 rounds \(ms per input\)\n/);
    assert.match(r.stdout, /\nbatch +full +adaptive +padded +speedup +ideal +efficiency +vs padded +acc full +acc adaptive +exits\n/);
    assert.match(r.stdout, /\n +8 +[\d.]+ +[\d.]+ +[\d.]+ +[\d.]+× +[\d.]+× +\d+% +[\d.]+× +[\d.]+% +[\d.]+% +\d+\/\d+\/\d+\n/);
    assert.match(r.stdout, /\nnothing exits \(every input runs every stage and head\):\nbatch +full +adaptive +ratio\n[- ]+\n +8 +[\d.]+ +[\d.]+ +[\d.]+×\n$/);
  });

  it('usage errors name what is wrong', async () => {
    const zero = await exitwiseInProcess('bench', dir, '--batch', '1,0', '--json');
    assert.equal(zero.status, 64);
    assert.match(JSON.parse(zero.stdout).error.message, /option '--batch <sizes>' argument '1,0' is invalid\. expected comma-separated integers ≥ 1, e\.g\. 1,64\./);
    const other = await exitwiseInProcess('bench', dir, '--dataset', 'nope');
    assert.equal(other.status, 64);
    assert.match(other.stderr, /error EXW_USAGE: unknown dataset "nope"/);
  });
});
