/** What exits need to know about a backbone: its logits, class count and opset. */
import { ExitwiseError } from '../errors.ts';
import type { ModelProto } from '../onnx/proto/onnx_pb.ts';
import { inferShapesStatic } from '../onnx/shapes/index.ts';

/** A backbone model and the graph output holding its logits (the final exit). */
export interface BackboneRef {
  model: ModelProto;
  /** Default: the model's only graph output. */
  logits?: string;
}

export interface BackboneInfo {
  logits: string;
  /** Width of the logits `[N, classes]`: the width of every exit head. */
  classes: number;
  /** The ai.onnx opset, which heads are built at. */
  opset: number;
}

/** Heads are built with the graph builder, whose ops take their opset-13 forms. */
const MIN_HEAD_OPSET = 13;

/** Checks the backbone and reads its logits, class count and opset (`EXW_BUILD` when unusable). */
export function backboneInfo(backbone: BackboneRef): BackboneInfo {
  const graph = backbone.model.graph;
  if (graph === undefined) throw buildError('the backbone has no graph', 'Load a complete .onnx model.');
  const outputs = graph.output.map((o) => o.name);
  const logits = backbone.logits ?? (outputs.length === 1 ? outputs[0]! : undefined);
  if (logits === undefined) throw buildError(`the backbone has ${outputs.length} outputs (${outputs.join(', ')}); which one holds the logits?`, 'Pass { model, logits: "<output name>" }.');
  if (!outputs.includes(logits)) throw buildError(`"${logits}" is not an output of the backbone (outputs: ${outputs.join(', ')})`, 'Name the graph output that holds the class scores.');
  const shape = inferShapesStatic(backbone.model).shapes.get(logits);
  const classes = shape !== undefined && shape.dims !== 'unknown' && shape.dims.length === 2 ? shape.dims[1] : undefined;
  if (typeof classes !== 'number') {
    throw buildError(`the logits "${logits}" have shape ${shape === undefined || shape.dims === 'unknown' ? 'unknown' : `[${shape.dims.join(', ')}]`}, not [N, classes]`, 'Exits are classifiers: the backbone must output [N, classes] scores.');
  }
  const opset = Number(backbone.model.opsetImport.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? 0n);
  if (opset < MIN_HEAD_OPSET) throw buildError(`the backbone's ai.onnx opset is ${opset}; exit heads need ${MIN_HEAD_OPSET} or newer`, 'Re-export the model with opset_version=13 or newer (or convert it with onnx.version_converter).');
  return { logits, classes, opset };
}

function buildError(message: string, hint: string): ExitwiseError {
  return new ExitwiseError('EXW_BUILD', message, { hint });
}
