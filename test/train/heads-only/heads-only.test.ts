import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { Dataset } from '../../../src/data/dataset.ts';
import { runModelWithIntermediates } from '../../../src/runtime/intermediates.ts';
import { float32Tensor } from '../../../src/runtime/tensor.ts';
import { cacheExitFeatures, planCachePasses, featureBytesPerSample } from '../../../src/train/heads-only/features.ts';
import { trainHeadsOnly, type HeadsOnlyResult } from '../../../src/train/heads-only/heads-only.ts';
import type { HeadsOnlyEvent } from '../../../src/train/heads-only/progress.ts';
import { initializers, inputsOf, loadMnist, mnistData, multiExitClassifier, runOutput } from './support.ts';

const { backbone, multi } = multiExitClassifier();
const THREADS = { threads: 1 };
/** A quick run: few images, one epoch: for properties that do not need trained heads. */
const QUICK = { epochs: 1, batchSize: 32, lr: 1e-2 };
let dataset: Dataset;
before(async () => {
  dataset = await loadMnist();
});

describe('feature cache', () => {
  it('holds exactly the tensors the exits read and the final logits, as the whole model computes them', async () => {
    const data = mnistData(dataset, 100, 160);
    const [cached] = await cacheExitFeatures(multi, [data], { exits: [0, 1], final: true, batchSize: 25, ...THREADS });
    const whole = await runModelWithIntermediates(multi.model, { x: float32Tensor(inputsOf(data), [60, 1, 28, 28]) }, [...multi.exitTensors, multi.exitLogits.at(-1)!], THREADS);
    assert.equal(cached!.samples, 60);
    multi.exitTensors.forEach((t, k) => {
      assert.deepEqual(cached!.dims[k], whole[t]!.dims.slice(1));
      assert.deepEqual(cached!.features[k], whole[t]!.data, `exit ${k}'s feature "${t}"`);
    });
    assert.deepEqual(cached!.finalLogits, whole[multi.exitLogits.at(-1)!]!.data);
  });

  it('plans backbone passes within the budget, last exit first, an exit too large alone', () => {
    const bytes = featureBytesPerSample(multi);
    assert.deepEqual(bytes, [4 * 8 * 28 * 28, 4 * 16 * 14 * 14]);
    assert.deepEqual(planCachePasses(multi, 1000, 1e9), [[1, 0]]);
    assert.deepEqual(planCachePasses(multi, 1000, (bytes[0]! + bytes[1]!) * 1000 - 1), [[1], [0]]);
    assert.deepEqual(planCachePasses(multi, 1000, 1), [[1], [0]]);
  });

  it('gives the same heads when exits are cached in separate, shorter passes', async () => {
    const data = { train: mnistData(dataset, 0, 300), val: mnistData(dataset, 300, 400) };
    const one = await trainHeadsOnly(multi, data, QUICK, THREADS);
    const two = await trainHeadsOnly(multi, data, { ...QUICK, cacheBytes: 1 }, THREADS);
    assert.deepEqual([one.passes, two.passes], [1, 2]);
    assert.deepEqual(initializers(two.multiExit.model), initializers(one.multiExit.model));
  });
});

describe('exits-only training', () => {
  let trained: HeadsOnlyResult;
  const events: HeadsOnlyEvent[] = [];
  const data = () => ({ train: mnistData(dataset, 0, 2500), val: mnistData(dataset, 2500, 3000) });

  before(async () => {
    trained = await trainHeadsOnly(multi, data(), { epochs: 3, batchSize: 32, lr: 1e-2 }, { ...THREADS, onProgress: (e) => events.push(e) });
  });

  it('teaches every head on real MNIST well above chance', () => {
    assert.deepEqual(trained.exits.map((e) => [e.exit, e.tensor]), multi.exitTensors.map((t, k) => [k, t]));
    const least = [0.4, 0.85]; // chance is 0.1; see multiExitClassifier for exit 0
    for (const e of trained.exits) {
      assert.equal(e.history.length, 3);
      assert.ok(e.valAccuracy! > least[e.exit]!, `exit ${e.exit}: val accuracy ${e.valAccuracy}`);
      assert.ok(e.history[2]!.loss < e.history[0]!.loss, `exit ${e.exit}: loss ${e.history.map((h) => h.loss)}`);
      assert.equal(e.history[2]!.valAccuracy, e.valAccuracy, 'trained on labels: val accuracy is against the labels');
    }
    assert.ok(trained.finalValAccuracy! > 0.9);
    assert.deepEqual([trained.trainSamples, trained.valSamples, trained.passes], [2500, 500, 1]);
  });

  it('leaves the backbone and the final exit untouched, bit for bit', async () => {
    const before = initializers(backbone);
    const after = initializers(trained.multiExit.model);
    for (const [name, values] of before) assert.deepEqual(after.get(name), values, `backbone weight ${name}`);
    const x = inputsOf(mnistData(dataset, 5000, 5100));
    const original = await runOutput(backbone, 'logits', x);
    assert.deepEqual(await runOutput(trained.multiExit.model, trained.multiExit.exitLogits.at(-1)!, x), original);
    // The heads did change.
    const heads = [...initializers(multi.model)].filter(([n]) => n.startsWith('exit') && !n.includes('running'));
    assert.ok(heads.every(([n, v]) => JSON.stringify(Array.from(after.get(n)!, Number)) !== JSON.stringify(Array.from(v, Number))), 'every head weight trained');
  });

  it('reports caching, steps and epochs to the progress callback', () => {
    assert.equal(events[0]!.kind, 'start');
    assert.equal(events.at(-1)!.kind, 'end');
    const cache = events.filter((e) => e.kind === 'cache');
    assert.deepEqual(cache.at(-1), { kind: 'cache', pass: 0, passes: 1, exits: [0, 1], done: 3000, total: 3000 });
    const epochs = events.flatMap((e) => (e.kind === 'epoch' ? [[e.exit, e.record.epoch]] : []));
    assert.deepEqual(epochs, [[1, 1], [1, 2], [1, 3], [0, 1], [0, 2], [0, 3]]);
    const steps = events.filter((e) => e.kind === 'step');
    assert.equal(steps.length, 2 * 3 * Math.floor(2500 / 32));
    assert.deepEqual(steps.at(-1)!.kind === 'step' && [steps.at(-1)!.step, steps.at(-1)!.totalSteps], [steps.length, steps.length]);
  });
});
