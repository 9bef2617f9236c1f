/**
 * Stage k and exit k as one model. Every input that runs stage k also runs exit k (the policy
 * needs its logits), so the two can share one ONNX Runtime call: each call costs ≈ 10–50 µs
 * whatever the graph does (DESIGN.md, measured facts), which at batch 1 on an MNIST-size backbone
 * is a tenth of the whole model's time. The fused model computes both outputs; the stage's own
 * model is still used alone when a policy does not need exit k (see walk.ts).
 */
import { clone, create } from '@bufbuild/protobuf';
import { type ModelProto, ModelProtoSchema, NodeProtoSchema, TensorProtoSchema, ValueInfoProtoSchema } from '../../onnx/proto/onnx_pb.ts';

/**
 * A model computing `stage`'s outputs and `exit`'s logits from `stage`'s inputs, or `undefined`
 * when the two cannot be merged safely: different opsets, local functions, or a tensor or node
 * name defined by both (bundles cut by exitwise never have these; foreign ones may).
 *
 * @example
 * const fused = fuseStageExit(bundle.stages[0], bundle.exits[0]); // outputs: [...stage outputs, exit logits]
 */
export function fuseStageExit(stage: ModelProto, exit: ModelProto): ModelProto | undefined {
  const s = stage.graph;
  const e = exit.graph;
  if (s === undefined || e === undefined) return undefined;
  if (stage.functions.length > 0 || exit.functions.length > 0 || s.sparseInitializer.length > 0 || e.sparseInitializer.length > 0) return undefined;
  if (!sameOpsets(stage, exit)) return undefined;
  const stageInitializers = new Set(s.initializer.map((t) => t.name));
  const exitInitializers = new Set(e.initializer.map((t) => t.name));
  const exitInputs = e.input.map((v) => v.name).filter((n) => !exitInitializers.has(n));
  const stageOutputs = new Set(s.output.map((v) => v.name));
  if (!exitInputs.every((n) => stageOutputs.has(n))) return undefined;

  // Every tensor and node name the stage defines must stay unique once the exit's are added.
  const defined = new Set([...s.input.map((v) => v.name), ...stageInitializers, ...s.node.flatMap((n) => n.output)]);
  const exitDefines = [...exitInitializers, ...e.node.flatMap((n) => n.output)];
  if (exitDefines.some((n) => defined.has(n))) return undefined;
  const stageNodeNames = new Set(s.node.map((n) => n.name).filter((n) => n !== ''));
  if (e.node.some((n) => n.name !== '' && stageNodeNames.has(n.name))) return undefined;
  if (e.output.some((v) => stageOutputs.has(v.name))) return undefined;

  return create(ModelProtoSchema, {
    irVersion: stage.irVersion > exit.irVersion ? stage.irVersion : exit.irVersion,
    producerName: stage.producerName,
    producerVersion: stage.producerVersion,
    opsetImport: stage.opsetImport,
    graph: {
      name: `${s.name}+${e.name}`,
      node: [...s.node, ...e.node].map((n) => clone(NodeProtoSchema, n)),
      initializer: [...s.initializer, ...e.initializer].map((t) => clone(TensorProtoSchema, t)),
      // Models below IR 4 also list initializers among their inputs; the exit's own stay listed.
      input: [...s.input, ...e.input.filter((v) => exitInitializers.has(v.name))].map((v) => clone(ValueInfoProtoSchema, v)),
      output: [...s.output, ...e.output].map((v) => clone(ValueInfoProtoSchema, v)),
      valueInfo: [...s.valueInfo, ...e.valueInfo.filter((v) => !defined.has(v.name))].map((v) => clone(ValueInfoProtoSchema, v)),
    },
  });
}

function sameOpsets(a: ModelProto, b: ModelProto): boolean {
  const key = (m: ModelProto): string => m.opsetImport.map((o) => `${o.domain}@${o.version}`).sort().join(',');
  return key(a) === key(b);
}
