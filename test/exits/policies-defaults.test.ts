/**
 * Default thresholds must let samples stop early on realistic data. "One popular default
 * silently disables exits": here every kind's defaults are run on the logits of a real trained
 * network, raw and temperature-calibrated, on val and on test.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { calibrateExits } from '../../src/exits/calibration.ts';
import { fitPolicy, policyKinds } from '../../src/exits/policies/registry.ts';
import { simulate } from '../../src/exits/policies/simulate.ts';
import { fashionExits, syntheticExits } from './exit-data.ts';

for (const kind of policyKinds()) {
  test(`${kind}: default settings stop samples early on real and synthetic logits`, () => {
    const { val, test: testSplit } = fashionExits();
    const synthetic = syntheticExits({ samples: 2000, seed: 11 });
    const temperatures = calibrateExits(val.outputs, val.labels).calibration.temperatures;
    const report: string[] = [];
    for (const [name, fitOn, evalOn, t] of [
      ['real', val, testSplit, undefined],
      ['real calibrated', val, testSplit, temperatures],
      ['synthetic', synthetic, synthetic, undefined],
    ] as const) {
      const policy = fitPolicy(kind, fitOn.outputs, fitOn.labels, t ? { temperatures: [...t] } : {});
      const { exitIndex } = simulate(policy, evalOn.outputs);
      const early = exitIndex.filter((k) => k < policy.exits - 1).length / exitIndex.length;
      report.push(`${name} ${(early * 100).toFixed(1)}%`);
      assert.ok(early >= 0.1, `${kind} defaults stop only ${(early * 100).toFixed(1)}% early on ${name} data`);
    }
    console.log(`# ${kind} defaults, share stopping before the final exit: ${report.join(', ')}`);
  });
}
