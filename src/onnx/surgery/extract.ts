/**
 * Subgraph extraction: the part of a model that computes some tensors from others, as a valid
 * standalone model. Stages of a split model and exit heads are both extracted this way.
 */
import { clone, create } from '@bufbuild/protobuf';
import { ExitwiseError } from '../../errors.ts';
import { type GraphIndex, indexGraph } from '../graph-index.ts';
import {
  type GraphProto, type ModelProto, ModelProtoSchema, NodeProtoSchema, OperatorSetIdProtoSchema,
  SparseTensorProtoSchema, StringStringEntryProtoSchema, TensorProtoSchema, ValueInfoProtoSchema, FunctionProtoSchema,
} from '../proto/onnx_pb.ts';
import { type ShapeMap, TensorTypes } from './tensor-types.ts';

/** Which tensors become the extracted model's inputs and outputs. */
export interface ExtractSpec {
  /** Tensors fed to the extracted model: graph inputs or node outputs, never initializers. */
  inputs: readonly string[];
  /** Tensors it returns, computed from `inputs` and the model's weights. */
  outputs: readonly string[];
}

/** Options shared by the surgery functions. */
export interface SurgeryOptions {
  /**
   * Types and shapes of tensors, e.g. `inferShapes(model).shapes`. Used for the new inputs and
   * outputs; tensors not in it fall back to the model's graph inputs, outputs and value_info.
   */
  shapes?: ShapeMap;
}

/**
 * The nodes needed to compute `outputs` from `inputs`, with the initializers and constants they
 * read, as a standalone model (same opsets, IR version and local functions; value_info kept for
 * the tensors that remain). Nodes with subgraphs bring the outer-scope tensors their bodies read.
 *
 * Throws `EXW_SURGERY` when a name is unknown, an input is an initializer, or an output depends
 * on a graph input not listed in `inputs` (the message gives the path through which it leaks);
 * `EXW_SHAPE` when the type of a new input or output is unknown.
 *
 * @example
 * const head = extractSubgraph(model, { inputs: ['block2_out'], outputs: ['logits'] });
 */
export function extractSubgraph(model: ModelProto, spec: ExtractSpec, options: SurgeryOptions = {}): ModelProto {
  const graph = requireGraph(model);
  return extractIndexed(model, indexGraph(graph), new TensorTypes(graph, options.shapes), spec);
}

/** The graph of a model, or `EXW_SURGERY` when it has none. */
export function requireGraph(model: ModelProto): GraphProto {
  if (model.graph === undefined) {
    throw new ExitwiseError('EXW_SURGERY', 'the model has no graph to operate on', { hint: 'Load a complete .onnx model.' });
  }
  return model.graph;
}

/** `extractSubgraph` on an already indexed graph: splitting extracts many stages from one index. */
export function extractIndexed(model: ModelProto, index: GraphIndex, types: TensorTypes, spec: ExtractSpec): ModelProto {
  const graph = index.graph;
  checkNames(index, spec);
  const inputSet = new Set(spec.inputs);
  const keep = new Set<number>();
  const usedInitializers = new Set<string>();
  // For each tensor reached, the tensor downstream that needed it: the trail of a leak.
  const neededBy = new Map<string, string>();
  const seen = new Set<string>(spec.outputs);
  const stack = [...spec.outputs];
  while (stack.length > 0) {
    const name = stack.pop()!;
    if (inputSet.has(name)) continue;
    const p = index.producer.get(name);
    if (p === undefined) {
      if (index.initializers.has(name)) usedInitializers.add(name);
      else throw leakError(index, name, neededBy, spec);
      continue;
    }
    keep.add(p);
    for (const input of index.nodeInputs(p)) {
      if (seen.has(input)) continue;
      seen.add(input);
      neededBy.set(input, name);
      stack.push(input);
    }
  }

  const node = index.order.filter((i) => keep.has(i)).map((i) => {
    const copy = clone(NodeProtoSchema, graph.node[i]!);
    // A kept node may also produce a tensor that is now fed from outside (e.g. one output of a
    // Split); that copy is renamed so each tensor keeps exactly one definition.
    copy.output = copy.output.map((o) => (inputSet.has(o) ? unusedName(index, o) : o));
    return copy;
  });
  const produced = new Set(node.flatMap((n) => n.output));
  const boundary = new Set([...spec.inputs, ...spec.outputs]);
  return create(ModelProtoSchema, {
    irVersion: model.irVersion,
    producerName: model.producerName,
    producerVersion: model.producerVersion,
    domain: model.domain,
    modelVersion: model.modelVersion,
    docString: model.docString,
    opsetImport: model.opsetImport.map((o) => clone(OperatorSetIdProtoSchema, o)),
    metadataProps: model.metadataProps.map((m) => clone(StringStringEntryProtoSchema, m)),
    functions: model.functions.map((f) => clone(FunctionProtoSchema, f)),
    graph: {
      name: graph.name,
      docString: graph.docString,
      node,
      initializer: graph.initializer.filter((t) => usedInitializers.has(t.name)).map((t) => clone(TensorProtoSchema, t)),
      sparseInitializer: graph.sparseInitializer
        .filter((s) => usedInitializers.has(s.values?.name ?? ''))
        .map((s) => clone(SparseTensorProtoSchema, s)),
      input: [
        ...spec.inputs.map((name) => types.valueInfo(name, 'an input of the extracted graph')),
        // Models below IR 4 list initializers among the graph inputs; keep those we kept.
        ...graph.input.filter((v) => usedInitializers.has(v.name)).map((v) => clone(ValueInfoProtoSchema, v)),
      ],
      output: spec.outputs.map((name) => types.valueInfo(name, 'an output of the extracted graph')),
      valueInfo: graph.valueInfo
        .filter((v) => produced.has(v.name) && !boundary.has(v.name))
        .map((v) => clone(ValueInfoProtoSchema, v)),
    },
  });
}

function checkNames(index: GraphIndex, spec: ExtractSpec): void {
  const graphInputs = new Set(index.inputs);
  const known = (name: string): boolean =>
    index.producer.has(name) || index.initializers.has(name) || graphInputs.has(name);
  for (const [role, names] of [['input', spec.inputs], ['output', spec.outputs]] as const) {
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup !== undefined) throw surgeryError(`tensor "${dup}" is listed twice as an ${role} to extract`, 'List each tensor once.');
    for (const name of names) {
      if (!known(name)) {
        throw surgeryError(`tensor "${name}" (an ${role} to extract) is not in the graph`, 'Check the name against the model (tensor names are case-sensitive).');
      }
    }
  }
  for (const name of spec.inputs) {
    if (index.initializers.has(name)) {
      throw surgeryError(`tensor "${name}" is an initializer (a weight), not an activation: it cannot be an input to extract`, 'Extraction inputs are data tensors; weights stay inside the extracted model.');
    }
  }
  if (spec.outputs.length === 0) throw surgeryError('no outputs to extract', 'Name at least one tensor to compute.');
}

/** The error for an output that needs a graph input the caller did not list. */
function leakError(index: GraphIndex, name: string, neededBy: ReadonlyMap<string, string>, spec: ExtractSpec): ExitwiseError {
  if (!index.inputs.includes(name)) {
    return new ExitwiseError('EXW_MODEL_INVALID', `tensor "${name}" is read but neither produced by a node, an initializer nor a graph input`, {
      hint: 'The model is broken; re-export it.',
    });
  }
  const path = [`"${name}"`];
  for (let t = neededBy.get(name); t !== undefined; t = neededBy.get(t)) {
    path.push(index.graph.node[index.producer.get(t)!]!.opType, `"${t}"`);
  }
  return surgeryError(
    `the given inputs [${spec.inputs.join(', ')}] do not cut the graph: graph input "${name}" leaks in through ${path.join(' → ')}`,
    `Add "${name}" to the inputs, or choose inputs that every path to the outputs passes through.`,
  );
}

function unusedName(index: GraphIndex, base: string): string {
  let name = `${base}__unused`;
  for (let i = 2; index.producer.has(name) || index.initializers.has(name); i++) name = `${base}__unused${i}`;
  return name;
}

export function surgeryError(message: string, hint: string): ExitwiseError {
  return new ExitwiseError('EXW_SURGERY', message, { hint });
}
