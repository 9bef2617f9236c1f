// The README's TypeScript example: build → train → tune → run an early-exit network.
// Run it with `node --import tsx examples/api.ts` (test/cli/readme.test.ts does).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AdaptiveRuntime, bundleSplitData, collectExitOutputs, loadBundle, loadDataset, prepareInputs, train, tuneBundlePolicy, writeTuning,
} from 'exitwise';

// Build and train: a small ResNet with 3 exits placed equidistant in FLOPs, trained end to end.
// (Import a PyTorch model instead with `exitwise attach model.onnx …`.)
const dataset = await loadDataset('mnist');
const out = mkdtempSync(join(tmpdir(), 'exitwise-example-'));
const run = await train(
  { dataset: 'mnist', arch: { kind: 'resnet', width: 8 }, epochs: 2, limit: 6000, exits: { placement: { by: 'count', count: 3 }, strategy: 'e2e', weights: 'uniform' } },
  { out, dataset, threads: 1 },
);
const bundle = run.bundle!; // out/model.exitwise: stages/, exits/, manifest.json
console.log(`per-exit test accuracy: ${run.exitTestAccuracy!.map((a) => a.toFixed(3)).join(', ')}`);

// Tune on the validation split (never test): temperatures, then thresholds for ≤ 0.5 pp accuracy drop.
const manifest = loadBundle(bundle).manifest;
const val = await collectExitOutputs(bundle, bundleSplitData(manifest, dataset, 'val'));
const tuning = tuneBundlePolicy(manifest, val.outputs, val.labels, { target: { kind: 'accuracy-drop', maxDropPp: 0.5 } });
writeTuning(bundle, tuning);
console.log(`val: ${tuning.val!.accuracy.toFixed(4)} at ${(100 * tuning.val!.flopsFraction).toFixed(1)}% of the FLOPs`);

// Run adaptively: each input stops at the first confident exit; the batch shrinks as inputs leave.
// prepareInputs preprocesses images as the manifest says ([count, 1, 28, 28] float32).
const inputs = prepareInputs(bundleSplitData(loadBundle(bundle).manifest, dataset, 'test'), 256);
const runtime = await AdaptiveRuntime.open(bundle, { threads: 1 }); // the tuned policy from the manifest
const result = await runtime.run(inputs.data, inputs.count);
const correct = result.prediction.filter((p, i) => p === inputs.labels[i]).length;
console.log(`${correct}/${inputs.count} right; exits taken: ${Array.from(result.exitIndex.slice(0, 16)).join(' ')} …`);
await runtime.release();
