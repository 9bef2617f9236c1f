/**
 * The float64 reference interpreter: runs a forward ONNX graph in doubles, and backpropagates
 * through it with each op's direct-loop vector-Jacobian product. A test oracle for the
 * training graphs ORT runs in float32.
 */
import { indexGraph } from '../../../src/onnx/graph-index.ts';
import type { ModelProto } from '../../../src/onnx/proto/onnx_pb.ts';
import { tensorToArray } from '../../../src/onnx/tensor-data.ts';
import type { RefContext } from './ops/op.ts';
import { REFERENCE_OPS } from './ops/index.ts';
import { addInto, type Tensor64, tensor } from './tensor.ts';

export interface ReferenceOptions {
  /** Batch statistics in BatchNormalization, masks in Dropout (default false); a set names the nodes in training mode. */
  training?: boolean | ReadonlySet<string>;
  /** Dropout masks keyed by the Dropout node's output name. */
  masks?: ReadonlyMap<string, Tensor64>;
  /** Replaces initializer values (finite differences perturb weights through this). */
  overrides?: ReadonlyMap<string, Tensor64>;
}

/** Every tensor's value after a forward run. */
export function runReference(model: ModelProto, feeds: Record<string, Tensor64>, options: ReferenceOptions = {}): Map<string, Tensor64> {
  return forward(model, feeds, options).values;
}

function forward(model: ModelProto, feeds: Record<string, Tensor64>, options: ReferenceOptions) {
  const graph = model.graph!;
  const index = indexGraph(graph);
  const values = new Map<string, Tensor64>();
  for (const [name, t] of index.initializers) {
    const { dims, data } = tensorToArray(t);
    values.set(name, options.overrides?.get(name) ?? tensor(dims, Array.from(data as ArrayLike<number | bigint>, Number)));
  }
  for (const [name, t] of Object.entries(feeds)) values.set(name, t);
  const contexts = new Map<number, RefContext>();
  for (const i of index.order) {
    const node = graph.node[i]!;
    const op = REFERENCE_OPS.get(node.opType);
    if (op === undefined) throw new Error(`reference: no op ${node.opType}`);
    const training = typeof options.training === 'boolean' ? options.training : options.training?.has(node.name) ?? false;
    const ctx: RefContext = { node, training, masks: options.masks ?? new Map() };
    contexts.set(i, ctx);
    const outs = op.forward(node.input.map((n) => (n === '' ? undefined : values.get(n))), ctx);
    node.output.forEach((name, k) => { if (name !== '' && outs[k] !== undefined) values.set(name, outs[k]!); });
  }
  return { index, values, contexts };
}

/** The loss and its gradient with respect to each named tensor (initializers or inputs), in float64. */
export function referenceGradients(
  model: ModelProto, feeds: Record<string, Tensor64>, loss: string, wrt: readonly string[], options: ReferenceOptions = {},
): { loss: number; grads: Map<string, Tensor64> } {
  const { index, values, contexts } = forward(model, feeds, options);
  const graph = model.graph!;
  const grads = new Map<string, Tensor64>([[loss, tensor(values.get(loss)!.dims, [1])]]);
  const accumulate = (name: string, g: Tensor64) => {
    const known = grads.get(name);
    if (known === undefined) grads.set(name, tensor(g.dims, g.data));
    else addInto(known, g);
  };
  for (const i of [...index.order].reverse()) {
    const node = graph.node[i]!;
    const dOut = node.output.map((n) => grads.get(n));
    if (dOut.every((d) => d === undefined)) continue;
    const inputs = node.input.map((n) => (n === '' ? undefined : values.get(n)));
    // An op's own extra outputs (MaxPool indices, log-probabilities) are recomputed when the graph did not name them.
    const outputs = REFERENCE_OPS.get(node.opType)!.forward(inputs, contexts.get(i)!);
    const dIn = REFERENCE_OPS.get(node.opType)!.backward!(inputs, outputs, dOut, contexts.get(i)!);
    dIn.forEach((g, k) => { if (g !== undefined && node.input[k] !== '') accumulate(node.input[k]!, g); });
  }
  const out = new Map<string, Tensor64>();
  for (const name of wrt) out.set(name, grads.get(name) ?? tensor(values.get(name)!.dims));
  return { loss: values.get(loss)!.data[0]!, grads: out };
}
