/**
 * Public types of the backbones: the JSON specs that describe them and what `buildBackbone`
 * returns. Defaults live with each backbone (resnet.ts, plain-cnn.ts), next to the reason for them.
 */
import type { ModelProto } from '../onnx/proto/onnx_pb.ts';

/** Spec fields every backbone shares. */
export interface CommonSpec {
  /** Classes of the final classifier (default 10). */
  classes?: number;
  /** `[C, H, W]` of one input image (default `[1, 28, 28]`, MNIST and Fashion-MNIST). */
  inputShape?: readonly [number, number, number];
  /** Seed of the weight initialisation, an integer in [0, 2^32) (default 0). */
  seed?: number;
}

/**
 * A ResNet for small images (He et al. 2016, §4.2, the CIFAR layout): a 3×3 conv stem, stages of
 * basic blocks (two 3×3 conv+BN, identity or 1×1 conv+BN shortcut), global average pool, linear.
 * Stage s has `width·2^s` channels; every stage after the first halves H and W in its first block.
 * Depth in the paper's counting is `2·Σ blocksPerStage + 2`.
 */
export interface ResNetSpec extends CommonSpec {
  kind: 'resnet';
  /** Basic blocks in each stage (default `[2, 2, 2]`, ResNet-14). */
  blocksPerStage?: readonly number[];
  /** Channels of the stem and of the first stage (default 16). */
  width?: number;
  /**
   * Stride of the stem conv (default 1). 2 halves the resolution at once: every stage then runs
   * on a quarter of the pixels with more channels for the same FLOPs, where ONNX Runtime's convs
   * are faster per FLOP (see src/nn/resnet.ts).
   */
  stemStride?: number;
}

/** A plain CNN: stages of 3×3 conv (with bias) → ReLU → 2×2 max-pool, then flatten → linear. */
export interface PlainCnnSpec extends CommonSpec {
  kind: 'cnn';
  /** Output channels of each stage's conv (default `[32, 64]`). */
  channels?: readonly number[];
}

/** Any backbone spec: JSON, told apart by `kind`. */
export type BackboneSpec = ResNetSpec | PlainCnnSpec;

/** A spec with every default filled in. */
export type Resolved<S> = { [K in keyof S]-?: Exclude<S[K], undefined> };

/** What a backbone's initializer is: learned weights and biases, BN affine parameters, or BN running statistics (buffers). */
export type ParamRole = 'weight' | 'bias' | 'bn-scale' | 'bn-bias' | 'bn-mean' | 'bn-var';

export interface ParamInfo {
  /** Initializer name, equal to the key of the same tensor in the PyTorch twin's `state_dict()`. */
  name: string;
  dims: number[];
  role: ParamRole;
  /** False for BN running statistics: training updates them, the optimizer does not. */
  trainable: boolean;
}

/** A built backbone: an ONNX forward graph in inference form and where its parts are. */
export interface Backbone {
  /** The spec with all defaults filled in: JSON that rebuilds the identical model. */
  spec: Resolved<BackboneSpec>;
  /** The forward graph (opset 17, weights as initializers, BN in inference form). */
  model: ModelProto;
  /** Graph input `[N, C, H, W]` float32 (`'image'`). */
  input: string;
  /** Graph output `[N, classes]` float32 (`'logits'`). */
  logits: string;
  /**
   * The output of every block (residual block or conv stage), in order: cut points of the graph
   * where an exit can attach. The last is the tensor the final classifier reads, so the
   * intermediate exit points are `blocks.slice(0, -1)`.
   */
  blocks: string[];
  /** Every initializer, in creation order. */
  params: ParamInfo[];
  /** Elements of the trainable initializers (as PyTorch's `sum(p.numel() for p in model.parameters())`). */
  paramCount: number;
}
