/**
 * The gradient test database's vocabulary: a case is a small forward graph, its feeds and the
 * weights to train; helpers make seeded random weights and the usual loss head.
 */
import { intAttr, stringAttr } from '../../../src/autodiff/attributes.ts';
import type { TrainingGraphOptions } from '../../../src/autodiff/training-graph.ts';
import type { ModelProto } from '../../../src/onnx/proto/onnx_pb.ts';
import { DataType } from '../../../src/onnx/tensor-data.ts';
import { node, randomValues, rng, testModel } from '../../support/graph.ts';
import { type Tensor64, tensor } from '../../support/reference/tensor.ts';

export interface GradCase {
  name: string;
  model: ModelProto;
  feeds: Record<string, Tensor64>;
  trainable: string[];
  /** Reference in training mode (batch statistics); a set names the nodes in training mode. */
  training?: boolean | ReadonlySet<string>;
  /** Options of the training graph besides loss and trainable (e.g. trainingMode). */
  graph?: Omit<TrainingGraphOptions, 'loss' | 'trainable'>;
  /** Tolerance on ‖g_ort − g_ref‖/‖g_ref‖ (float32 against float64). */
  tolerance?: number;
}

export const random = rng(1234);
export const count = (dims: number[]) => dims.reduce((p, d) => p * d, 1);
export const rand = (dims: number[], scale = 1) => tensor(dims, randomValues(random, count(dims), scale));
export const param = (dims: number[], scale = 0.5): [number[], number[]] => [dims, randomValues(random, count(dims), scale)];
export const labels = (n: number, classes: number) => tensor([n], Array.from({ length: n }, (_, i) => (i * 7 + 3) % classes));
export const labelInput = (n: number | string): [(number | string)[], number] => [[n], DataType.INT64];
export const sce = (scores: string, labelName = 'labels', out = 'loss') => node('SoftmaxCrossEntropyLoss', [scores, labelName], [out], [stringAttr('reduction', 'mean')]);
export { node, testModel };

/** A conv stack's head: GAP → Flatten → Gemm → mean cross-entropy over 3 classes. */
export function head(from: string, channels: number) {
  return {
    nodes: [
      node('GlobalAveragePool', [from], ['gap']),
      node('Flatten', ['gap'], ['flat']),
      node('Gemm', ['flat', 'fc.w', 'fc.b'], ['logits'], [intAttr('transB', 1)]),
      sce('logits'),
    ],
    initializers: { 'fc.w': param([3, channels]), 'fc.b': param([3]) },
  };
}

export interface Trunk {
  nodes: ReturnType<typeof node>[];
  /** Trainable weights. */
  initializers: Record<string, [number[], number[]]>;
  /** Frozen initializers (running statistics, constants). */
  state?: Record<string, [number[], number[]]>;
  out: string;
  channels: number;
}

/** A case of a conv trunk on input x (dims given, batch symbolic) with the standard head, every weight trained. */
export function convCase(name: string, trunk: Trunk, x: number[] | Tensor64, extra: Partial<GradCase> = {}): GradCase {
  const h = head(trunk.out, trunk.channels);
  const feed = Array.isArray(x) ? rand(x) : x;
  return {
    name,
    model: testModel({
      inputs: { x: ['N', ...feed.dims.slice(1)], labels: labelInput('N') },
      initializers: { ...trunk.initializers, ...trunk.state, ...h.initializers },
      nodes: [...trunk.nodes, ...h.nodes],
      outputs: ['loss'],
    }),
    feeds: { x: feed, labels: labels(feed.dims[0]!, 3) },
    trainable: [...Object.keys(trunk.initializers), ...Object.keys(h.initializers)],
    ...extra,
  };
}

export const conv = (x: string, w: string, b: string | undefined, y: string, attrs: Parameters<typeof node>[3] = []) => node('Conv', b === undefined ? [x, w] : [x, w, b], [y], attrs);
