/** Shared by the exits-only tests: the PyTorch-trained MNIST classifier with exits attached, and MNIST data for it. */
import type { Dataset } from '../../../src/data/dataset.ts';
import { pixelTable } from '../../../src/data/normalize.ts';
import { loadDataset } from '../../../src/data/registry.ts';
import { attachExits, type MultiExitModel } from '../../../src/exits/attach.ts';
import type { HeadConfig } from '../../../src/exits/heads/registry.ts';
import { placeExits } from '../../../src/exits/placement.ts';
import { loadModel } from '../../../src/onnx/model-io.ts';
import type { ModelProto } from '../../../src/onnx/proto/onnx_pb.ts';
import { tensorToArray } from '../../../src/onnx/tensor-data.ts';
import { createSession } from '../../../src/runtime/session.ts';
import { float32Tensor } from '../../../src/runtime/tensor.ts';
import type { HeadsOnlyData } from '../../../src/train/heads-only/features.ts';

/** test/fixtures/attach/torch-classifier.onnx: input `x` [N, 1, 28, 28], output `logits`, ≈ 95% on MNIST. */
export const torchClassifier = (): ModelProto => loadModel(new URL('../../fixtures/attach/torch-classifier.onnx', import.meta.url).pathname);

/** The standardization the classifier was trained with (see scripts/fixtures/make-torch-classifier.py). */
export const NORMALIZE = { mean: 0.1307, std: 0.3081 };

/**
 * Two exits, after the first block and after the second, each a conv head with BatchNorm (whose
 * running statistics training must update). GAP heads on the first block's 8 channels reach only
 * ≈ 50% on MNIST: the early features of so small a backbone are not class-specific yet.
 */
export function multiExitClassifier(seed = 0): { backbone: ModelProto; multi: MultiExitModel } {
  const backbone = torchClassifier();
  const placements = placeExits(backbone, { by: 'fractions', fractions: [0.45, 0.75] });
  const heads: HeadConfig[] = [{ kind: 'conv-pool-linear', channels: 16 }, { kind: 'conv-pool-linear', channels: 8 }];
  return { backbone, multi: attachExits({ model: backbone }, placements, heads, { seed }) };
}

let mnist: Promise<Dataset> | undefined;
export const loadMnist = (): Promise<Dataset> => (mnist ??= loadDataset('mnist'));

/** MNIST training images [from, to) as exits-only data, with or without labels. */
export function mnistData(dataset: Dataset, from: number, to: number, labelled = true): HeadsOnlyData {
  return {
    images: dataset.train.images, indices: Int32Array.from({ length: to - from }, (_, i) => from + i), inputDims: [1, 28, 28], normalize: NORMALIZE,
    ...(labelled ? { labels: dataset.train.labels } : {}),
  };
}

/** The model inputs of `data`'s samples, `[samples, 1, 28, 28]`. */
export function inputsOf(data: HeadsOnlyData): Float32Array {
  const table = pixelTable(data.normalize);
  const x = new Float32Array(data.indices.length * 784);
  data.indices.forEach((s, r) => {
    for (let j = 0; j < 784; j++) x[r * 784 + j] = table[data.images[s * 784 + j]!]!;
  });
  return x;
}

/** Every value of each initializer of a model, by name. */
export function initializers(model: ModelProto): Map<string, ArrayLike<number | bigint>> {
  return new Map(model.graph!.initializer.map((t) => [t.name, tensorToArray(t).data as ArrayLike<number>]));
}

/** One output of a model on MNIST-shaped inputs `x` (input `x`), on one ORT thread. */
export async function runOutput(model: ModelProto, output: string, x: Float32Array): Promise<Float32Array> {
  const session = await createSession(model, { threads: 1 });
  try {
    return (await session.run({ x: float32Tensor(x, [x.length / 784, 1, 28, 28]) }, { outputs: [output] }))[output]!.data as Float32Array;
  } finally {
    await session.release();
  }
}
