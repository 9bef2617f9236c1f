/**
 * Every exit's logits on a dataset split: the raw material of evaluation, calibration and
 * threshold tuning. Runs the bundle's own segments (the files that get deployed), every stage
 * and every exit on every sample, in batches through one ORT session per segment.
 */
import type { Bundle } from '../bundle/io.ts';
import type { BundleData } from '../bundle/data.ts';
import { BatchLoader } from '../data/loader.ts';
import { ExitwiseError } from '../errors.ts';
import { checkLabels, exitOutputs, type ExitOutputs } from '../exits/outputs.ts';
import type { BackendKind } from '../runtime/session.ts';
import type { TensorLike } from '../runtime/tensor.ts';
import type { BundleManifest } from '../schemas/bundle.ts';
import { DEFAULT_EVAL_BATCH } from '../train/evaluate.ts';
import { openSegments, runAllExits } from './segments.ts';

/** Options of {@link collectExitOutputs}. */
export interface CollectOptions {
  /** ORT intra-op threads (default: ORT's choice, one per physical core on node). */
  threads?: number;
  /** Default `'node'`. */
  backend?: BackendKind;
  /** Samples per run (default {@link DEFAULT_EVAL_BATCH}: amortises ORT's per-call cost). */
  batchSize?: number;
  /** Called after each batch with the samples done so far and the total. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Runs every stage and every exit of `bundle` (a folder or a bundle in memory) on all samples of
 * `data`, with no exiting, and returns every exit's raw (untempered) logits in sample order and
 * the labels. `data` comes from `bundleSplitData`, which applies the bundle's preprocessing.
 * `EXW_USAGE` for a bundle whose input is not an image tensor; `EXW_POLICY` for non-finite logits.
 *
 * @example
 * const manifest = readManifest('fashion.exitwise');
 * const val = bundleSplitData(manifest, await loadDataset('fashion-mnist'), 'val');
 * const { outputs, labels } = await collectExitOutputs('fashion.exitwise', val, { threads: 2 });
 * outputs.logits.length === manifest.exits.length; // true
 */
export async function collectExitOutputs(bundle: string | Bundle, data: BundleData, options: CollectOptions = {}): Promise<{ outputs: ExitOutputs; labels: Int32Array }> {
  const batchSize = options.batchSize ?? DEFAULT_EVAL_BATCH;
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new ExitwiseError('EXW_USAGE', `batch size ${batchSize} is not a positive integer`, { hint: `Use e.g. ${DEFAULT_EVAL_BATCH}.` });
  const segments = await openSegments(bundle, options);
  try {
    const { manifest } = segments;
    checkImageInput(manifest);
    const classes = manifest.task.classes.length;
    const n = data.indices.length;
    const logits = manifest.exits.map(() => new Float32Array(n * classes)); // [K][n, classes]
    const labels = new Int32Array(n);
    const loader = new BatchLoader({
      images: data.images, labels: data.labels, inputShape: data.inputShape, indices: data.indices,
      batchSize, shuffle: false, normalize: data.normalize, labelType: 'int32',
    });
    let done = 0;
    for await (const batch of loader.epoch(0)) {
      const input = toLayout(batch.x, batch.size, data.inputShape, data.inputDims);
      const out = await runAllExits(segments, input);
      out.logits.forEach((t, k) => {
        if (t.type !== 'float32' || t.data.length !== batch.size * classes) {
          throw new ExitwiseError('EXW_BUNDLE', `exit ${k} returned ${t.type} [${t.dims.join(', ')}] for a batch of ${batch.size}; expected float32 [${batch.size}, ${classes}]`, {
            hint: 'Each exit must output logits [N, classes]; re-export the bundle.',
          });
        }
        logits[k]!.set(t.data, done * classes);
      });
      labels.set(batch.y as Int32Array, done);
      done += batch.size;
      options.onProgress?.(done, n);
    }
    const outputs = exitOutputs(logits, classes);
    checkLabels(outputs, labels);
    return { outputs, labels };
  } finally {
    await segments.release();
  }
}

function checkImageInput(manifest: BundleManifest): void {
  if (manifest.input.dtype !== 'float32') {
    throw new ExitwiseError('EXW_USAGE', `the bundle takes ${manifest.input.dtype} inputs "${manifest.input.name}", not images`, {
      hint: 'Image datasets feed float32 pixels; run other bundles through the API with their own inputs.',
    });
  }
}

/**
 * A loader batch (`[B, C, H, W]`) as the bundle takes it: unchanged for NCHW (and for NHWC with one
 * channel, the same bytes), transposed to `[B, H, W, C]` otherwise.
 */
function toLayout(x: Float32Array, size: number, shape: readonly [number, number, number], dims: readonly number[]): TensorLike<'float32'> {
  const [c, h, w] = shape;
  const nchw = dims[0] === c && dims[1] === h && dims[2] === w;
  if (nchw || c === 1) return { type: 'float32', dims: [size, ...dims], data: x };
  const out = new Float32Array(x.length);
  const plane = h * w;
  for (let b = 0; b < size; b++) {
    const base = b * c * plane;
    for (let ch = 0; ch < c; ch++) for (let p = 0; p < plane; p++) out[base + p * c + ch] = x[base + ch * plane + p]!;
  }
  return { type: 'float32', dims: [size, ...dims], data: out };
}
