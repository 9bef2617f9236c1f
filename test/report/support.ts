/**
 * Report fixtures: the recorded 4-exit Fashion-MNIST logits with a manifest as `exitwise tune`
 * would leave it (temperatures fitted on val, max-softmax thresholds tuned on val for a 0.5 pp
 * drop) and a latency profile, so every section of the page has real data.
 */
import { parseManifest } from '../../src/bundle/manifest.ts';
import { calibrateExits } from '../../src/exits/calibration.ts';
import { fitPolicy } from '../../src/exits/policies/registry.ts';
import { tuneThresholds } from '../../src/exits/tuning/tune.ts';
import type { ReportInput } from '../../src/report/build.ts';
import { manifestForCosts } from '../analysis/support.ts';
import { fashionExits } from '../exits/exit-data.ts';

/** Per-exit ms per sample of a made-up device: a fixed call cost plus FLOPs at 5 GFLOP/s. */
export function fixtureLatency(cumulativeFlops: readonly number[]): number[] {
  return cumulativeFlops.map((f, k) => 0.02 * (k + 1) + f / 5e6);
}

let cached: ReportInput | undefined;

/** The full report input of the recorded network (calibrated, tuned, with latency). */
export function fashionReportInput(): ReportInput {
  if (cached !== undefined) return cached;
  const { val, test, meta } = fashionExits();
  const temperatures = calibrateExits(val.outputs, val.labels).calibration.temperatures;
  const base = manifestForCosts(meta.cumulativeFlops, temperatures);
  const policy = tuneThresholds(fitPolicy('max-softmax', val.outputs, val.labels, { temperatures }), val.outputs, val.labels, {
    target: { kind: 'accuracy-drop', maxDropPp: 0.5 },
    costs: { flops: meta.cumulativeFlops },
  }).policy;
  const manifest = parseManifest({ ...base, policy: policy.toJSON() });
  cached = {
    manifest,
    title: 'fashion-cnn',
    test,
    val,
    latency: { label: 'fixture profile', description: 'a made-up device: 0.02 ms per segment call plus 5 GFLOP/s', cumulativeMs: fixtureLatency(meta.cumulativeFlops) },
    date: new Date('2025-06-01T12:00:00Z'),
  };
  return cached;
}
