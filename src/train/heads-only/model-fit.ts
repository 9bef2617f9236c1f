/**
 * Fitting exits to an imported classifier: does the model take the dataset's images and give
 * its classes, and where do exits go when the user does not say.
 */
import type { Dataset } from '../../data/dataset.ts';
import { ExitwiseError, isExitwiseError } from '../../errors.ts';
import { type BackboneRef, backboneInfo } from '../../exits/backbone.ts';
import { type ExitPlacement, placeExits } from '../../exits/placement.ts';
import { indexGraph } from '../../onnx/graph-index.ts';
import type { ModelProto } from '../../onnx/proto/onnx_pb.ts';
import { shapeFromValueInfo } from '../../onnx/shapes/index.ts';
import { DataType } from '../../onnx/tensor-data.ts';

/**
 * Exits placed when none are asked for: three, at 25%, 50% and 75% of the model's FLOPs. Evenly
 * spaced in compute, they let a policy stop at a quarter, half or three quarters of the cost;
 * three heads fit the 5% head budget even on small models, and more exits on a small model add
 * head cost (paid by every input that goes on) faster than they add useful stopping points.
 */
export const DEFAULT_AUTO_EXITS = 3;

/** What the model's input is, once checked against the dataset. */
export interface ModelFit {
  input: string;
  /** One input as the model takes it. */
  inputDims: number[];
  channels: number;
  classes: number;
}

/**
 * Checks that `backbone` takes the dataset's images in `layout` (one float input of rank 4 with
 * a free batch dim) and outputs one logit per dataset class. `EXW_USAGE` saying what differs.
 */
export function checkModelFits(backbone: BackboneRef, dataset: Dataset, layout: 'NCHW' | 'NHWC'): ModelFit {
  const inputs = indexGraph(backbone.model.graph!).inputs;
  if (inputs.length !== 1) throw usage(`the model takes ${inputs.length} inputs (${inputs.join(', ')}); exits need a classifier with one image input`, 'Export the model with a single image input.');
  const input = inputs[0]!;
  const shape = shapeFromValueInfo(backbone.model.graph!.input.find((v) => v.name === input)!);
  const [c, h, w] = dataset.inputShape;
  const expected = layout === 'NCHW' ? [c, h, w] : [h, w, c];
  if (shape === undefined || shape.dims === 'unknown' || shape.dataType !== DataType.FLOAT || shape.dims.length !== 4) {
    const what = shape === undefined || shape.dims === 'unknown' ? 'an input of unknown shape' : `a ${shape.dims.length}-D input`;
    throw usage(`the model takes ${what} "${input}"; ${dataset.name} images need a float [N, ${expected.join(', ')}] input (${layout})`, 'Use an image classifier exported with its input shape.');
  }
  const [batch, ...dims] = shape.dims;
  if (typeof batch === 'number') throw usage(`the model's input "${input}" has a fixed batch of ${batch}`, 'Re-export it with a dynamic batch axis (torch.onnx.export(..., dynamic_axes={"x": {0: "N"}})).');
  if (dims.some((d, i) => typeof d === 'number' && d !== expected[i])) {
    throw usage(`the model takes [${shape.dims.join(', ')}] inputs; ${dataset.name} has ${c}×${h}×${w} images, [N, ${expected.join(', ')}] in ${layout}`, `Use a model made for ${dataset.name}-sized images${layout === 'NCHW' ? ', or --layout NHWC if it takes channels last' : ''}.`);
  }
  const { classes } = backboneInfo(backbone);
  if (classes !== dataset.classes.length) {
    throw usage(`the model outputs ${classes} classes; ${dataset.name} has ${dataset.classes.length} (${dataset.classes.join(', ')})`, 'Use a classifier trained on this dataset\'s classes (the final exit is the model itself).');
  }
  return { input, inputDims: expected, channels: c, classes };
}

/**
 * Up to `DEFAULT_AUTO_EXITS` exits equidistant in FLOPs; fewer when the model has fewer exit
 * positions (`EXW_SURGERY` only when it has none).
 */
export function placeAuto(model: ModelProto, count = DEFAULT_AUTO_EXITS): ExitPlacement[] {
  for (let n = count; ; n--) {
    try {
      return placeExits(model, { by: 'count', count: n });
    } catch (error) {
      if (!isExitwiseError(error, 'EXW_SURGERY') || n === 1) throw error;
    }
  }
}

function usage(message: string, hint: string): ExitwiseError {
  return new ExitwiseError('EXW_USAGE', message, { hint });
}
