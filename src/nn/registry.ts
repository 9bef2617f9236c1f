/**
 * The backbone registry: one table keyed by `kind`, and `buildBackbone`, which checks a JSON spec,
 * fills in its defaults and builds the forward graph with seeded weights.
 */
import { create } from '@bufbuild/protobuf';
import type { z } from 'zod';
import { Rng } from '../data/random.ts';
import { ExitwiseError } from '../errors.ts';
import { GraphBuilder } from '../onnx/builder/index.ts';
import { StringStringEntryProtoSchema } from '../onnx/proto/onnx_pb.ts';
import type { BackboneDefinition } from './definition.ts';
import { Layers } from './layers.ts';
import { PLAIN_CNN } from './plain-cnn.ts';
import { RESNET } from './resnet.ts';
import type { Backbone, BackboneSpec, Resolved } from './types.ts';

/** Every backbone kind. Adding one: a file with its definition, and a line here. */
const BACKBONES: Readonly<Record<BackboneSpec['kind'], BackboneDefinition<Resolved<BackboneSpec>>>> = {
  resnet: RESNET,
  cnn: PLAIN_CNN,
};

/** Name of the graph input, `[N, C, H, W]` float32. */
export const BACKBONE_INPUT = 'image';
/** Name of the graph output, `[N, classes]` float32. */
export const BACKBONE_LOGITS = 'logits';
/** Model metadata key holding the resolved spec as JSON, so a saved model says how it was made. */
export const BACKBONE_METADATA_KEY = 'exitwise.backbone';

/** The registered backbone kinds. */
export function backboneKinds(): string[] {
  return Object.keys(BACKBONES);
}

/**
 * Builds a backbone from its spec: an ONNX forward graph `image [N, C, H, W] → logits [N, classes]`
 * with BatchNorm in inference form (the training-graph builder switches it to training mode),
 * weights initialised as PyTorch does from `spec.seed`, and the block outputs as exit points.
 * A spec that is not valid JSON for its kind → `EXW_USAGE` naming every problem.
 *
 * @example
 * ```ts
 * const { model, blocks } = buildBackbone({ kind: 'resnet', blocksPerStage: [2, 2, 2], width: 16 });
 * blocks; // ['stages.0.0', 'stages.0.1', 'stages.1.0', …, 'stages.2.1']
 * const session = await createSession(model);
 * ```
 */
export function buildBackbone(spec: BackboneSpec): Backbone {
  const definition = definitionOf(spec);
  const resolved = parseSpec(definition, spec);
  const b = new GraphBuilder({ graphName: resolved.kind });
  const layers = new Layers(b, new Rng(resolved.seed));
  const image = b.input(BACKBONE_INPUT, 'float32', ['N', ...resolved.inputShape]);
  const { logits, blocks } = definition.build(resolved, layers, image);
  const output = b.output(logits, BACKBONE_LOGITS);
  const model = b.build();
  model.metadataProps.push(create(StringStringEntryProtoSchema, { key: BACKBONE_METADATA_KEY, value: JSON.stringify(resolved) }));
  const paramCount = layers.params.filter((p) => p.trainable).reduce((n, p) => n + p.dims.reduce((a, d) => a * d, 1), 0);
  return { spec: resolved, model, input: image.name, logits: output.name, blocks: blocks.map((t) => t.name), params: layers.params, paramCount };
}

function definitionOf(spec: unknown): BackboneDefinition<Resolved<BackboneSpec>> {
  const kind = typeof spec === 'object' && spec !== null ? (spec as { kind?: unknown }).kind : undefined;
  if (typeof kind === 'string' && Object.hasOwn(BACKBONES, kind)) return BACKBONES[kind as BackboneSpec['kind']];
  const kinds = backboneKinds().map((k) => `"${k}"`).join(', ');
  const what = typeof spec !== 'object' || spec === null ? `a backbone spec must be an object, not ${JSON.stringify(spec) ?? String(spec)}`
    : kind === undefined ? 'the backbone spec has no "kind"' : `unknown backbone kind ${JSON.stringify(kind)}`;
  throw new ExitwiseError('EXW_USAGE', `${what}; registered kinds: ${kinds}`, {
    hint: `Give "kind" as one of ${kinds}, e.g. ${BACKBONES.resnet.example}.`,
  });
}

function parseSpec<S>(definition: BackboneDefinition<S>, spec: unknown): S {
  const parsed = definition.schema.safeParse(spec);
  if (parsed.success) return parsed.data;
  throw new ExitwiseError('EXW_USAGE', `invalid ${(spec as { kind: string }).kind} backbone spec: ${describeIssues(parsed.error, spec)}`, {
    hint: `Every field but "kind" is optional; a full spec with the defaults: ${definition.example}.`,
    cause: parsed.error,
  });
}

/** `field: problem (got value)` for every issue, so one error lists everything to fix. */
function describeIssues(error: z.ZodError, spec: unknown): string {
  return error.issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    const got = issue.code === 'custom' || issue.code === 'unrecognized_keys' ? undefined : valueAt(spec, issue.path);
    return `${path === '' ? 'spec' : path}: ${issue.message}${got === undefined ? '' : ` (got ${got})`}`;
  }).join('; ');
}

function valueAt(value: unknown, path: readonly PropertyKey[]): string | undefined {
  let v = value;
  for (const key of path) v = typeof v === 'object' && v !== null ? (v as Record<PropertyKey, unknown>)[key] : undefined;
  return v === undefined ? undefined : JSON.stringify(v);
}
