/**
 * Training-step throughput of the generated backward graph on ORT: a small CNN (3 conv + GAP +
 * linear, batch 128, MNIST-sized input) on 1 and 2 threads. Compare with
 * bench/torch_training_step.py run at the same time (the machine is shared; absolute figures move).
 *
 * Usage: npx tsx bench/training-step.ts
 */
import * as ort from 'onnxruntime-node';
import { intAttr, intsAttr, stringAttr } from '../src/autodiff/attributes.ts';
import { buildTrainingGraph } from '../src/autodiff/training-graph.ts';
import { encodeModel } from '../src/onnx/model-io.ts';
import { DataType } from '../src/onnx/tensor-data.ts';
import { node, randomValues, rng, testModel } from '../test/support/graph.ts';

const [BATCH, WARMUP, STEPS] = [128, 3, 20];
const random = rng(1);
const init = (dims: number[]): [number[], number[]] => [dims, randomValues(random, dims.reduce((p, d) => p * d, 1), 0.1)];
const pool = (x: string, y: string) => node('MaxPool', [x], [y], [intsAttr('kernel_shape', [2, 2]), intsAttr('strides', [2, 2])]);
const conv = (x: string, w: string, y: string) => node('Conv', [x, `${w}.w`, `${w}.b`], [y], [intsAttr('pads', [1, 1, 1, 1])]);
const model = testModel({
  inputs: { x: ['N', 1, 28, 28], labels: [['N'], DataType.INT64] },
  initializers: {
    'c1.w': init([16, 1, 3, 3]), 'c1.b': init([16]), 'c2.w': init([32, 16, 3, 3]), 'c2.b': init([32]),
    'c3.w': init([64, 32, 3, 3]), 'c3.b': init([64]), 'fc.w': init([10, 64]), 'fc.b': init([10]),
  },
  nodes: [
    conv('x', 'c1', 'y1'), node('Relu', ['y1'], ['r1']), pool('r1', 'p1'), // [N, 16, 14, 14]
    conv('p1', 'c2', 'y2'), node('Relu', ['y2'], ['r2']), pool('r2', 'p2'), // [N, 32, 7, 7]
    conv('p2', 'c3', 'y3'), node('Relu', ['y3'], ['r3']), // [N, 64, 7, 7]
    node('GlobalAveragePool', ['r3'], ['gap']), node('Flatten', ['gap'], ['f']),
    node('Gemm', ['f', 'fc.w', 'fc.b'], ['logits'], [intAttr('transB', 1)]),
    node('SoftmaxCrossEntropyLoss', ['logits', 'labels'], ['loss'], [stringAttr('reduction', 'mean')]),
  ],
  outputs: ['loss'],
});
const trainable = model.graph!.initializer.map((t) => t.name);
const training = buildTrainingGraph(model, { loss: 'loss', trainable });
const bytes = encodeModel(training.model);
const feeds: Record<string, ort.Tensor> = {
  x: new ort.Tensor('float32', Float32Array.from({ length: BATCH * 784 }, () => random()), [BATCH, 1, 28, 28]),
  labels: new ort.Tensor('int64', BigInt64Array.from({ length: BATCH }, (_, i) => BigInt(i % 10)), [BATCH]),
};
for (const t of model.graph!.initializer) feeds[t.name] = new ort.Tensor('float32', new Float32Array(new Uint8Array(t.rawData).buffer), t.dims.map(Number));

for (const threads of [1, 2]) {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: threads, interOpNumThreads: 1 });
  for (let i = 0; i < WARMUP; i++) await session.run(feeds);
  const times: number[] = [];
  for (let i = 0; i < STEPS; i++) {
    const t0 = performance.now();
    await session.run(feeds);
    times.push(performance.now() - t0);
  }
  await session.release();
  const median = times.sort((a, b) => a - b)[STEPS >> 1]!;
  console.log(`${threads} thread(s): median step ${median.toFixed(1)} ms, ${Math.round((BATCH / median) * 1000)} samples/s (best ${Math.round((BATCH / times[0]!) * 1000)})`);
}
