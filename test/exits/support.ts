/** Shared fixtures of the exit and bundle tests: the two real backbones, MNIST batches, ORT runs. */
import { loadModel } from '../../src/onnx/model-io.ts';
import type { ModelProto } from '../../src/onnx/proto/onnx_pb.ts';
import { createSession } from '../../src/runtime/session.ts';
import { float32Tensor, type TensorLike } from '../../src/runtime/tensor.ts';
import { buildBackbone } from '../../src/nn/index.ts';
import { mnistSample } from '../support/mnist.ts';

/** The PyTorch-exported ResNet of the quick start: input `image`, output `logits`, opset 13. */
export const resnetMnist = (): ModelProto => loadModel(new URL('../../examples/resnet-mnist.onnx', import.meta.url).pathname);

/** A ResNet built by exitwise's own GraphBuilder backbone (src/nn), ResNet-14 width 16 by default. */
export const builtResnet = (spec: { blocksPerStage?: number[]; width?: number } = {}) => buildBackbone({ kind: 'resnet', ...spec });

/** `count` MNIST training images `[count, 1, 28, 28]` in [0, 1] and their labels. */
export function mnistBatch(count: number, offset = 0): { images: TensorLike<'float32'>; labels: number[] } {
  const { images, labels } = mnistSample(count, offset);
  return { images: float32Tensor(Float32Array.from(images), [count, 1, 28, 28]), labels: Array.from(labels) };
}

/** Runs a model once on ORT (one thread) and releases the session. */
export async function run(model: ModelProto, feeds: Record<string, TensorLike>): Promise<Record<string, TensorLike>> {
  const session = await createSession(model, { threads: 1 });
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

/** Largest absolute elementwise difference. */
export function maxAbsDiff(a: TensorLike, b: TensorLike): number {
  const [x, y] = [a.data as Float32Array, b.data as Float32Array];
  if (x.length !== y.length) return Infinity;
  let d = 0;
  for (let i = 0; i < x.length; i++) d = Math.max(d, Math.abs(x[i]! - y[i]!));
  return d;
}
