/**
 * Multi-exit training runs: each strategy writes a bundle whose final exit is the run's model,
 * and an exits-only run leaves the backbone exactly as the same run without exits trains it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { collectExitOutputs } from '../../src/analysis/collect.ts';
import { bundleSplitData } from '../../src/bundle/data.ts';
import { loadBundle } from '../../src/bundle/io.ts';
import { loadDataset } from '../../src/data/registry.ts';
import type { Dataset } from '../../src/data/dataset.ts';
import { loadModel } from '../../src/onnx/model-io.ts';
import { createSession } from '../../src/runtime/session.ts';
import { train, type TrainResult } from '../../src/train/trainer.ts';
import { SHORT_RUN, shortRunOptions } from './trainer-fixture.ts';

const tmp = mkdtempSync(join(tmpdir(), 'exw-trainer-exits-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const RUN = { ...SHORT_RUN, epochs: 1, arch: { kind: 'resnet' as const, blocksPerStage: [1, 1], width: 8 } };
let dataset: Dataset;
let plain: TrainResult;
before(async () => {
  dataset = await loadDataset('mnist');
  plain = await train(RUN, { ...shortRunOptions(join(tmp, 'plain')), dataset });
});

async function finalLogits(modelPath: string, output: string, x: Float32Array, n: number): Promise<Float32Array> {
  const session = await createSession(loadModel(modelPath), { threads: 1 });
  try {
    return (await session.run({ image: { type: 'float32', dims: [n, 1, 28, 28], data: x } }, { outputs: [output] }))[output]!.data as Float32Array;
  } finally {
    await session.release();
  }
}

describe('multi-exit training runs', () => {
  it('exits-only: the backbone is trained exactly as without exits, then only heads; the bundle reproduces the model', async () => {
    const run = await train({ ...RUN, exits: { placement: { by: 'count', count: 2 }, strategy: 'exits-only' } }, { ...shortRunOptions(join(tmp, 'exits-only')), dataset });
    assert.equal(run.testAccuracy, plain.testAccuracy, 'same final exit as the single-exit run');
    assert.equal(run.exitTestAccuracy!.length, 3);
    const bundle = loadBundle(run.bundle!);
    assert.equal(bundle.manifest.provenance.strategy, 'exits-only');
    const x = new Float32Array(16 * 784).map((_, i) => (dataset.test.images[i]! / 255 - dataset.pixelStats.mean) / dataset.pixelStats.std);
    const [a, b] = await Promise.all([finalLogits(plain.model, 'logits', x, 16), finalLogits(run.model, 'logits', x, 16)]);
    assert.deepEqual(b, a, 'final-exit logits bit-identical to the backbone trained alone');
    // The bundle's segments reproduce every exit's test accuracy the run reported from its one-graph model.
    const { outputs, labels } = await collectExitOutputs(bundle, bundleSplitData(bundle.manifest, dataset, 'test'), { threads: 1 });
    const accuracies = outputs.logits.map((l) => {
      let right = 0;
      for (let i = 0; i < labels.length; i++) {
        const row = l.subarray(i * 10, i * 10 + 10);
        if (row.indexOf(Math.max(...row)) === labels[i]) right++;
      }
      return right / labels.length;
    });
    accuracies.forEach((acc, k) => assert.ok(Math.abs(acc - run.exitTestAccuracy![k]!) <= 2e-4, `exit ${k}: bundle ${acc} vs run ${run.exitTestAccuracy![k]}`));
  });

  it('distill and e2e: per-exit validation accuracy each epoch, a bundle with the strategy, weights checked against the exits', async () => {
    const run = await train({ ...RUN, exits: { placement: { by: 'count', count: 2 }, strategy: 'distill', weights: 'uniform' } }, { ...shortRunOptions(join(tmp, 'distill')), dataset });
    assert.equal(run.history[0]!.exitValAccuracy!.length, 3);
    assert.equal(run.history[0]!.exitValAccuracy![2], run.history[0]!.valAccuracy);
    assert.equal(loadBundle(run.bundle!).manifest.provenance.strategy, 'distill');
    assert.deepEqual(run.config.exits!.weights, [1, 1, 1]);
    await assert.rejects(train({ ...RUN, exits: { placement: { by: 'count', count: 2 }, weights: [1, 1] } }, { ...shortRunOptions(join(tmp, 'bad')), dataset }), /2 loss weights for 3 exits/);
  });
});
