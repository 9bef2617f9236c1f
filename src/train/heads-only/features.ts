/**
 * The feature cache of exits-only training: the frozen backbone runs once over the images, in
 * inference mode (BatchNorm on its running statistics), and the tensors the exits read — plus the
 * final exit's logits, the teacher and source of pseudo-labels — are kept in memory as float32.
 * Head training then never runs the backbone again. There is no augmentation: the backbone sees
 * each image once, as it is.
 */
import type { Normalization } from '../../data/normalize.ts';
import { pixelTable } from '../../data/normalize.ts';
import { ExitwiseError } from '../../errors.ts';
import type { MultiExitModel } from '../../exits/attach.ts';
import { indexGraph } from '../../onnx/graph-index.ts';
import { inferShapesStatic, shapeFromValueInfo } from '../../onnx/shapes/index.ts';
import { extractSubgraph } from '../../onnx/surgery/extract.ts';
import { createSession } from '../../runtime/session.ts';
import { DEFAULT_EVAL_BATCH } from '../evaluate.ts';
import { interrupted } from './interrupt.ts';

/**
 * Images for exits-only training, as raw 8-bit pixels (a `BundleData` is one). Each sample is
 * `∏ inputDims` pixels in the model input's layout; `normalize` maps a pixel to the model input.
 */
export interface HeadsOnlyData {
  /** Pixels of every sample, `∏ inputDims` each, row-major. */
  images: Uint8Array;
  /** The samples to use, as indices into `images` (and `labels`). */
  indices: Int32Array;
  /** Dims of one input as the model takes it (`[C, H, W]`, or `[H, W, C]` for NHWC). */
  inputDims: readonly number[];
  normalize: Normalization;
  /** Class labels of every sample; absent for unlabelled data (train on pseudo-labels then). */
  labels?: Uint8Array;
}

/** The cached tensors of one set of samples. */
export interface CachedFeatures {
  /** Per exit asked for, in the order asked: `[samples, ...dims]`, row-major. */
  features: Float32Array[];
  /** Per-sample dims of each cached feature. */
  dims: number[][];
  /** The final exit's logits `[samples, classes]`, when asked for. */
  finalLogits: Float32Array | undefined;
  samples: number;
}

export interface CacheOptions {
  /** Early exits whose features to cache (indices into `exitTensors`). */
  exits: readonly number[];
  /** Cache the final exit's logits too (this pass then runs the whole backbone). */
  final: boolean;
  /** ORT intra-op threads. */
  threads?: number;
  /** Images per backbone run (default 500, as evaluation). */
  batchSize?: number;
  /** Called after each batch with the samples done over all sets. */
  onBatch?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

/**
 * Runs the backbone once over each set of samples and returns the tensors the listed exits read,
 * and the final exit's logits if asked. The model run is the multi-exit model cut at the last
 * tensor needed, so a pass for early exits only computes the backbone up to them.
 *
 * @example
 * const [train, val] = await cacheExitFeatures(multiExit, [trainData, valData], { exits: [0, 1, 2], final: true });
 * train.features[0]; // [samples, C, H, W] of exit 0's tensor
 */
export async function cacheExitFeatures(multiExit: MultiExitModel, sets: readonly HeadsOnlyData[], options: CacheOptions): Promise<CachedFeatures[]> {
  const input = modelInput(multiExit);
  const tensors = options.exits.map((k) => {
    const t = multiExit.exitTensors[k];
    if (t === undefined) throw new ExitwiseError('EXW_USAGE', `exit ${k} is not an early exit of the model (it has ${multiExit.exitTensors.length})`, { hint: 'Name early exits by index, from 0.' });
    return t;
  });
  const finalLogits = multiExit.exitLogits.at(-1)!;
  const outputs = [...tensors, ...(options.final ? [finalLogits] : [])];
  if (outputs.length === 0) return sets.map((s) => ({ features: [], dims: [], finalLogits: undefined, samples: s.indices.length }));
  const probe = extractSubgraph(multiExit.model, { inputs: [input], outputs }, { shapes: inferShapesStatic(multiExit.model).shapes });
  const session = await createSession(probe, options.threads === undefined ? {} : { threads: options.threads });
  const batchSize = options.batchSize ?? DEFAULT_EVAL_BATCH;
  const total = sets.reduce((n, s) => n + s.indices.length, 0);
  let done = 0;
  try {
    const results: CachedFeatures[] = [];
    for (const set of sets) {
      checkData(multiExit, set);
      const table = pixelTable(set.normalize);
      const samples = set.indices.length;
      const caches: (Float32Array | undefined)[] = outputs.map(() => undefined);
      const dims: number[][] = [];
      for (let start = 0; start < samples; start += batchSize) {
        if (options.signal?.aborted === true) throw interrupted('caching backbone features');
        const rows = set.indices.subarray(start, start + batchSize);
        const x = inputBatch(set, rows, table);
        const out = await session.run({ [input]: { type: 'float32', dims: [rows.length, ...set.inputDims], data: x } }, { outputs });
        outputs.forEach((name, i) => {
          const t = out[name]!;
          if (t.type !== 'float32') throw new ExitwiseError('EXW_USAGE', `exit tensor "${name}" is ${t.type}, not float32`, { hint: 'Exits read float tensors.' });
          const size = t.data.length / rows.length;
          if (caches[i] === undefined) {
            caches[i] = allocate(samples * size, name);
            dims[i] = t.dims.slice(1);
          }
          caches[i]!.set(t.data, start * size);
        });
        done += rows.length;
        options.onBatch?.(done, total);
      }
      results.push({
        features: caches.slice(0, tensors.length).map((c) => c ?? new Float32Array(0)),
        dims: dims.slice(0, tensors.length),
        finalLogits: options.final ? (caches.at(-1) ?? new Float32Array(0)) : undefined,
        samples,
      });
    }
    return results;
  } finally {
    await session.release();
  }
}

/** The model inputs of samples `rows` of `data`, `[rows, ...inputDims]`, through the pixel table of `data.normalize`. */
export function inputBatch(data: HeadsOnlyData, rows: Int32Array, table: Float32Array = pixelTable(data.normalize)): Float32Array {
  const size = data.inputDims.reduce((n, d) => n * d, 1);
  const x = new Float32Array(rows.length * size);
  rows.forEach((sample, r) => {
    const offset = sample * size;
    for (let j = 0; j < size; j++) x[r * size + j] = table[data.images[offset + j]!]!;
  });
  return x;
}

/**
 * Groups the early exits into backbone passes whose cached features (over `samples` images) fit
 * in `cacheBytes` together, last exit first: that is the order heads train in (a `'next'` teacher
 * is trained before its student), and the first pass, which also caches the final logits, runs
 * the whole backbone anyway. An exit too large for the budget gets a pass of its own.
 */
export function planCachePasses(multiExit: MultiExitModel, samples: number, cacheBytes: number): number[][] {
  const bytes = featureBytesPerSample(multiExit).map((b) => b * samples);
  const passes: number[][] = [];
  let current: number[] = [];
  let used = 0;
  for (let k = bytes.length - 1; k >= 0; k--) {
    if (current.length > 0 && used + bytes[k]! > cacheBytes) {
      passes.push(current);
      current = [];
      used = 0;
    }
    current.push(k);
    used += bytes[k]!;
  }
  if (current.length > 0) passes.push(current);
  return passes;
}

/** Bytes of one sample's cached feature per early exit (Infinity when its shape is not static). */
export function featureBytesPerSample(multiExit: MultiExitModel): number[] {
  const shapes = inferShapesStatic(multiExit.model).shapes;
  return multiExit.exitTensors.map((t) => {
    const s = shapes.get(t);
    if (s === undefined || s.dims === 'unknown') return Infinity;
    const per = s.dims.slice(1).reduce<number>((n, d) => (typeof d === 'number' ? n * d : Infinity), 1);
    return 4 * per;
  });
}

/** The one input the caller feeds (`EXW_USAGE` for models with several). */
export function modelInput(multiExit: MultiExitModel): string {
  const inputs = indexGraph(multiExit.model.graph!).inputs;
  if (inputs.length !== 1) {
    throw new ExitwiseError('EXW_USAGE', `the model takes ${inputs.length} inputs (${inputs.join(', ')}); exits-only training feeds one image input`, {
      hint: 'Use a classifier with a single image input.',
    });
  }
  return inputs[0]!;
}

/** Elements of one input; `EXW_USAGE` when the data does not fit the model's input. */
export function checkData(multiExit: MultiExitModel, data: HeadsOnlyData): number {
  const size = data.inputDims.reduce((n, d) => n * d, 1);
  const declared = multiExit.model.graph!.input.find((v) => v.name === modelInput(multiExit));
  const shape = declared === undefined ? undefined : shapeFromValueInfo(declared);
  if (shape !== undefined && shape.dims !== 'unknown') {
    const dims = shape.dims.slice(1);
    if (dims.length !== data.inputDims.length || dims.some((d, i) => typeof d === 'number' && d !== data.inputDims[i])) {
      throw new ExitwiseError('EXW_USAGE', `the model takes [${shape.dims.join(', ')}] inputs; the data has samples of [${data.inputDims.join(', ')}]`, {
        hint: 'Feed images of the size and layout the model was made for.',
      });
    }
  }
  const count = size === 0 ? 0 : data.images.length / size;
  if (!Number.isInteger(count)) throw new ExitwiseError('EXW_USAGE', `${data.images.length} pixels are not a whole number of [${data.inputDims.join(', ')}] images`, { hint: 'Pass whole images.' });
  const bad = data.indices.find((i) => !(i >= 0 && i < count));
  if (bad !== undefined) throw new ExitwiseError('EXW_USAGE', `sample index ${bad} is outside the ${count} images`, { hint: 'Indices point into the images array.' });
  if (data.labels !== undefined && data.labels.length < count) throw new ExitwiseError('EXW_USAGE', `${data.labels.length} labels for ${count} images`, { hint: 'Give one label per image, or none.' });
  return size;
}

function allocate(length: number, name: string): Float32Array {
  try {
    return new Float32Array(length);
  } catch (cause) {
    throw new ExitwiseError('EXW_USAGE', `cannot hold the cached features of "${name}" (${(length * 4 / 2 ** 30).toFixed(2)} GiB)`, {
      hint: 'Train on fewer images (--limit), or lower the cache budget so that exits are cached one pass at a time.', cause,
    });
  }
}
