/**
 * Benchmark inputs: a split's images preprocessed once, before any clock starts, into one
 * `[N, …inputDims]` array that every variant reads batch by batch through views (no copies).
 */
import type { BundleData } from '../../bundle/data.ts';
import { BatchLoader } from '../../data/loader.ts';
import { ExitwiseError } from '../../errors.ts';

export interface BenchInputs {
  /** `[count, …inputDims]`, row-major, as the bundle's stage 0 takes it. */
  data: Float32Array;
  labels: Int32Array;
  count: number;
  /** Dims of one input. */
  inputDims: number[];
}

/**
 * The first `limit` samples of `data` (all when absent), preprocessed as the bundle says.
 * `EXW_USAGE` for a limit that is not a positive integer.
 */
export function prepareInputs(data: BundleData, limit?: number): BenchInputs {
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1)) {
    throw new ExitwiseError('EXW_USAGE', `limit ${limit} is not a positive integer`, { hint: 'Pass --limit N with N ≥ 1, or leave it out to use the whole split.' });
  }
  const indices = data.indices.subarray(0, Math.min(limit ?? data.count, data.count));
  const count = indices.length;
  if (count === 0) throw new ExitwiseError('EXW_USAGE', 'the split holds no samples', { hint: 'Use another split or dataset.' });
  const loader = new BatchLoader({
    images: data.images, labels: data.labels, inputShape: data.inputShape, indices,
    batchSize: count, shuffle: false, normalize: data.normalize, labelType: 'int32',
  });
  const { x, y } = loader.batch(0, 0); // [count, C, H, W]
  return { data: toInputLayout(x, count, data.inputShape, data.inputDims), labels: y as Int32Array, count, inputDims: data.inputDims };
}

/** NCHW loader output as the bundle takes it: the same bytes unless the bundle is NHWC with several channels. */
function toInputLayout(x: Float32Array, count: number, [c, h, w]: readonly [number, number, number], dims: readonly number[]): Float32Array {
  if (c === 1 || (dims[0] === c && dims[1] === h && dims[2] === w)) return x;
  const out = new Float32Array(x.length); // [count, H, W, C]
  const plane = h * w;
  for (let b = 0; b < count; b++) {
    const base = b * c * plane;
    for (let ch = 0; ch < c; ch++) for (let p = 0; p < plane; p++) out[base + p * c + ch] = x[base + ch * plane + p]!;
  }
  return out;
}
