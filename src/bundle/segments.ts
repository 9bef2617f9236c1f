/**
 * Cutting a multi-exit model into the bundle's segments: backbone stages that end at each exit's
 * tensor, and one standalone model per exit head. The backbone's own classifier (from its last
 * cut point to its logits) becomes the last exit, so that every stage K is followed by exit K.
 */
import { ExitwiseError } from '../errors.ts';
import type { MultiExitModel } from '../exits/attach.ts';
import { analyzeCost } from '../onnx/cost/index.ts';
import { indexGraph } from '../onnx/graph-index.ts';
import type { ModelProto } from '../onnx/proto/onnx_pb.ts';
import { inferShapesStatic } from '../onnx/shapes/index.ts';
import { findCutPoints } from '../onnx/surgery/cut-points.ts';
import { extractSubgraph } from '../onnx/surgery/extract.ts';
import { splitModel } from '../onnx/surgery/split.ts';

/** One segment: a standalone model (weights as initializers) with its boundary tensors and cost. */
export interface BundleSegment {
  model: ModelProto;
  /** Graph inputs, in the model's order. */
  inputs: string[];
  /** Graph outputs, in the model's order. */
  outputs: string[];
  params: number;
  /** Per-sample FLOPs. */
  flops: number;
}

/** Stage K and exit K for every exit K; the last exit is the backbone's own classifier. */
export interface BundleSegments {
  stages: BundleSegment[];
  exits: BundleSegment[];
}

/**
 * Splits a multi-exit model (from `attachExits`, possibly trained since) into stages and exits.
 * Running stage 0, then exit 0 on its output, then stage 1 on stage 0's output, and so on,
 * reproduces every exit's logits of the multi-exit model. `EXW_SURGERY` when the exits do not
 * sit at cut points in order before the backbone's classifier.
 *
 * @example
 * const { stages, exits } = toBundleSegments(attachExits({ model }, placements, heads));
 * stages.length === exits.length; // placements.length + 1
 */
export function toBundleSegments(multiExit: MultiExitModel): BundleSegments {
  const { model, exitLogits, exitTensors } = multiExit;
  if (exitLogits.length !== exitTensors.length + 1) {
    throw surgeryError(`${exitLogits.length} exit logits for ${exitTensors.length} exit tensors`, 'A multi-exit model has one logits output per early exit plus the final one (attachExits makes it so).');
  }
  const index = indexGraph(model.graph!);
  const shapes = inferShapesStatic(model).shapes;
  const finalLogits = exitLogits[exitLogits.length - 1]!;
  const backbone = extractSubgraph(model, { inputs: index.inputs, outputs: [finalLogits] }, { shapes });
  const cuts = findCutPoints(backbone);
  const classifierInput = cuts[cuts.length - 1];
  let previous = -1;
  for (const t of exitTensors) {
    const i = cuts.indexOf(t);
    if (i < 0 || i === cuts.length - 1) throw surgeryError(`exit tensor "${t}" is not a cut point of the backbone before its classifier`, 'Place exits with placeExits on the backbone.');
    if (i <= previous) throw surgeryError(`exit tensors are out of graph order at "${t}"`, 'List exit tensors in graph order.');
    previous = i;
  }
  if (classifierInput === undefined) throw surgeryError('the backbone has no cut point before its logits', 'The backbone must have a classifier that can be split off (e.g. pool → linear).');

  const split = splitModel(backbone, [...exitTensors, classifierInput], { onCrossing: 'refuse', shapes });
  const stages = split.slice(0, -1).map((s, k) => segment(s.model, `stage-${k}`));
  const heads = exitTensors.map((t, k) => extractSubgraph(model, { inputs: [t], outputs: [exitLogits[k]!] }, { shapes }));
  const exits = [...heads, split[split.length - 1]!.model].map((m, k) => segment(m, `exit-${k}`));
  return { stages, exits };
}

function segment(model: ModelProto, name: string): BundleSegment {
  const graph = model.graph!;
  graph.name = name;
  const initializers = new Set(graph.initializer.map((t) => t.name));
  const { totalParams, totalFlops } = analyzeCost(model);
  return {
    model,
    inputs: graph.input.map((v) => v.name).filter((n) => !initializers.has(n)),
    outputs: graph.output.map((v) => v.name),
    params: totalParams,
    flops: totalFlops,
  };
}

function surgeryError(message: string, hint: string): ExitwiseError {
  return new ExitwiseError('EXW_SURGERY', message, { hint });
}
