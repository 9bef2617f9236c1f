/**
 * What a backbone kind provides to the registry: a zod schema that checks its JSON spec and fills
 * in its defaults, and a function that adds its layers to a graph. Also the spec fields every
 * kind shares, with their defaults.
 */
import { z } from 'zod';
import type { Tensor } from '../onnx/builder/index.ts';
import type { Layers } from './layers.ts';

export interface BackboneDefinition<S> {
  /** Checks a spec (unknown fields refused: a typo must not silently fall back to a default) and fills in defaults. */
  schema: z.ZodType<S>;
  /** A valid spec with every field, for error hints. */
  example: string;
  /** Adds the layers from the image `[N, C, H, W]` to the logits `[N, classes]`. */
  build(spec: S, layers: Layers, image: Tensor): { logits: Tensor; blocks: Tensor[] };
}

/** An integer ≥ 1 (channels, widths, block counts, image sides). */
export const positiveInt = z.number().int().positive();

/** Spec fields of every kind; defaults fit MNIST-like data (28×28 grayscale, 10 classes). */
export const commonSpecFields = {
  classes: z.number().int().min(2).default(10),
  inputShape: z.tuple([positiveInt, positiveInt, positiveInt]).default((): [number, number, number] => [1, 28, 28]),
  // 0 rather than "random": a spec alone must reproduce the same weights.
  seed: z.number().int().min(0).max(0xffff_ffff).default(0),
};
