/**
 * Weight initialisation, as PyTorch does it for the same layers, drawn from the team's seeded
 * generator (src/data/random.ts) so that a seed reproduces a model exactly.
 *
 * Two schemes, chosen per backbone:
 * - `'torch-default'`: what `nn.Conv2d` / `nn.Linear` do on construction,
 *   `kaiming_uniform_(a=√5)` = U(±1/√fan_in) for the weight and U(±1/√fan_in) for the bias.
 *   Used where no normalisation follows (plain CNN, every final linear layer).
 * - `'kaiming-normal-fan-out'`: torchvision's ResNet, `kaiming_normal_(mode='fan_out',
 *   nonlinearity='relu')` = N(0, 2/fan_out) for convs followed by BatchNorm (no bias). BN then
 *   starts as weight 1, bias 0, running mean 0, running variance 1 (`bnInit`).
 */
import type { Rng } from '../data/random.ts';

export type WeightInit = 'torch-default' | 'kaiming-normal-fan-out';

/** Fans as `torch.nn.init._calculate_fan_in_and_fan_out`: dims `[out, in, …kernel]`. */
export function fans(dims: readonly number[]): { fanIn: number; fanOut: number } {
  const receptive = dims.slice(2).reduce((a, d) => a * d, 1);
  return { fanIn: (dims[1] ?? 1) * receptive, fanOut: dims[0]! * receptive };
}

/** A weight tensor of `dims` (`[out, in, …kernel]`) drawn by `scheme`. */
export function initWeight(rng: Rng, dims: readonly number[], scheme: WeightInit): Float32Array {
  const { fanIn, fanOut } = fans(dims);
  const count = dims.reduce((a, d) => a * d, 1);
  if (scheme === 'torch-default') return uniform(rng, count, 1 / Math.sqrt(fanIn));
  const std = Math.sqrt(2 / fanOut);
  return Float32Array.from({ length: count }, () => std * standardNormal(rng));
}

/** A bias of `count` elements for a layer with fan-in `fanIn`: U(±1/√fan_in), as PyTorch. */
export function initBias(rng: Rng, count: number, fanIn: number): Float32Array {
  return uniform(rng, count, 1 / Math.sqrt(fanIn));
}

/** BatchNorm's initial weight, bias, running mean and running variance (PyTorch's). */
export function bnInit(channels: number): { scale: Float32Array; bias: Float32Array; mean: Float32Array; variance: Float32Array } {
  return {
    scale: new Float32Array(channels).fill(1),
    bias: new Float32Array(channels),
    mean: new Float32Array(channels),
    variance: new Float32Array(channels).fill(1),
  };
}

function uniform(rng: Rng, count: number, bound: number): Float32Array {
  return Float32Array.from({ length: count }, () => (2 * rng.next() - 1) * bound);
}

/** One N(0, 1) sample (Box–Muller; 1 − u keeps the logarithm finite). */
function standardNormal(rng: Rng): number {
  const u = 1 - rng.next();
  const v = rng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}
