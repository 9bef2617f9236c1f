/**
 * Segments of a bundle merged into one graph: the subnet export (one chain of stages and an exit)
 * and the compiled adaptive model (every stage and exit, nested in `If` branches) both start
 * here. The segments chain by tensor name: stage k's outputs are what later segments list as
 * inputs. Segments may come from different exports (heads trained apart, a bundle edited by
 * hand), so their private names can collide: each segment's tensors, weights and node names that
 * clash with a name already taken are renamed inside that segment only. A weight that two
 * segments hold under one name with identical bytes (a constant split into both) is kept once.
 */
import { clone, create, type DescMessage, type MessageShape, toBinary } from '@bufbuild/protobuf';
import {
  type AttributeProto, type FunctionProto, FunctionProtoSchema, type GraphProto, GraphProtoSchema, type ModelProto,
  type NodeProto, OperatorSetIdProtoSchema, type TensorProto, TensorProtoSchema, type ValueInfoProto,
} from '../onnx/proto/onnx_pb.ts';
import { bundleError } from './manifest.ts';

export interface MergeOptions {
  /** Name of the merged graph. */
  graphName: string;
  /** The bundle input: the merged graph's only input. */
  input: string;
  /** Tensors passed between segments (the bundle input, stage inputs and outputs): they keep their names. */
  boundary: Iterable<string>;
  /** Names no segment may keep (the caller's own outputs). */
  reserved?: Iterable<string>;
  /** Names to give, per segment index: `{ 3: new Map([['exit0/logits', 'logits']]) }`. */
  renames?: ReadonlyMap<number, ReadonlyMap<string, string>>;
}

/** One graph holding every segment's nodes, weights and value infos, with no outputs yet. */
export interface MergedSegments {
  graph: GraphProto;
  /** Segment i's nodes are `graph.node.slice(...nodeRanges[i])`. */
  nodeRanges: (readonly [number, number])[];
  /** The merged graph's name for what segment `segment` calls `name`. */
  nameIn(segment: number, name: string): string;
  /** Model-level fields the merged model needs: IR version, producer, opsets, local functions. */
  model: Pick<ModelProto, 'irVersion' | 'producerName' | 'producerVersion' | 'opsetImport' | 'functions'>;
}

/**
 * Merges `segments` (in chain order) into one graph. `EXW_BUNDLE` when they import one domain at
 * two opsets or define one local function differently.
 */
export function mergeSegments(segments: readonly ModelProto[], options: MergeOptions): MergedSegments {
  const { input } = options;
  const boundary = new Set([input, ...options.boundary]);
  const merged = create(GraphProtoSchema, { name: options.graphName });
  const reserved = [...(options.reserved ?? [])];
  const taken = new Set([...boundary, ...reserved]);
  const takenNodes = new Set<string>();
  const weights = new Map<string, TensorProto>();
  const seenInfo = new Set([input, ...reserved]);
  const segmentRenames: Map<string, string>[] = [];
  const nodeRanges: (readonly [number, number])[] = [];
  segments.forEach((model, s) => {
    const graph = model.graph!;
    const own = definedNames(graph);
    const renames = new Map(options.renames?.get(s) ?? []);
    const fresh = (name: string, used: ReadonlySet<string>, mine: ReadonlySet<string>): string => {
      let i = s;
      while (used.has(`${name}__${i}`) || mine.has(`${name}__${i}`)) i++;
      return `${name}__${i}`;
    };
    // What this segment hands on keeps its name; anything else it defines under a taken name is its own copy.
    const handsOn = new Set(graph.output.map((v) => v.name).filter((n) => boundary.has(n)));
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
    nodeRanges.push([merged.node.length, merged.node.length + renamed.node.length]);
    merged.node.push(...renamed.node);
    for (const v of [...renamed.valueInfo, ...renamed.output]) {
      if (!seenInfo.has(v.name)) merged.valueInfo.push(v);
      seenInfo.add(v.name);
    }
    if (merged.input.length === 0) merged.input.push(...renamed.input.filter((v) => v.name === input));
    segmentRenames.push(renames);
  });

  const first = segments[0]!;
  return {
    graph: merged,
    nodeRanges,
    nameIn: (segment, name) => segmentRenames[segment]?.get(name) ?? name,
    model: {
      irVersion: segments.reduce((v, m) => (m.irVersion > v ? m.irVersion : v), 0n),
      producerName: first.producerName,
      producerVersion: first.producerVersion,
      opsetImport: mergeOpsets(segments),
      functions: mergeFunctions(segments),
    },
  };
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
