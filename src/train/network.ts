/**
 * The network a run trains: the backbone alone, or the backbone with its exits attached (the
 * multi-exit model), with the names of its input, its exits' logits and its trainable weights.
 */
import { attachExits, type MultiExitModel } from '../exits/attach.ts';
import { placeExits } from '../exits/placement.ts';
import type { ModelProto } from '../onnx/proto/onnx_pb.ts';
import { buildBackbone } from '../nn/registry.ts';
import type { Backbone } from '../nn/types.ts';
import { DataType } from '../onnx/tensor-data.ts';
import type { ClassifierModel } from './classifier-training.ts';
import type { TrainConfig } from './run-config.ts';

export interface RunNetwork {
  backbone: Backbone;
  /** What ClassifierTraining trains. */
  classifier: ClassifierModel;
  /** The multi-exit model, or null for a single-exit run. */
  multiExit: MultiExitModel | null;
  /** Every exit's logits, final last (one name for a single-exit run). */
  exitLogits: string[];
  /** Parameters trained. */
  paramCount: number;
}

/** Builds the run's network from its resolved config (the same network on every resume). */
export function buildRunNetwork(config: TrainConfig): RunNetwork {
  const backbone = buildBackbone(config.arch);
  const backboneTrainable = backbone.params.filter((p) => p.trainable).map((p) => p.name);
  if (config.exits === null) {
    return {
      backbone, multiExit: null, exitLogits: [backbone.logits], paramCount: backbone.paramCount,
      classifier: { model: backbone.model, input: backbone.input, logits: backbone.logits, trainable: backboneTrainable },
    };
  }
  const placements = placeExits(backbone.model, config.exits.placement);
  // Heads draw their initial weights from the backbone's seed, so one seed decides the whole network.
  const multiExit = attachExits({ model: backbone.model, logits: backbone.logits }, placements, config.exits.head, { seed: config.arch.seed });
  const headTrainable = headParameters(multiExit.model, new Set(backbone.model.graph!.initializer.map((t) => t.name)));
  const sizes = new Map(multiExit.model.graph!.initializer.map((t) => [t.name, t.dims.reduce((a, d) => a * Number(d), 1)]));
  const trainable = [...backboneTrainable, ...headTrainable];
  if (config.exits.strategy === 'exits-only') {
    // The backbone trains alone; the heads train afterwards on its frozen features (trainHeadsOnly).
    return {
      backbone, multiExit, exitLogits: [backbone.logits], paramCount: backbone.paramCount,
      classifier: { model: backbone.model, input: backbone.input, logits: backbone.logits, trainable: backboneTrainable },
    };
  }
  return {
    backbone, multiExit, exitLogits: multiExit.exitLogits,
    paramCount: trainable.reduce((sum, name) => sum + sizes.get(name)!, 0),
    classifier: {
      model: multiExit.model, input: backbone.input, logits: backbone.logits, trainable,
      earlyExits: { logits: multiExit.exitLogits.slice(0, -1), tensors: multiExit.exitTensors },
    },
  };
}

/**
 * The heads' weights: float initializers the backbone does not have, except BatchNorm running
 * statistics (state the training graph updates, not parameters).
 */
export function headParameters(model: ModelProto, backboneInitializers: ReadonlySet<string>): string[] {
  const graph = model.graph!;
  const runningStats = new Set(graph.node.filter((n) => n.opType === 'BatchNormalization').flatMap((n) => [n.input[3], n.input[4]]));
  return graph.initializer
    .filter((t) => !backboneInitializers.has(t.name) && t.dataType === DataType.FLOAT && !runningStats.has(t.name))
    .map((t) => t.name);
}
