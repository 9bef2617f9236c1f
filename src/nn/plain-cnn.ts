/**
 * The plain CNN backbone: stages of 3×3 conv (padding 1, with bias) → ReLU → 2×2 max-pool
 * (stride 2), then flatten → linear. No normalisation, PyTorch's default initialisation.
 *
 * Tensor names follow the PyTorch twin (bench/torch_models.py): stage k outputs `stages.k` (the
 * pooled tensor) and its layers are `stages.k.conv`, `stages.k.relu`; the head is `flatten` and
 * `logits`, with the linear layer's weights `fc.weight`, `fc.bias`.
 */
import { z } from 'zod';
import type { Tensor } from '../onnx/builder/index.ts';
import { type BackboneDefinition, commonSpecFields, positiveInt } from './definition.ts';
import type { PlainCnnSpec, Resolved } from './types.ts';

/**
 * Default: two stages of 32 and 64 channels (28×28 → 14×14 → 7×7 → linear on 3136 features).
 * Why: the classic small CNN for 28×28 images (≈ 50k parameters, ≈ 8 MFLOPs per sample),
 * a cheap baseline for the ResNet and a fast model for examples and tests.
 */
const DEFAULT_CHANNELS = [32, 64];

type Spec = Resolved<PlainCnnSpec>;

const schema = z.strictObject({
  kind: z.literal('cnn'),
  channels: z.array(positiveInt).min(1).default(() => [...DEFAULT_CHANNELS]),
  ...commonSpecFields,
}).superRefine((spec, ctx) => {
  // Every 2×2 max-pool floors the side's half: k stages need sides of at least 2^k.
  const stages = spec.channels.length;
  const side = Math.min(spec.inputShape[1], spec.inputShape[2]);
  if (side < 2 ** stages) {
    ctx.addIssue({
      code: 'custom',
      path: ['inputShape'],
      message: `${stages} max-pool stages need image sides of at least ${2 ** stages} pixels, not ${side}; use fewer stages or a larger input`,
    });
  }
}) satisfies z.ZodType<Spec>;

export const PLAIN_CNN: BackboneDefinition<Spec> = {
  schema,
  example: `{"kind":"cnn","channels":${JSON.stringify(DEFAULT_CHANNELS)},"classes":10,"inputShape":[1,28,28],"seed":0}`,
  build(spec, layers, image) {
    const blocks: Tensor[] = [];
    let h = image;
    spec.channels.forEach((out, k) => {
      const path = `stages.${k}`;
      const conv = layers.conv(h, `${path}.conv`, { out, kernel: 3, bias: true, init: 'torch-default' });
      const relu = layers.b.relu(conv, { name: `${path}.relu` });
      h = layers.b.maxPool(relu, { kernel: [2, 2], strides: [2, 2], name: path }); // [N, out, ⌊H/2^(k+1)⌋, ⌊W/2^(k+1)⌋]
      blocks.push(h);
    });
    const flat = layers.b.flatten(h, 1, { name: 'flatten' }); // [N, C·H'·W']
    return { logits: layers.linear(flat, 'fc', spec.classes, 'logits'), blocks };
  },
};
