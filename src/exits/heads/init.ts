/**
 * Initial weights of exit heads, drawn from the team's seeded generator so that a seed gives the
 * same heads every time. The schemes follow PyTorch's so that heads trained here behave like
 * heads trained there.
 */
import type { GraphBuilder, Tensor } from '../../onnx/builder/index.ts';
import type { Rng } from '../../data/random.ts';

function uniform(rng: Rng, count: number, bound: number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = (2 * rng.next() - 1) * bound;
  return out;
}

/** A weight feeding a ReLU: He-uniform, bound √(6 / fan_in), which keeps activations' variance through the ReLU. */
export function reluWeight(b: GraphBuilder, name: string, dims: readonly number[], rng: Rng): Tensor {
  const fanIn = dims.slice(1).reduce((n, d) => n * d, 1);
  return b.initializer(name, uniform(rng, fanIn * dims[0]!, Math.sqrt(6 / fanIn)), dims);
}

/** A classifier layer `[out, in]` and its bias `[out]`: PyTorch nn.Linear's default, U(±1/√in) for both. */
export function linearLayer(b: GraphBuilder, prefix: string, out: number, fanIn: number, rng: Rng): { weight: Tensor; bias: Tensor } {
  const bound = 1 / Math.sqrt(fanIn);
  return {
    weight: b.initializer(`${prefix}weight`, uniform(rng, out * fanIn, bound), [out, fanIn]),
    bias: b.initializer(`${prefix}bias`, uniform(rng, out, bound), [out]),
  };
}

/** A zero vector (biases of layers that feed a ReLU; BatchNorm's shift and running mean). */
export function zeros(b: GraphBuilder, name: string, n: number): Tensor {
  return b.initializer(name, new Float32Array(n), [n]);
}

/** A vector of ones (BatchNorm's scale and running variance). */
export function ones(b: GraphBuilder, name: string, n: number): Tensor {
  return b.initializer(name, new Float32Array(n).fill(1), [n]);
}
