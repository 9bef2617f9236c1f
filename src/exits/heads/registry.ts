/**
 * The exit-head registry: every template keyed by its `kind`, the JSON schema of a head config,
 * and `buildHead`, which makes a head as a standalone ONNX model reading one feature tensor.
 */
import { z } from 'zod';
import { Rng } from '../../data/random.ts';
import { ExitwiseError } from '../../errors.ts';
import { GraphBuilder } from '../../onnx/builder/index.ts';
import type { ModelProto } from '../../onnx/proto/onnx_pb.ts';
import type { Dim } from '../../onnx/shapes/types.ts';
import { ConvPoolLinearSchema, convPoolLinear } from './conv-pool-linear.ts';
import { MlpSchema, mlp } from './mlp.ts';
import { PoolLinearSchema, poolLinear } from './pool-linear.ts';
import type { HeadTemplate } from './types.ts';

/** A head config as JSON: `{ "kind": "conv-pool-linear", "channels": 16 }`. */
export const HeadConfigSchema = z.discriminatedUnion('kind', [PoolLinearSchema, ConvPoolLinearSchema, MlpSchema]);
export type HeadConfig = z.infer<typeof HeadConfigSchema>;
export type HeadKind = HeadConfig['kind'];

/** Every head template, by kind. */
export const HEAD_TEMPLATES: { readonly [K in HeadKind]: HeadTemplate<Extract<HeadConfig, { kind: K }>> } = {
  'pool-linear': poolLinear,
  'conv-pool-linear': convPoolLinear,
  mlp,
};

/** The template of a config's kind (`EXW_USAGE` listing the kinds when unknown). */
export function headTemplate(kind: string): HeadTemplate<HeadConfig> {
  const template = (HEAD_TEMPLATES as Record<string, HeadTemplate<HeadConfig> | undefined>)[kind];
  if (template === undefined) {
    throw new ExitwiseError('EXW_USAGE', `unknown exit head kind "${kind}"`, { hint: `Use one of: ${Object.keys(HEAD_TEMPLATES).join(', ')}.` });
  }
  return template;
}

/** Validates a head config read from JSON; `EXW_USAGE` listing each problem with its path. */
export function parseHeadConfig(json: unknown): HeadConfig {
  if (typeof json === 'object' && json !== null && 'kind' in json && typeof json.kind === 'string') headTemplate(json.kind);
  const parsed = HeadConfigSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ExitwiseError('EXW_USAGE', `invalid exit head config: ${issues}`, { hint: `A head config is { "kind": one of ${Object.keys(HEAD_TEMPLATES).join(', ')}, …its options }.` });
  }
  return parsed.data;
}

/** The tensor a head reads. */
export interface HeadFeature {
  name: string;
  /** `[N, C, H, W]` or `[N, D]`, batch symbolic. */
  dims: readonly Dim[];
}

export interface BuildHeadOptions {
  classes: number;
  /** Prefix of the head's node and weight names (`exit0/`); its logits are `<prefix>logits`. */
  prefix: string;
  /** Seed of the initial weights. */
  seed: number;
  /** ai.onnx opset: the backbone's, so the head can join it (13 or newer). */
  opset: number;
}

/**
 * A head as a standalone model: input the feature tensor (same name), output `<prefix>logits`
 * `[N, classes]`, weights as initializers named `<prefix>…`. `EXW_BUILD` when the kind cannot
 * read this feature (a conv head on `[N, D]`).
 *
 * @example
 * const head = buildHead({ kind: 'pool-linear' }, { name: 'block2_out', dims: ['N', 32, 14, 14] },
 *   { classes: 10, prefix: 'exit0/', seed: 1, opset: 17 });
 */
export function buildHead(config: HeadConfig, feature: HeadFeature, options: BuildHeadOptions): ModelProto {
  const template = headTemplate(config.kind);
  const refusal = template.refuses(feature.dims);
  if (refusal !== undefined) {
    throw new ExitwiseError('EXW_BUILD', `a "${config.kind}" head cannot read "${feature.name}" [${feature.dims.join(', ')}]: ${refusal}`, {
      hint: 'Place the exit at another tensor or choose another head kind (pool-linear reads any [N, C, H, W] or [N, D] feature).',
    });
  }
  const b = new GraphBuilder({ opset: options.opset, graphName: `${options.prefix}head` });
  const x = b.input(feature.name, 'float32', feature.dims);
  const rng = new Rng(options.seed);
  b.output(template.build(b, x, config, { prefix: options.prefix, classes: options.classes, rng }));
  return b.build();
}
