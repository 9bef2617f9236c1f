/**
 * The ResNet backbone for small images (He et al. 2016, §4.2, the CIFAR layout; torchvision's
 * block): stem 3×3 conv(w)+BN+ReLU at full resolution → stages of basic blocks with widths
 * w, 2w, 4w…, the first block of every stage after the first at stride 2 with a 1×1 conv+BN
 * projection shortcut (option B) → global average pool → linear.
 *
 * Tensor names follow the PyTorch twin (bench/torch_models.py): block k of stage s outputs
 * `stages.s.k`, its layers are `stages.s.k.conv1`, `.bn1`, `.conv2`, `.bn2`, `.shortcut.conv`,
 * `.shortcut.bn`; the stem is `stem.conv`, `stem.bn`, `stem`; the head `pool`, `flatten`, `logits`
 * with the linear layer's weights `fc.weight`, `fc.bias`.
 */
import { z } from 'zod';
import type { Tensor } from '../onnx/builder/index.ts';
import { type BackboneDefinition, commonSpecFields, positiveInt } from './definition.ts';
import type { Layers } from './layers.ts';
import type { Resolved, ResNetSpec } from './types.ts';

/**
 * Defaults: ResNet-14, width 16 (widths 16, 32, 64 at 28×28, 14×14, 7×7).
 * Why: the accuracy goal is ≥ 92.5% on Fashion-MNIST in ≈ 15 epochs on 2 CPU cores. Two blocks
 * per stage give 175k parameters and 40.6 MFLOPs per sample (analyzeCost), every block costing
 * about the same since each stride-2 stage halves H and W as it doubles the width. [1, 1, 1]
 * (78k, 18.8 MFLOPs) leaves little margin over the goal; ResNet-20 ([3, 3, 3]: 272k,
 * 62 MFLOPs) costs 1.5× as much for little gain on 28×28 images. Width 16 is the CIFAR ResNets';
 * 32 would quadruple the cost. Six blocks also give six evenly spaced exit points.
 * Measured: the PyTorch twin reaches 93.6% test accuracy in 15 epochs (bench/torch_accuracy.py:
 * SGD+Nesterov lr 0.1 cosine, wd 5e-4, batch 128, crop pad 2 + flip; ≈ 30 min on one core).
 *
 * `stemStride: 2` with width 32 (widths 32, 64, 128 at 14×14, 7×7, 4×4; 702k parameters,
 * 44.3 MFLOPs) is the layout for early exits: ONNX Runtime's blocked convs run about as fast per
 * FLOP at every depth when no layer has fewer than 32 channels, so the time to reach a block is
 * its share of the FLOPs (0.19 / 0.36 / 0.48 / 0.61 of the time at 0.17 / 0.33 / 0.46 / 0.62 of
 * the FLOPs), where the default layout's 16-channel 28×28 blocks take 0.25 of the time for 0.19
 * of the FLOPs (bench/exit-time-bound.ts). It is also faster overall: 278 vs 295 µs per image at
 * batch 1 on one thread.
 */
const DEFAULT_BLOCKS_PER_STAGE = [2, 2, 2];
const DEFAULT_WIDTH = 16;

type Spec = Resolved<ResNetSpec>;

const schema = z.strictObject({
  kind: z.literal('resnet'),
  blocksPerStage: z.array(positiveInt).min(1).default(() => [...DEFAULT_BLOCKS_PER_STAGE]),
  width: positiveInt.default(DEFAULT_WIDTH),
  stemStride: z.union([z.literal(1), z.literal(2)]).default(1),
  ...commonSpecFields,
}).superRefine((spec, ctx) => {
  // A stride-2 stage on a side of 1 would repeat the same pixel: ask for a side of at least 2^(stages−1).
  const downsamplings = spec.blocksPerStage.length - 1 + (spec.stemStride === 2 ? 1 : 0);
  const side = Math.min(spec.inputShape[1], spec.inputShape[2]);
  if (side < 2 ** downsamplings) {
    ctx.addIssue({
      code: 'custom',
      path: ['inputShape'],
      message: `${spec.stemStride === 2 ? 'the stem and ' : ''}${spec.blocksPerStage.length} stages halve the image ${downsamplings} times, which needs sides of at least ${2 ** downsamplings} pixels, not ${side}; use fewer stages or a larger input`,
    });
  }
}) satisfies z.ZodType<Spec>;

export const RESNET: BackboneDefinition<Spec> = {
  schema,
  example: `{"kind":"resnet","blocksPerStage":${JSON.stringify(DEFAULT_BLOCKS_PER_STAGE)},"width":${DEFAULT_WIDTH},"classes":10,"inputShape":[1,28,28],"seed":0}`,
  build(spec, layers, image) {
    const stem = layers.b.relu(layers.convBn(image, 'stem', { out: spec.width, kernel: 3, stride: spec.stemStride, init: 'kaiming-normal-fan-out' }), { name: 'stem' }); // [N, w, H/s, W/s]
    const blocks: Tensor[] = [];
    let h = stem;
    spec.blocksPerStage.forEach((count, s) => {
      for (let k = 0; k < count; k++) {
        h = basicBlock(layers, h, `stages.${s}.${k}`, spec.width * 2 ** s, s > 0 && k === 0 ? 2 : 1); // [N, w·2^s, H/2^s, W/2^s]
        blocks.push(h);
      }
    });
    const pooled = layers.b.flatten(layers.b.globalAveragePool(h, { name: 'pool' }), 1, { name: 'flatten' }); // [N, w·2^(S−1)]
    return { logits: layers.linear(pooled, 'fc', spec.classes, 'logits'), blocks };
  },
};

/** relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), output named `path`. */
function basicBlock(layers: Layers, x: Tensor, path: string, out: number, stride: number): Tensor {
  const init = 'kaiming-normal-fan-out';
  const conv = (input: Tensor, name: string, s: number) =>
    layers.batchNorm(layers.conv(input, `${path}.conv${name}`, { out, kernel: 3, stride: s, init }), `${path}.bn${name}`);
  const residual = conv(layers.b.relu(conv(x, '1', stride), { name: `${path}.relu1` }), '2', 1);
  const projected = stride !== 1 || x.dims[1] !== out;
  const shortcut = projected ? layers.convBn(x, `${path}.shortcut`, { out, kernel: 1, stride, init }) : x;
  return layers.b.relu(layers.b.add(residual, shortcut, { name: `${path}.add` }), { name: path });
}
