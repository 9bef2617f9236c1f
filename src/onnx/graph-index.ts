/**
 * A read-only index over a GraphProto: who produces and who consumes each tensor, which names
 * are initializers and real inputs, and a topological order. Surgery, shape inference, the cost
 * model and validation all read graphs through it.
 */
import { ExitwiseError } from '../errors.ts';
import type { GraphProto, NodeProto, TensorProto } from './proto/onnx_pb.ts';

export interface GraphIndex {
  readonly graph: GraphProto;
  /** Tensor name → index of the node that produces it. */
  readonly producer: ReadonlyMap<string, number>;
  /** Tensor name → indices of the nodes that read it (subgraph references included). */
  readonly consumers: ReadonlyMap<string, readonly number[]>;
  readonly initializers: ReadonlyMap<string, TensorProto>;
  /** Graph inputs that are not initializers: the data the caller feeds. */
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  /** Node indices in a topological order (the file's order when it already is one). */
  readonly order: readonly number[];
  /** Inputs of a node including names its subgraphs read from this scope. */
  nodeInputs(index: number): readonly string[];
}

/** Names that a node's subgraphs (If/Loop/Scan bodies) read from enclosing scopes. */
export function implicitInputs(node: NodeProto): string[] {
  const free = new Set<string>();
  for (const attr of node.attribute) {
    for (const g of attr.g === undefined ? attr.graphs : [attr.g, ...attr.graphs]) {
      for (const name of freeVariables(g)) free.add(name);
    }
  }
  return [...free];
}

function freeVariables(graph: GraphProto): Set<string> {
  const defined = new Set<string>([
    ...graph.input.map((v) => v.name),
    ...graph.initializer.map((t) => t.name),
    ...graph.sparseInitializer.map((s) => s.values?.name ?? ''),
  ]);
  const free = new Set<string>();
  for (const node of graph.node) {
    for (const name of [...node.input, ...implicitInputs(node)]) {
      if (name !== '' && !defined.has(name)) free.add(name);
    }
    for (const name of node.output) if (name !== '') defined.add(name);
  }
  for (const out of graph.output) if (!defined.has(out.name)) free.add(out.name);
  return free;
}

export function indexGraph(graph: GraphProto): GraphIndex {
  const producer = new Map<string, number>();
  const consumers = new Map<string, number[]>();
  const initializers = new Map<string, TensorProto>(graph.initializer.map((t) => [t.name, t]));
  for (const s of graph.sparseInitializer) if (s.values !== undefined) initializers.set(s.values.name, s.values);
  const allInputs: string[][] = graph.node.map((node) => [
    ...node.input.filter((n) => n !== ''),
    ...implicitInputs(node),
  ]);
  graph.node.forEach((node, i) => {
    for (const out of node.output) {
      if (out === '') continue;
      if (producer.has(out)) {
        throw new ExitwiseError('EXW_MODEL_INVALID', `tensor "${out}" is produced by two nodes (${describeNode(graph.node[producer.get(out)!]!, producer.get(out)!)} and ${describeNode(node, i)})`, {
          hint: 'ONNX graphs are in SSA form: every tensor has exactly one producer.',
        });
      }
      producer.set(out, i);
    }
    for (const name of allInputs[i]!) {
      const list = consumers.get(name);
      if (list === undefined) consumers.set(name, [i]);
      else if (list[list.length - 1] !== i) list.push(i);
    }
  });
  const inputs = graph.input.map((v) => v.name).filter((n) => !initializers.has(n));
  const outputs = graph.output.map((v) => v.name);
  const order = topologicalOrder(graph, producer, allInputs);
  return {
    graph, producer, consumers, initializers, inputs, outputs, order,
    nodeInputs: (i) => allInputs[i]!,
  };
}

/** Kahn's algorithm, stable with respect to the file's node order. */
function topologicalOrder(graph: GraphProto, producer: Map<string, number>, allInputs: string[][]): number[] {
  const n = graph.node.length;
  const pending = new Array<number>(n).fill(0);
  const dependents: number[][] = Array.from({ length: n }, () => []);
  for (let i = 0; i < n; i++) {
    const deps = new Set<number>();
    for (const name of allInputs[i]!) {
      const p = producer.get(name);
      if (p !== undefined && p !== i) deps.add(p);
      if (p === i) throw cycleError(graph.node[i]!, i);
    }
    pending[i] = deps.size;
    for (const d of deps) dependents[d]!.push(i);
  }
  // A min-heap would be O(n log n); graphs are small and usually already sorted, so a sorted
  // ready list keeps the file order without the machinery.
  const ready: number[] = [];
  for (let i = 0; i < n; i++) if (pending[i] === 0) ready.push(i);
  const order: number[] = [];
  while (ready.length > 0) {
    const i = ready.shift()!;
    order.push(i);
    for (const d of dependents[i]!) {
      if (--pending[d]! === 0) insertSorted(ready, d);
    }
  }
  if (order.length !== n) {
    const stuck = pending.findIndex((p) => p > 0);
    throw cycleError(graph.node[stuck]!, stuck);
  }
  return order;
}

function insertSorted(list: number[], value: number): void {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  list.splice(lo, 0, value);
}

function cycleError(node: NodeProto, index: number): ExitwiseError {
  return new ExitwiseError('EXW_MODEL_INVALID', `the graph has a cycle through ${describeNode(node, index)}`, {
    hint: 'ONNX graphs must be acyclic; loops belong in a Loop node.',
  });
}

/** `Conv "conv1" (#3)`: how errors name a node. */
export function describeNode(node: NodeProto, index: number): string {
  const domain = node.domain === '' || node.domain === 'ai.onnx' ? '' : `${node.domain}::`;
  return `${domain}${node.opType}${node.name === '' ? '' : ` "${node.name}"`} (node #${index})`;
}
