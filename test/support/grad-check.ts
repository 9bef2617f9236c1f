/**
 * Gradient checks: the float32 gradients of a training graph run by ONNX Runtime against the
 * float64 reference's backprop, and that backprop against float64 central finite differences.
 */
import * as ort from 'onnxruntime-node';
import { buildTrainingGraph, type TrainingGraph, type TrainingGraphOptions } from '../../src/autodiff/training-graph.ts';
import { encodeModel } from '../../src/onnx/model-io.ts';
import type { ModelProto } from '../../src/onnx/proto/onnx_pb.ts';
import { DataType, tensorToArray } from '../../src/onnx/tensor-data.ts';
import { rng } from './graph.ts';
import { type ReferenceOptions, referenceGradients, runReference } from './reference/interpreter.ts';
import { type Tensor64, tensor } from './reference/tensor.ts';

/** Runs a training graph on ORT (one thread), feeding `feeds` and the forward model's initial parameter values. */
export async function runTraining(
  training: TrainingGraph, forward: ModelProto, feeds: Record<string, Tensor64>, fetch?: string[],
): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(encodeModel(training.model), { intraOpNumThreads: 1 });
  const inits = new Map(forward.graph!.initializer.map((t) => [t.name, t]));
  const ortFeeds: Record<string, ort.Tensor> = {};
  for (const input of training.model.graph!.input) {
    const elemType = input.type?.value.case === 'tensorType' ? input.type.value.value.elemType : DataType.FLOAT;
    const init = inits.get(input.name);
    const value = init === undefined ? feeds[input.name] : (() => { const v = tensorToArray(init); return tensor(v.dims, v.data as Float32Array); })();
    if (value === undefined) throw new Error(`no feed for ${input.name}`);
    ortFeeds[input.name] = elemType === DataType.INT64
      ? new ort.Tensor('int64', BigInt64Array.from(value.data, (v) => BigInt(v)), value.dims)
      : new ort.Tensor('float32', Float32Array.from(value.data), value.dims);
  }
  try {
    return await session.run(ortFeeds, fetch ?? session.outputNames);
  } finally {
    await session.release();
  }
}

/** ‖a − b‖ / ‖b‖. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let [diff, norm] = [0, 0];
  for (let i = 0; i < b.length; i++) {
    diff += (a[i]! - b[i]!) ** 2;
    norm += b[i]! ** 2;
  }
  return Math.sqrt(diff) / Math.max(Math.sqrt(norm), 1e-30);
}

export interface GradCheck {
  training: TrainingGraph;
  /** Parameter → relative error of ORT's float32 gradient against the float64 reference. */
  ortError: Map<string, number>;
  /** Parameter → worst relative error of the reference gradient against central differences along random directions. */
  fdError: Map<string, number>;
  reference: Map<string, Tensor64>;
  ort: Record<string, ort.Tensor>;
}

/** Builds the training graph for `trainable`, runs it on ORT and checks every gradient both ways. */
export async function checkGradients(
  forward: ModelProto, feeds: Record<string, Tensor64>, loss: string, trainable: string[],
  options: ReferenceOptions & { directions?: number; graph?: Omit<TrainingGraphOptions, 'loss' | 'trainable'> } = {},
): Promise<GradCheck> {
  const training = buildTrainingGraph(forward, { ...options.graph, loss, trainable });
  const ortOut = await runTraining(training, forward, feeds);
  const ref = referenceGradients(forward, feeds, loss, trainable, options);
  const ortError = new Map<string, number>();
  const fdError = new Map<string, number>();
  const random = rng(7);
  const values = runReference(forward, feeds, options);
  for (const p of trainable) {
    const g = ref.grads.get(p)!;
    ortError.set(p, relativeError(ortOut[training.gradientNames.get(p)!]!.data as Float32Array, g.data));
    let worst = 0;
    for (let k = 0; k < (options.directions ?? 2); k++) {
      const theta = values.get(p)!;
      const v = theta.data.map(() => random() * 2 - 1);
      const h = 1e-5;
      const lossAt = (sign: number) => {
        const moved = tensor(theta.dims, theta.data.map((t, i) => t + sign * h * v[i]!));
        const overrides = new Map([...(options.overrides ?? []), [p, moved]]);
        return runReference(forward, feeds, { ...options, overrides }).get(loss)!.data[0]!;
      };
      const fd = (lossAt(1) - lossAt(-1)) / (2 * h);
      const analytic = g.data.reduce((s, x, i) => s + x * v[i]!, 0);
      worst = Math.max(worst, Math.abs(fd - analytic) / Math.max(Math.abs(fd), Math.abs(analytic), 1e-8));
    }
    fdError.set(p, worst);
  }
  return { training, ortError, fdError, reference: ref.grads, ort: ortOut };
}
