/** Values known when the graph is built: initializers and the outputs of Constant nodes. */
import type { GraphIndex } from '../onnx/graph-index.ts';
import { tensorToArray } from '../onnx/tensor-data.ts';

/** The values of `name` as numbers when it is an initializer or a Constant node's output, else undefined. */
export function constantValues(index: GraphIndex, name: string): number[] | undefined {
  const init = index.initializers.get(name);
  if (init !== undefined) return Array.from(tensorToArray(init).data as ArrayLike<number | bigint>, Number);
  const p = index.producer.get(name);
  const node = p === undefined ? undefined : index.graph.node[p];
  if (node?.opType !== 'Constant' || (node.domain !== '' && node.domain !== 'ai.onnx')) return undefined;
  const attr = node.attribute[0];
  if (attr === undefined) return undefined;
  switch (attr.name) {
    case 'value': return attr.t === undefined ? undefined : Array.from(tensorToArray(attr.t).data as ArrayLike<number | bigint>, Number);
    case 'value_float': return [attr.f];
    case 'value_floats': return [...attr.floats];
    case 'value_int': return [Number(attr.i)];
    case 'value_ints': return attr.ints.map(Number);
    default: return undefined;
  }
}
