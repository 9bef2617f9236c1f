/**
 * Inference export after a few real training steps (BN in training mode moves the running
 * statistics): the exported model's outputs equal the training graph's own inference-mode
 * forward pass and the float64 reference, and bad values give typed errors.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clone } from '@bufbuild/protobuf';
import * as ort from 'onnxruntime-node';
import { intAttr, intsAttr, stringAttr } from '../../src/autodiff/attributes.ts';
import { exportInference } from '../../src/autodiff/export.ts';
import { buildTrainingGraph } from '../../src/autodiff/training-graph.ts';
import { isExitwiseError } from '../../src/errors.ts';
import { encodeModel } from '../../src/onnx/model-io.ts';
import { ModelProtoSchema } from '../../src/onnx/proto/onnx_pb.ts';
import { arrayToTensor, DataType, tensorToArray } from '../../src/onnx/tensor-data.ts';
import { relativeError } from '../support/grad-check.ts';
import { node, randomValues, rng, testModel } from '../support/graph.ts';
import { mnistSample } from '../support/mnist.ts';
import { runReference } from '../support/reference/interpreter.ts';
import { tensor } from '../support/reference/tensor.ts';

const [BATCH, STEPS, LR] = [16, 5, 0.05];
const random = rng(8);
const param = (dims: number[], scale: number): [number[], number[]] => [dims, randomValues(random, dims.reduce((p, d) => p * d, 1), scale)];
const model = testModel({
  inputs: { x: ['N', 1, 28, 28], labels: [['N'], DataType.INT64] },
  initializers: {
    'c.w': param([6, 1, 3, 3], 0.5), 'bn.scale': [[6], Array(6).fill(1)], 'bn.bias': [[6], Array(6).fill(0)], 'bn.mean': [[6], Array(6).fill(0)], 'bn.var': [[6], Array(6).fill(1)],
    ratio: [[], [0.25]], 'fc.w': param([10, 6], 0.4), 'fc.b': param([10], 0.1),
  },
  nodes: [
    node('Conv', ['x', 'c.w'], ['c'], [intsAttr('pads', [1, 1, 1, 1]), intsAttr('strides', [2, 2])]),
    node('BatchNormalization', ['c', 'bn.scale', 'bn.bias', 'bn.mean', 'bn.var'], ['z']), node('Relu', ['z'], ['r']),
    node('Dropout', ['r', 'ratio'], ['d']), node('GlobalAveragePool', ['d'], ['gap']), node('Flatten', ['gap'], ['f']),
    node('Gemm', ['f', 'fc.w', 'fc.b'], ['logits'], [intAttr('transB', 1)]),
    node('SoftmaxCrossEntropyLoss', ['logits', 'labels'], ['loss'], [stringAttr('reduction', 'mean')]),
  ],
  outputs: ['loss', 'logits'],
});
const trainable = ['c.w', 'bn.scale', 'bn.bias', 'fc.w', 'fc.b'];
const { images, labels } = mnistSample(BATCH * (STEPS + 1));
const batch = (k: number) => ({
  x: new ort.Tensor('float32', Float32Array.from(images.subarray(k * BATCH * 784, (k + 1) * BATCH * 784)), [BATCH, 1, 28, 28]),
  labels: new ort.Tensor('int64', BigInt64Array.from(labels.subarray(k * BATCH, (k + 1) * BATCH), (v) => BigInt(v)), [BATCH]),
});

async function run(bytes: Uint8Array, feeds: Record<string, ort.Tensor>, fetch: string[]): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  try {
    return await session.run(feeds, fetch);
  } finally {
    await session.release();
  }
}

/** Plain SGD through the training graph, running statistics carried over; returns every parameterInput's values. */
async function train(): Promise<Map<string, Float32Array>> {
  const training = buildTrainingGraph(model, { loss: 'loss', trainable });
  const values = new Map(model.graph!.initializer.filter((t) => training.parameterInputs.includes(t.name)).map((t) => [t.name, Float32Array.from(tensorToArray(t).data as Float32Array)]));
  const dims = new Map(model.graph!.initializer.map((t) => [t.name, t.dims.map(Number)]));
  const session = await ort.InferenceSession.create(encodeModel(training.model), { intraOpNumThreads: 1 });
  try {
    for (let step = 0; step < STEPS; step++) {
      const feeds: Record<string, ort.Tensor> = { ...batch(step) };
      for (const [name, v] of values) feeds[name] = new ort.Tensor('float32', v, dims.get(name)!);
      const out = await session.run(feeds);
      for (const [p, g] of training.gradientNames) {
        const w = values.get(p)!;
        (out[g]!.data as Float32Array).forEach((d, i) => { w[i]! -= LR * d; });
      }
      for (const [s, u] of training.stateUpdates) values.set(s, Float32Array.from(out[u]!.data as Float32Array));
    }
  } finally {
    await session.release();
  }
  return values;
}

describe('exportInference', () => {
  it("equals the training graph's inference-mode forward pass and the float64 reference after training", async () => {
    const trained = await train();
    assert.ok(trained.get('bn.mean')!.some((v) => v !== 0), 'training moved the running mean');
    const exported = exportInference(model, trained);
    assert.deepEqual(exported.graph!.node, model.graph!.node, 'the forward graph, unchanged');
    const test = batch(STEPS);
    const got = (await run(encodeModel(exported), test, ['logits']))['logits']!.data as Float32Array;

    // In 'none' mode running statistics stay initializers: give that forward model the trained ones.
    const withStats = clone(ModelProtoSchema, model);
    withStats.graph!.initializer = withStats.graph!.initializer.map((t) => (t.name.startsWith('bn.m') || t.name.startsWith('bn.v') ? arrayToTensor(t.name, DataType.FLOAT, t.dims.map(Number), trained.get(t.name)!) : t));
    const evalGraph = buildTrainingGraph(withStats, { loss: 'loss', trainable, trainingMode: 'none' });
    const feeds: Record<string, ort.Tensor> = { ...test };
    for (const name of evalGraph.parameterInputs) feeds[name] = new ort.Tensor('float32', trained.get(name)!, model.graph!.initializer.find((t) => t.name === name)!.dims.map(Number));
    const viaTraining = (await run(encodeModel(evalGraph.model), feeds, ['logits']))['logits']!.data as Float32Array;
    assert.ok(relativeError(got, viaTraining) < 1e-6, `export vs training graph: ${relativeError(got, viaTraining)}`);

    const overrides = new Map([...trained].map(([name, v]) => [name, tensor(model.graph!.initializer.find((t) => t.name === name)!.dims.map(Number), v)]));
    const ref = runReference(model, { x: tensor([BATCH, 1, 28, 28], test.x.data as Float32Array), labels: tensor([BATCH], Array.from(test.labels.data as BigInt64Array, Number)) }, { overrides });
    assert.ok(relativeError(got, ref.get('logits')!.data) < 1e-5, `export vs float64 reference: ${relativeError(got, ref.get('logits')!.data)}`);
  });

  it('switches a Dropout with a training_mode input to inference', () => {
    const m = testModel({
      inputs: { x: [2, 3] }, initializers: { ratio: [[], [0.5]], on: [[], [1]] },
      nodes: [node('Dropout', ['x', 'ratio', 'on'], ['y'])], outputs: ['y'],
    });
    m.graph!.initializer[1] = { ...m.graph!.initializer[1]!, dataType: DataType.BOOL, rawData: Uint8Array.of(1) };
    assert.deepEqual(exportInference(m, new Map()).graph!.node[0]!.input, ['x', 'ratio']);
  });

  it('gives EXW_TENSOR_DATA for names that are not float initializers and for wrong sizes', () => {
    const fails = (values: Map<string, Float32Array>, pattern: RegExp) =>
      assert.throws(() => exportInference(model, values), (e) => isExitwiseError(e, 'EXW_TENSOR_DATA') && pattern.test(e.message));
    fails(new Map([['nope', new Float32Array(1)]]), /"nope", which is not a float32 initializer/);
    fails(new Map([['fc.b', new Float32Array(3)]]), /hold 3 numbers; the initializer has dims \[10\]/);
  });
});
