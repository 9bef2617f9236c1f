/**
 * Layers as PyTorch modules know them (Conv2d, BatchNorm2d, Linear), built on a GraphBuilder with
 * their weights initialised and recorded. Names follow the PyTorch twin: a layer at module path
 * `stages.1.0.conv1` owns the initializer `stages.1.0.conv1.weight`, and its output tensor is named
 * after the path, so ONNX tensors and `state_dict()` keys line up one to one.
 */
import type { Rng } from '../data/random.ts';
import { ExitwiseError } from '../errors.ts';
import type { GraphBuilder, Tensor } from '../onnx/builder/index.ts';
import { bnInit, initBias, initWeight, type WeightInit } from './init.ts';
import type { ParamInfo, ParamRole } from './types.ts';

export interface ConvLayerOptions {
  out: number;
  /** Square kernel side; padding is `kernel >> 1` ("same" at stride 1, as the twin's `padding=k//2`). */
  kernel: number;
  stride?: number;
  /** Add a bias (default false: a following BatchNorm makes it redundant). */
  bias?: boolean;
  init: WeightInit;
}

/**
 * Adds initialised layers to a builder and records their initializers (for backbones and exit heads).
 *
 * @example
 * ```ts
 * const layers = new Layers(new GraphBuilder(), new Rng(0));
 * const x = layers.b.input('x', 'float32', ['N', 16, 7, 7]);
 * const h = layers.b.relu(layers.convBn(x, 'head.0', { out: 32, kernel: 3, init: 'kaiming-normal-fan-out' }));
 * layers.params.map((p) => p.name); // ['head.0.conv.weight', 'head.0.bn.weight', …, 'head.0.bn.running_var']
 * ```
 */
export class Layers {
  /** Every initializer created so far, in order. */
  readonly params: ParamInfo[] = [];

  constructor(readonly b: GraphBuilder, private readonly rng: Rng) {}

  /** `nn.Conv2d(C, out, kernel, stride, kernel // 2, bias)` at module path `path`. */
  conv(x: Tensor, path: string, o: ConvLayerOptions): Tensor {
    const dims = [o.out, channelsOf(x), o.kernel, o.kernel];
    const w = this.param(`${path}.weight`, 'weight', dims, initWeight(this.rng, dims, o.init));
    const bias = o.bias === true ? this.param(`${path}.bias`, 'bias', [o.out], initBias(this.rng, o.out, dims[1]! * o.kernel * o.kernel)) : undefined;
    const pad = o.kernel >> 1;
    const stride = o.stride ?? 1;
    return this.b.conv(x, w, bias, { strides: [stride, stride], pads: [pad, pad, pad, pad], name: path });
  }

  /** `nn.BatchNorm2d(C)` in inference form (ε 1e-5, PyTorch's and ONNX's default). */
  batchNorm(x: Tensor, path: string): Tensor {
    const c = channelsOf(x);
    const init = bnInit(c);
    const scale = this.param(`${path}.weight`, 'bn-scale', [c], init.scale);
    const bias = this.param(`${path}.bias`, 'bn-bias', [c], init.bias);
    const mean = this.param(`${path}.running_mean`, 'bn-mean', [c], init.mean);
    const variance = this.param(`${path}.running_var`, 'bn-var', [c], init.variance);
    return this.b.batchNorm(x, scale, bias, mean, variance, { name: path });
  }

  /** Conv (no bias) → BatchNorm, the twin's `ConvBN` module at `path` (`path.conv`, `path.bn`). */
  convBn(x: Tensor, path: string, o: Omit<ConvLayerOptions, 'bias'>): Tensor {
    return this.batchNorm(this.conv(x, `${path}.conv`, o), `${path}.bn`);
  }

  /** `nn.Linear(features, out)` on `[N, features]`: Gemm with the weight `[out, features]` transposed, as PyTorch stores it. */
  linear(x: Tensor, path: string, out: number, outputName = path): Tensor {
    const features = channelsOf(x);
    const w = this.param(`${path}.weight`, 'weight', [out, features], initWeight(this.rng, [out, features], 'torch-default'));
    const bias = this.param(`${path}.bias`, 'bias', [out], initBias(this.rng, out, features));
    return this.b.gemm(x, w, bias, { transB: true, name: outputName });
  }

  private param(name: string, role: ParamRole, dims: number[], values: Float32Array): Tensor {
    this.params.push({ name, dims, role, trainable: role !== 'bn-mean' && role !== 'bn-var' });
    return this.b.initializer(name, values, dims);
  }
}

/** Dim 1 (channels or features), static in every backbone the registry builds. */
function channelsOf(x: Tensor): number {
  const c = x.dims[1];
  if (typeof c !== 'number') throw new ExitwiseError('EXW_BUILD', `"${x.name}" has a symbolic channel dim`, { hint: 'Layers need a static channel (or feature) count in dim 1.' });
  return c;
}
