/**
 * The multi-exit model: a backbone with exit heads attached at cut tensors, as one ONNX model
 * whose outputs are the logits of every exit in order, the backbone's own logits last. It is what
 * training trains; the bundle's stages and exits are cut out of it afterwards.
 */
import { clone } from '@bufbuild/protobuf';
import { deriveSeed } from '../data/random.ts';
import { ExitwiseError } from '../errors.ts';
import { type ModelProto, ModelProtoSchema } from '../onnx/proto/onnx_pb.ts';
import { validateModel } from '../onnx/validate.ts';
import { type BackboneRef, backboneInfo } from './backbone.ts';
import { buildHead, type HeadConfig, type HeadFeature } from './heads/registry.ts';
import { exitCandidates, type ExitPlacement } from './placement.ts';

/** Seed of the heads' initial weights when none is given (exit k uses `deriveSeed(seed, k)`). */
const DEFAULT_HEAD_SEED = 0;

export interface AttachOptions {
  /** Seed of the heads' initial weights (default 0); exit k draws from `deriveSeed(seed, k)`. */
  seed?: number;
}

export interface MultiExitModel {
  /** Outputs: `exitLogits`, in order. Weights are initializers; head k's are named `exit{k}/…`. */
  model: ModelProto;
  /** Logits of each exit `[N, classes]`: `exit{k}/logits` for the early exits, then the backbone's own. */
  exitLogits: string[];
  /** The tensor each early exit reads, in order (the final exit reads the whole backbone). */
  exitTensors: string[];
}

/**
 * Attaches one head per placement (in placement order) to the backbone. The backbone's nodes and
 * weights are kept unchanged, so the final exit computes exactly the backbone's logits; other
 * backbone outputs are dropped.
 *
 * Errors: `EXW_SURGERY` for a placement that is not an exit position of this backbone, or
 * placements out of graph order or repeated; `EXW_BUILD` for a head that cannot read its feature,
 * a head/placement count mismatch, or names that collide with the backbone's.
 *
 * @example
 * const placements = placeExits(model, { by: 'count', count: 3 });
 * const plan = planHeads({ model }, placements);
 * const { model: multi, exitLogits } = attachExits({ model }, placements, plan.heads.map((h) => h.config));
 */
export function attachExits(backbone: BackboneRef, placements: readonly ExitPlacement[], heads: readonly HeadConfig[], options: AttachOptions = {}): MultiExitModel {
  const info = backboneInfo(backbone);
  if (heads.length !== placements.length) {
    throw new ExitwiseError('EXW_BUILD', `${heads.length} heads for ${placements.length} exit placements`, { hint: 'Give one head config per placement (planHeads makes them).' });
  }
  const features = checkPlacements(backbone.model, placements);
  const model = clone(ModelProtoSchema, backbone.model);
  const graph = model.graph!;
  const taken = new Set([...graph.node.flatMap((n) => [n.name, ...n.output]), ...graph.input.map((v) => v.name), ...graph.initializer.map((t) => t.name)]);
  const seed = options.seed ?? DEFAULT_HEAD_SEED;
  const headOutputs = features.map((feature, k) => {
    const head = buildHead(heads[k]!, feature, { classes: info.classes, prefix: `exit${k}/`, seed: deriveSeed(seed, k), opset: info.opset }).graph!;
    for (const name of [...head.node.flatMap((n) => [n.name, ...n.output]), ...head.initializer.map((t) => t.name)]) {
      if (taken.has(name)) throw new ExitwiseError('EXW_BUILD', `the head of exit ${k} would define "${name}", which the backbone already uses`, { hint: 'Rename the backbone tensors that start with "exit<k>/".' });
    }
    graph.node.push(...head.node);
    graph.initializer.push(...head.initializer);
    return head.output[0]!;
  });
  const finalOutput = graph.output.find((o) => o.name === info.logits)!;
  graph.output = [...headOutputs, finalOutput];
  validateModel(model);
  return { model, exitLogits: graph.output.map((o) => o.name), exitTensors: placements.map((p) => p.tensor) };
}

/** Placements must be exit positions of this backbone, distinct, in graph order; returns their features as this backbone shapes them. */
function checkPlacements(backbone: ModelProto, placements: readonly ExitPlacement[]): HeadFeature[] {
  const candidates = exitCandidates(backbone);
  const order = new Map(candidates.map((c, i) => [c.tensor, i]));
  let previous = -1;
  return placements.map((p) => {
    const i = order.get(p.tensor);
    if (i === undefined) {
      throw new ExitwiseError('EXW_SURGERY', `"${p.tensor}" is not an exit position of this backbone`, { hint: 'Make placements with placeExits(backbone, …) on this same backbone.' });
    }
    if (i <= previous) {
      throw new ExitwiseError('EXW_SURGERY', `exit placements are repeated or out of graph order at "${p.tensor}"`, { hint: 'List placements in graph order, each once (placeExits returns them so).' });
    }
    previous = i;
    return { name: p.tensor, dims: candidates[i]!.shape };
  });
}
