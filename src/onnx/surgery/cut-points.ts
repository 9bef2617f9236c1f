/**
 * Candidate cut points: the tensors where a backbone can be split with nothing else crossing,
 * which is where an exit head can attach and see everything the rest of the network sees.
 */
import { indexGraph } from '../graph-index.ts';
import type { ModelProto } from '../proto/onnx_pb.ts';
import { requireGraph } from './extract.ts';

/** Ops whose outputs describe a tensor's shape rather than its values. */
const SHAPE_OPS = new Set(['Shape', 'Size']);

/**
 * The tensors through which **every** path from **any** graph input (initializers excluded) to
 * **any** graph output passes, in graph order: single-tensor separators, i.e. the common
 * dominators of all outputs in the tensor DAG. Excluded: graph inputs and outputs themselves,
 * tensors computed only from weights, and shape metadata (outputs of Shape/Size and of nodes
 * that compute only from such tensors and constants).
 *
 * With several outputs a tensor qualifies only if it separates the inputs from all of them: an
 * auxiliary output branching off at tensor t leaves no candidate between t and the end of the
 * branch. With several inputs, each must flow through the tensor (an input read late, such as an
 * attention mask used by every layer, leaves no candidates after it is first read). Splitting at
 * any list of these (`splitModel(model, cuts, { onCrossing: 'refuse' })`) never carries a tensor
 * besides the cuts.
 *
 * O(nodes + edges): with the nodes laid out in topological order, a tensor on a path from the
 * inputs to the outputs is a separator exactly when no edge of such a path jumps over its position.
 *
 * @example
 * // x → stem → [block: relu(bn(conv(relu(bn(conv(h))))) + h)] × 2 → pool → flat → logits
 * findCutPoints(resnet) // ['stem_conv', 'stem_bn', 'stem_out', 'block1_sum', 'block1_out', …, 'pool', 'flat']
 */
export function findCutPoints(model: ModelProto): string[] {
  const graph = requireGraph(model);
  const index = indexGraph(graph);
  const graphInputs = new Set(index.inputs);
  const graphOutputs = new Set(index.outputs);

  // Positions: graph inputs first, then each node followed by its outputs; END stands for "the outputs".
  const position = new Map<string, number>();
  for (const t of index.inputs) position.set(t, position.size);
  const nodePosition = new Int32Array(graph.node.length);
  let next = position.size;
  for (const i of index.order) {
    nodePosition[i] = next++;
    for (const o of graph.node[i]!.output) if (o !== '') position.set(o, next++);
  }
  const END = next;

  // Forward: what the inputs reach; shape metadata. Backward: what reaches an output.
  const fromInputs = new Set<string>(index.inputs);
  const shapeOnly = new Set<string>();
  const nodeFromInputs = new Uint8Array(graph.node.length);
  for (const i of index.order) {
    const inputs = index.nodeInputs(i).filter((t) => fromInputs.has(t));
    if (inputs.length === 0) continue;
    nodeFromInputs[i] = 1;
    const node = graph.node[i]!;
    const shapeLike = SHAPE_OPS.has(node.opType) || inputs.every((t) => shapeOnly.has(t));
    for (const o of node.output) {
      if (o === '') continue;
      fromInputs.add(o);
      if (shapeLike) shapeOnly.add(o);
    }
  }
  const toOutputs = new Set<string>(index.outputs);
  const nodeToOutputs = new Uint8Array(graph.node.length);
  for (let k = index.order.length - 1; k >= 0; k--) {
    const i = index.order[k]!;
    if (!graph.node[i]!.output.some((o) => toOutputs.has(o))) continue;
    nodeToOutputs[i] = 1;
    for (const t of index.nodeInputs(i)) toOutputs.add(t);
  }
  const onPath = (t: string): boolean => fromInputs.has(t) && toOutputs.has(t);

  // Every edge of an input→output path covers the positions strictly between its ends.
  const cover = new Int32Array(END + 2);
  const jump = (from: number, to: number): void => {
    if (to > from + 1) {
      cover[from + 1]!++;
      cover[to]!--;
    }
  };
  for (const i of index.order) {
    if (nodeFromInputs[i] === 0 || nodeToOutputs[i] === 0) continue;
    for (const t of index.nodeInputs(i)) if (onPath(t)) jump(position.get(t)!, nodePosition[i]!);
    for (const o of graph.node[i]!.output) if (o !== '' && onPath(o)) jump(nodePosition[i]!, position.get(o)!);
  }
  for (const t of index.outputs) if (fromInputs.has(t)) jump(position.get(t)!, END);

  const byPosition: string[] = [];
  for (const [t, p] of position) byPosition[p] = t;
  const cuts: string[] = [];
  let covered = 0;
  for (let p = 0; p < END; p++) {
    covered += cover[p]!;
    const t = byPosition[p];
    if (t === undefined || covered > 0 || !onPath(t)) continue;
    if (graphInputs.has(t) || graphOutputs.has(t) || shapeOnly.has(t)) continue;
    cuts.push(t);
  }
  return cuts;
}
