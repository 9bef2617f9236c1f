/**
 * A model exported by PyTorch 1.13 (a tiny vision transformer with its loss; fixture made by
 * scripts/fixtures/make-autodiff-torch.py) trains as exported: every parameter's gradient from
 * the generated training graph, on real MNIST images, against PyTorch's float64 autograd.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { buildTrainingGraph } from '../../src/autodiff/training-graph.ts';
import { decodeModel } from '../../src/onnx/model-io.ts';
import { relativeError, runTraining } from '../support/grad-check.ts';
import { mnistSample } from '../support/mnist.ts';
import { tensor } from '../support/reference/tensor.ts';

const fixture = JSON.parse(readFileSync(new URL('./fixtures/tiny-vit.json', import.meta.url), 'utf8')) as { count: number; loss: number; grads: Record<string, number[]> };
const model = decodeModel(readFileSync(new URL('./fixtures/tiny-vit.onnx', import.meta.url)));

describe('a PyTorch-exported model', () => {
  it('gives PyTorch’s loss and gradients for every parameter', async () => {
    const trainable = Object.keys(fixture.grads);
    const training = buildTrainingGraph(model, { loss: 'loss', trainable });
    const { images, labels } = mnistSample(fixture.count);
    const out = await runTraining(training, model, { x: tensor([fixture.count, 1, 28, 28], images), labels: tensor([fixture.count], labels) });
    assert.ok(Math.abs((out['loss']!.data as Float32Array)[0]! - fixture.loss) < 1e-5, `loss ${(out['loss']!.data as Float32Array)[0]} vs ${fixture.loss}`);
    for (const p of trainable) {
      const err = relativeError(out[training.gradientNames.get(p)!]!.data as Float32Array, fixture.grads[p]!);
      assert.ok(err < 1e-4, `${p}: relative error ${err}`);
    }
  });
});
