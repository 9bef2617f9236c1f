/**
 * Subnet export: the single-exit model "stages 0..k, then exit k" of a bundle as one plain ONNX
 * graph with weights as initializers, for deployments that want a fixed budget (or a runtime that
 * knows nothing of exits). At the last exit it is the whole backbone. Segments are merged by
 * merge.ts (names that collide renamed per segment).
 */
import { clone, create } from '@bufbuild/protobuf';
import { ExitwiseError } from '../errors.ts';
import { extractSubgraph } from '../onnx/surgery/extract.ts';
import { type ModelProto, ModelProtoSchema, ValueInfoProtoSchema } from '../onnx/proto/onnx_pb.ts';
import { validateModel } from '../onnx/validate.ts';
import type { Bundle } from './io.ts';
import { mergeSegments } from './merge.ts';

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
  const input = manifest.input.name;
  let output = SUBNET_OUTPUT;
  for (let i = 1; output === input; i++) output = `${SUBNET_OUTPUT}_${i}`;
  const segments = [...bundle.stages.slice(0, k + 1), bundle.exits[k]!];
  // Tensors passed between segments keep their names; only the exit's logits are renamed.
  const { graph, model: fields } = mergeSegments(segments, {
    graphName: `${segments[0]!.graph!.name || 'subnet'}-exit-${k}`,
    input,
    boundary: manifest.stages.slice(0, k + 1).flatMap((s) => [...s.inputs, ...s.outputs]),
    reserved: [output],
    renames: new Map([[k + 1, new Map([[manifest.exits[k]!.output, output]])]]),
  });
  for (const v of segments[k + 1]!.graph!.output.filter((o) => o.name === manifest.exits[k]!.output)) graph.output.push({ ...clone(ValueInfoProtoSchema, v), name: output });
  const model = create(ModelProtoSchema, {
    ...fields,
    docString: `exitwise subnet: stages 0..${k} and exit ${k} of a ${manifest.exits.length}-exit bundle (${manifest.provenance.dataset})`,
    graph,
  });
  // Stages may return tensors only later stages (beyond k) read: extraction drops what the logits do not need.
  const pruned = extractSubgraph(model, { inputs: [input], outputs: [output] });
  validateModel(pruned);
  return pruned;
}

