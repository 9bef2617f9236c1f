/**
 * Typed builder methods for the layers of backbones and heads: convolutions, pooling,
 * normalization, matrix products and activations. `GraphBuilder` is the class users import.
 *
 * Gelu: ONNX has a Gelu op from opset 20 only. At older opsets (the default 17) the builder
 * emits the exact erf formulation 0.5·x·(1 + erf(x/√2)), five nodes that every ORT runs and
 * that PyTorch exports for `nn.GELU()` as well; at 20+ it emits one Gelu node.
 */
import { TensorOpsBuilder } from './tensor-ops.ts';
import type { ConvOptions, ConvTransposeOptions, GemmOptions, LayerNormOptions, NodeOptions, NormOptions, PoolOptions, Tensor } from './types.ts';

const one = (ts: Tensor[]): Tensor => ts[0]!;

/** The opset that introduced the Gelu op. */
const GELU_OPSET = 20;

/**
 * Builds ONNX graphs with shapes checked as nodes are added.
 *
 * @example
 * ```ts
 * const b = new GraphBuilder({ opset: 17 });
 * const x = b.input('x', 'float32', ['N', 1, 28, 28]);
 * const w = b.initializer('w', new Float32Array(8 * 9), [8, 1, 3, 3]);
 * const y = b.relu(b.conv(x, w, undefined, { pads: [1, 1, 1, 1] })); // y.dims: ['N', 8, 28, 28]
 * b.output(b.globalAveragePool(y), 'features');
 * const model = b.build();
 * ```
 */
export class GraphBuilder extends TensorOpsBuilder {
  /** Conv with weight `[M, C/group, kH, kW]` and optional bias `[M]`. */
  conv(x: Tensor, w: Tensor, bias?: Tensor, options: ConvOptions = {}): Tensor {
    return one(this.op('Conv', [x, w, bias], convAttrs(options), nameOf(options)));
  }

  /** ConvTranspose with weight `[C, M/group, kH, kW]` and optional bias `[M]`. */
  convTranspose(x: Tensor, w: Tensor, bias?: Tensor, options: ConvTransposeOptions = {}): Tensor {
    const attrs = { ...convAttrs(options), output_padding: options.outputPadding === undefined ? undefined : { ints: options.outputPadding } };
    return one(this.op('ConvTranspose', [x, w, bias], attrs, nameOf(options)));
  }

  /** Inference BatchNormalization with per-channel scale, bias, running mean and variance. */
  batchNorm(x: Tensor, scale: Tensor, bias: Tensor, mean: Tensor, variance: Tensor, options: NormOptions = {}): Tensor {
    return one(this.op('BatchNormalization', [x, scale, bias, mean, variance], { epsilon: epsilonOf(options) }, nameOf(options)));
  }

  /** LayerNormalization over the axes from `axis` on (opset 17+). */
  layerNorm(x: Tensor, scale: Tensor, bias?: Tensor, options: LayerNormOptions = {}): Tensor {
    const attrs = { axis: { i: options.axis ?? -1 }, epsilon: epsilonOf(options) };
    return one(this.op('LayerNormalization', [x, scale, bias], attrs, nameOf(options)));
  }

  maxPool(x: Tensor, options: PoolOptions): Tensor {
    return one(this.op('MaxPool', [x], { ...poolAttrs(options), dilations: options.dilations === undefined ? undefined : { ints: options.dilations } }, nameOf(options)));
  }

  averagePool(x: Tensor, options: PoolOptions): Tensor {
    const attrs = { ...poolAttrs(options), count_include_pad: options.countIncludePad === true ? { i: 1 } : undefined };
    return one(this.op('AveragePool', [x], attrs, nameOf(options)));
  }

  globalAveragePool(x: Tensor, options: NodeOptions = {}): Tensor {
    return this.unary('GlobalAveragePool', x, options);
  }

  /** `alpha·A'·B' + beta·C` with A' = transA ? Aᵀ : A (2-D only). */
  gemm(a: Tensor, b: Tensor, c?: Tensor, options: GemmOptions = {}): Tensor {
    const attrs = {
      alpha: options.alpha === undefined ? undefined : { f: options.alpha },
      beta: options.beta === undefined ? undefined : { f: options.beta },
      transA: options.transA === true ? { i: 1 } : undefined,
      transB: options.transB === true ? { i: 1 } : undefined,
    };
    return one(this.op('Gemm', [a, b, c], attrs, nameOf(options)));
  }

  /** Numpy matmul: batched, broadcasting leading dims. */
  matMul(a: Tensor, b: Tensor, options: NodeOptions = {}): Tensor {
    return this.binary('MatMul', a, b, options);
  }

  leakyRelu(x: Tensor, alpha = 0.01, options: NodeOptions = {}): Tensor {
    return one(this.op('LeakyRelu', [x], { alpha: { f: alpha } }, options));
  }

  /** Exact (erf) GELU: a Gelu node at opset 20+, else 0.5·x·(1 + erf(x/√2)) (see the file comment). */
  gelu(x: Tensor, options: NodeOptions = {}): Tensor {
    if (this.opset >= GELU_OPSET) return this.unary('Gelu', x, options);
    const name = options.name ?? this.freshName('Gelu');
    const scaled = this.div(x, this.scalar(name, 'sqrt2', Math.SQRT2, x.dataType), { name: `${name}/div` });
    const erf = this.erf(scaled, { name: `${name}/erf` });
    const onePlus = this.add(erf, this.scalar(name, 'one', 1, x.dataType), { name: `${name}/add` });
    const times = this.mul(x, onePlus, { name: `${name}/mul` });
    return this.mul(times, this.scalar(name, 'half', 0.5, x.dataType), { name });
  }
}

function nameOf(options: NodeOptions): NodeOptions {
  return options.name === undefined ? {} : { name: options.name };
}

function epsilonOf(options: NormOptions): { f: number } | undefined {
  return options.epsilon === undefined ? undefined : { f: options.epsilon };
}

function convAttrs(o: ConvOptions) {
  return {
    strides: o.strides === undefined ? undefined : { ints: o.strides },
    pads: o.pads === undefined ? undefined : { ints: o.pads },
    dilations: o.dilations === undefined ? undefined : { ints: o.dilations },
    group: o.group === undefined ? undefined : { i: o.group },
    auto_pad: o.autoPad === undefined ? undefined : { s: o.autoPad },
  };
}

function poolAttrs(o: PoolOptions) {
  return {
    kernel_shape: { ints: o.kernel },
    strides: o.strides === undefined ? undefined : { ints: o.strides },
    pads: o.pads === undefined ? undefined : { ints: o.pads },
    ceil_mode: o.ceilMode === true ? { i: 1 } : undefined,
  };
}
