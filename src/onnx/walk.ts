/** Walks every graph and tensor of a model, subgraphs (If/Loop/Scan bodies) and functions included. */
import type { AttributeProto, GraphProto, ModelProto, NodeProto, TensorProto } from './proto/onnx_pb.ts';

/** Calls `visit` on every graph: the main graph, then each subgraph held in node attributes. */
export function forEachGraph(model: ModelProto, visit: (graph: GraphProto) => void): void {
  if (model.graph !== undefined) walkGraph(model.graph, visit);
  for (const fn of model.functions) forEachSubgraphOfNodes(fn.node, visit);
  for (const info of model.trainingInfo) {
    if (info.initialization !== undefined) walkGraph(info.initialization, visit);
    if (info.algorithm !== undefined) walkGraph(info.algorithm, visit);
  }
}

function walkGraph(graph: GraphProto, visit: (graph: GraphProto) => void): void {
  visit(graph);
  forEachSubgraphOfNodes(graph.node, visit);
}

function forEachSubgraphOfNodes(nodes: NodeProto[], visit: (graph: GraphProto) => void): void {
  for (const node of nodes) {
    for (const attr of node.attribute) for (const g of attributeGraphs(attr)) walkGraph(g, visit);
  }
}

function attributeGraphs(attr: AttributeProto): GraphProto[] {
  return attr.g === undefined ? attr.graphs : [attr.g, ...attr.graphs];
}

/** Calls `visit` on every tensor: initializers, sparse initializers' parts, and tensor attributes. */
export function forEachTensor(model: ModelProto, visit: (tensor: TensorProto) => void): void {
  const visitNodes = (nodes: NodeProto[]): void => {
    for (const node of nodes) {
      for (const attr of node.attribute) {
        if (attr.t !== undefined) visit(attr.t);
        attr.tensors.forEach(visit);
        for (const s of [attr.sparseTensor, ...attr.sparseTensors]) {
          if (s?.values !== undefined) visit(s.values);
          if (s?.indices !== undefined) visit(s.indices);
        }
      }
    }
  };
  forEachGraph(model, (graph) => {
    graph.initializer.forEach(visit);
    for (const s of graph.sparseInitializer) {
      if (s.values !== undefined) visit(s.values);
      if (s.indices !== undefined) visit(s.indices);
    }
    visitNodes(graph.node);
  });
  for (const fn of model.functions) visitNodes(fn.node);
}

