/**
 * Subnet export: the single-exit model "stages 0..k, then exit k" of a bundle as one plain ONNX
 * graph with weights as initializers, for deployments that want a fixed budget (or a runtime that
 * knows nothing of exits). At the last exit it is the whole backbone.
 *
 * The segments chain by tensor name: stage k's outputs are what later segments list as inputs.
 * Segments may come from different exports (heads trained apart, a bundle edited by hand), so
 * their private names can collide: each segment's tensors, weights and node names that clash
 * with a name already taken are renamed inside that segment only. A weight that two segments
 * hold under one name with identical bytes (a constant split into both) is kept once.
 */
import { clone, create, type DescMessage, type MessageShape, toBinary } from '@bufbuild/protobuf';
import { ExitwiseError } from '../errors.ts';
import { extractSubgraph } from '../onnx/surgery/extract.ts';
import {
  type AttributeProto, type FunctionProto, FunctionProtoSchema, type GraphProto, GraphProtoSchema, type ModelProto, ModelProtoSchema,
  type NodeProto, OperatorSetIdProtoSchema, type TensorProto, TensorProtoSchema, type ValueInfoProto,
} from '../onnx/proto/onnx_pb.ts';
import { validateModel } from '../onnx/validate.ts';
import type { Bundle } from './io.ts';
import { bundleError } from './manifest.ts';

/** Name of the subnet's output, unless the bundle input already has it (then `logits_1`, …). */
export const SUBNET_OUTPUT = 'logits';

/**
 * The single-exit model of exit `k`: input = the bundle input, output {@link SUBNET_OUTPUT} = exit
 * k's logits `[N, classes]`, validated. `EXW_USAGE` listing the valid exits when `k` is out of
 * range; `EXW_BUNDLE` when the segments disagree on an opset or a local function.
 *
 * @example
 * const bundle = loadBundle('fashion.exitwise');
 * saveModel('exit1.onnx', exportSubnet(bundle, 1));
 * const full = exportSubnet(bundle, bundle.exits.length - 1); // the backbone alone
 */
export function exportSubnet(bundle: Bundle, k: number): ModelProto {
  const { manifest } = bundle;
  const last = manifest.exits.length - 1;
  if (!Number.isInteger(k) || k < 0 || k > last) {
    throw new ExitwiseError('EXW_USAGE', `exit ${k} does not exist: the bundle has exits 0..${last}`, {
      hint: `Pick K in ${Array.from({ length: last + 1 }, (_, i) => i).join(', ')} (${last} is the full model).`,
    });
  }
  const segments = [...bundle.stages.slice(0, k + 1), bundle.exits[k]!];
  const input = manifest.input.name;
  let output = SUBNET_OUTPUT;
  for (let i = 1; output === input; i++) output = `${SUBNET_OUTPUT}_${i}`;

  // Tensors passed between segments keep their names; only the exit's logits are renamed.
  const boundary = new Set([input, ...manifest.stages.slice(0, k + 1).flatMap((s) => [...s.inputs, ...s.outputs])]);
  const merged = create(GraphProtoSchema, { name: `${segments[0]!.graph!.name || 'subnet'}-exit-${k}` });
  const taken = new Set([...boundary, output]);
  const takenNodes = new Set<string>();
  const weights = new Map<string, TensorProto>();
  const seenInfo = new Set([input, output]);
  segments.forEach((model, s) => {
    const graph = model.graph!;
    const own = definedNames(graph);
    const renames = new Map<string, string>();
    if (s === segments.length - 1) renames.set(manifest.exits[k]!.output, output);
    const fresh = (name: string, used: ReadonlySet<string>, mine: ReadonlySet<string>): string => {
      let i = s;
      while (used.has(`${name}__${i}`) || mine.has(`${name}__${i}`)) i++;
      return `${name}__${i}`;
    };
    // What this segment hands on keeps its name; anything else it defines under a taken name is its own copy.
    const handsOn = new Set(graph.output.map((v) => v.name));
    const ownWeights = new Map(graph.initializer.map((t) => [t.name, t]));
    for (const name of own) {
      const earlier = weights.get(name);
      const weight = ownWeights.get(name);
      if (earlier !== undefined && weight !== undefined && sameMessage(TensorProtoSchema, earlier, weight)) continue;
      if (!renames.has(name) && !handsOn.has(name) && taken.has(name)) renames.set(name, fresh(name, taken, own));
    }
    const nodeNames = new Set<string>();
    forEachNode(graph, (node) => node.name !== '' && nodeNames.add(node.name));
    const nodeRenames = new Map([...nodeNames].filter((n) => takenNodes.has(n)).map((n) => [n, fresh(n, takenNodes, nodeNames)]));

    const renamed = renameGraph(graph, renames, nodeRenames);
    for (const name of definedNames(renamed)) taken.add(name);
    for (const name of nodeNames) takenNodes.add(nodeRenames.get(name) ?? name);
    for (const t of renamed.initializer) {
      if (weights.has(t.name)) continue;
      weights.set(t.name, t);
      merged.initializer.push(t);
    }
    merged.sparseInitializer.push(...renamed.sparseInitializer);
    merged.node.push(...renamed.node);
    for (const v of [...renamed.valueInfo, ...renamed.output]) {
      if (!seenInfo.has(v.name)) merged.valueInfo.push(v);
      seenInfo.add(v.name);
    }
    if (s === 0) merged.input.push(...renamed.input.filter((v) => v.name === input));
    if (s === segments.length - 1) merged.output.push(...renamed.output.filter((v) => v.name === output));
  });

  const first = segments[0]!;
  const model = create(ModelProtoSchema, {
    irVersion: segments.reduce((v, m) => (m.irVersion > v ? m.irVersion : v), 0n),
    producerName: first.producerName,
    producerVersion: first.producerVersion,
    docString: `exitwise subnet: stages 0..${k} and exit ${k} of a ${manifest.exits.length}-exit bundle (${manifest.provenance.dataset})`,
    opsetImport: mergeOpsets(segments),
    functions: mergeFunctions(segments),
    graph: merged,
  });
  // Stages may return tensors only later stages (beyond k) read: extraction drops what the logits do not need.
  const pruned = extractSubgraph(model, { inputs: [input], outputs: [output] });
  validateModel(pruned);
  return pruned;
}

/** Every tensor name a graph defines (initializers, node outputs, nested graphs' too), graph inputs excepted. */
function definedNames(graph: GraphProto): Set<string> {
  const names = new Set<string>(graph.initializer.map((t) => t.name));
  for (const s of graph.sparseInitializer) if (s.values !== undefined) names.add(s.values.name);
  forEachNode(graph, (node) => node.output.forEach((o) => o !== '' && names.add(o)), (sub) => {
    for (const v of sub.input) names.add(v.name);
    for (const t of sub.initializer) names.add(t.name);
  });
  return names;
}

/** Visits every node of `graph` and of the graphs nested in its attributes (and each nested graph). */
function forEachNode(graph: GraphProto, visit: (node: NodeProto) => void, visitSubgraph?: (graph: GraphProto) => void): void {
  for (const node of graph.node) {
    visit(node);
    for (const attr of node.attribute) {
      for (const sub of subgraphs(attr)) {
        visitSubgraph?.(sub);
        forEachNode(sub, visit, visitSubgraph);
      }
    }
  }
}

function subgraphs(attr: AttributeProto): GraphProto[] {
  return attr.g === undefined ? attr.graphs : [attr.g, ...attr.graphs];
}

/**
 * A copy of `graph` with tensor names and node names mapped. The map covers every name the
 * segment defines at any depth, so applying it uniformly keeps nested graphs' references right.
 */
function renameGraph(graph: GraphProto, tensors: ReadonlyMap<string, string>, nodes: ReadonlyMap<string, string>): GraphProto {
  const copy = clone(GraphProtoSchema, graph);
  if (tensors.size === 0 && nodes.size === 0) return copy;
  const t = (name: string): string => tensors.get(name) ?? name;
  const apply = (g: GraphProto): void => {
    const infos: ValueInfoProto[] = [...g.input, ...g.output, ...g.valueInfo];
    for (const v of infos) v.name = t(v.name);
    for (const w of g.initializer) w.name = t(w.name);
    for (const s of g.sparseInitializer) if (s.values !== undefined) s.values.name = t(s.values.name);
    for (const node of g.node) {
      node.input = node.input.map((n) => (n === '' ? n : t(n)));
      node.output = node.output.map((n) => (n === '' ? n : t(n)));
      node.name = nodes.get(node.name) ?? node.name;
      for (const attr of node.attribute) subgraphs(attr).forEach(apply);
    }
  };
  apply(copy);
  return copy;
}

/** Whether two messages encode to the same bytes. */
function sameMessage<S extends DescMessage>(schema: S, a: MessageShape<S>, b: MessageShape<S>): boolean {
  const [x, y] = [toBinary(schema, a), toBinary(schema, b)];
  return x.length === y.length && x.every((byte, i) => byte === y[i]);
}

/** One opset per domain; segments importing one domain at two versions would change an op's meaning. */
function mergeOpsets(models: readonly ModelProto[]): ModelProto['opsetImport'] {
  const versions = new Map<string, bigint>();
  for (const m of models) {
    for (const o of m.opsetImport) {
      const domain = o.domain === 'ai.onnx' ? '' : o.domain;
      const seen = versions.get(domain);
      if (seen !== undefined && seen !== o.version) {
        throw bundleError(`the segments import ${domain === '' ? 'ai.onnx' : domain} at opsets ${seen} and ${o.version}; one graph cannot hold both`, 'Re-export the segments at one opset (e.g. with the same exporter) before exporting a subnet.');
      }
      versions.set(domain, o.version);
    }
  }
  return [...versions].map(([domain, version]) => create(OperatorSetIdProtoSchema, { domain, version }));
}

/** Local functions of all segments, each once; two different bodies under one name are refused. */
function mergeFunctions(models: readonly ModelProto[]): FunctionProto[] {
  const byKey = new Map<string, FunctionProto>();
  for (const m of models) {
    for (const f of m.functions) {
      const key = `${f.domain}::${f.name}`;
      const seen = byKey.get(key);
      if (seen === undefined) byKey.set(key, clone(FunctionProtoSchema, f));
      else if (!sameMessage(FunctionProtoSchema, seen, f)) throw bundleError(`the segments define local function ${f.domain}::${f.name} differently`, 'Rename one of the functions, or re-export the segments from one model.');
    }
  }
  return [...byKey.values()];
}
