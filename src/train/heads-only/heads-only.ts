/**
 * Exits-only training ("IC-only"): the early-exit heads of a multi-exit model learn on a frozen
 * backbone. The backbone runs once over the images (features cached, see features.ts); each head
 * then trains alone on its cached feature, last exit first, and the trained weights go back into
 * the multi-exit model. The backbone and the final exit are never changed.
 *
 * Memory: the cache of all exits together can be large (a 16×28×28 feature over 54k images is
 * 2.7 GB), so exits are grouped into backbone passes within `cacheBytes`, and a head's features
 * are dropped as soon as it is trained; the final logits ([samples, classes]) stay throughout.
 */
import { ExitwiseError } from '../../errors.ts';
import type { MultiExitModel } from '../../exits/attach.ts';
import { exportInference } from '../../autodiff/export.ts';
import { inferShapesStatic } from '../../onnx/shapes/index.ts';
import { type HeadsOnlyConfig, resolveHeadsOnlyConfig, type ResolvedHeadsOnlyConfig } from './config.ts';
import { type CachedFeatures, cacheExitFeatures, featureBytesPerSample, type HeadsOnlyData, planCachePasses } from './features.ts';
import { extractHead } from './head.ts';
import type { HeadsEpochRecord, HeadsOnlyEvent } from './progress.ts';
import { accuracy, batchesPerEpoch, headLogits, type HeadSamples, type RunProgress, trainHead } from './train-head.ts';

export interface HeadsOnlyOptions {
  /** ORT intra-op threads for the backbone passes and head training (default: ORT's choice). */
  threads?: number;
  onProgress?: (event: HeadsOnlyEvent) => void;
  /** Stops between batches with `EXW_INTERRUPTED`; nothing is returned or written. */
  signal?: AbortSignal;
}

/** What became of one early exit. */
export interface HeadsOnlyExit {
  exit: number;
  /** The backbone tensor it reads. */
  tensor: string;
  history: HeadsEpochRecord[];
  /** On the validation images after training: against their labels (null when unlabelled). */
  valAccuracy: number | null;
  /** Fraction of validation images where it predicts what the final exit predicts. */
  valAgreement: number;
}

export interface HeadsOnlyResult {
  /** The same model with the trained head weights: backbone and final exit unchanged. */
  multiExit: MultiExitModel;
  config: ResolvedHeadsOnlyConfig;
  /** The early exits, in exit order. */
  exits: HeadsOnlyExit[];
  /** The final exit's validation accuracy (null when unlabelled). */
  finalValAccuracy: number | null;
  trainSamples: number;
  valSamples: number;
  /** Backbone passes that cached features. */
  passes: number;
  /** Wall time of the feature caching, and of the whole run. */
  cacheSeconds: number;
  seconds: number;
}

/**
 * Trains the early-exit heads of `multiExit` on `data.train`, evaluating on `data.val`.
 *
 * @example
 * const multiExit = attachExits({ model }, placeExits(model, { by: 'count', count: 3 }), heads);
 * const result = await trainHeadsOnly(multiExit, { train: bundleSplitData(m, ds, 'train'), val: bundleSplitData(m, ds, 'val') });
 * saveMultiExitBundle('model.exitwise', result.multiExit, info);
 */
export async function trainHeadsOnly(multiExit: MultiExitModel, data: { train: HeadsOnlyData; val: HeadsOnlyData }, config: HeadsOnlyConfig = {}, options: HeadsOnlyOptions = {}): Promise<HeadsOnlyResult> {
  const started = performance.now();
  const resolved = resolveHeadsOnlyConfig(config, data.train.labels !== undefined);
  const exits = multiExit.exitTensors.length;
  if (exits === 0) throw new ExitwiseError('EXW_USAGE', 'the model has no early exits to train', { hint: 'Attach exits first (attachExits).' });
  const classes = classCount(multiExit);
  const [nTrain, nVal] = [data.train.indices.length, data.val.indices.length];
  const passes = planCachePasses(multiExit, nTrain + nVal, resolved.cacheBytes);
  const perSample = featureBytesPerSample(multiExit);
  const emit = options.onProgress ?? (() => {});
  const perEpoch = batchesPerEpoch(nTrain, resolved.batchSize);
  const progress: RunProgress = {
    exits, totalSteps: exits * resolved.epochs * perEpoch, stepsDone: 0, rate: NaN, started, emit,
    ...(options.signal === undefined ? {} : { signal: options.signal }), ...(options.threads === undefined ? {} : { threads: options.threads }),
  };
  const { distill } = resolved;
  emit({
    kind: 'start', exits, trainSamples: nTrain, valSamples: nVal, targets: resolved.targets,
    distill: distill === null ? null : `α ${distill.alpha}, T ${distill.temperature}, teacher ${distill.teacher}`,
    epochs: resolved.epochs, batchesPerEpoch: perEpoch, passes: passes.length, threads: options.threads,
    cacheBytes: Math.max(...passes.map((p) => p.reduce((n, k) => n + perSample[k]! * (nTrain + nVal), 0))),
  });
  try {
    let cacheSeconds = 0;
    let final: { train: Float32Array; val: Float32Array; trainTargets: Int32Array; valTargets: Int32Array; valPredictions: Int32Array } | undefined;
    const trained = new Map<number, { values: Map<string, Float32Array>; history: HeadsEpochRecord[]; valLogits: Float32Array }>();
    let nextTeacher: Float32Array | undefined; // the last trained head's logits on the training features ('next' teacher)
    for (const [p, pass] of passes.entries()) {
      const t0 = performance.now();
      const [train, val] = await cacheExitFeatures(multiExit, [data.train, data.val], {
        exits: pass, final: p === 0,
        onBatch: (done, total) => emit({ kind: 'cache', pass: p, passes: passes.length, exits: [...pass].sort((a, b) => a - b), done, total }),
        ...(options.signal === undefined ? {} : { signal: options.signal }), ...(options.threads === undefined ? {} : { threads: options.threads }),
      }) as [CachedFeatures, CachedFeatures];
      cacheSeconds += (performance.now() - t0) / 1000;
      if (p === 0) {
        const valPredictions = pseudoLabels(val.finalLogits!, classes);
        final = {
          train: train.finalLogits!, val: val.finalLogits!, valPredictions,
          trainTargets: resolved.targets === 'labels' ? labelsOf(data.train) : pseudoLabels(train.finalLogits!, classes),
          valTargets: resolved.targets === 'labels' && data.val.labels !== undefined ? labelsOf(data.val) : valPredictions,
        };
      }
      for (const [i, k] of pass.entries()) {
        const head = extractHead(multiExit, k);
        const teacher = distill === null ? undefined : distill.teacher === 'next' && nextTeacher !== undefined ? nextTeacher : final!.train;
        const trainSet: HeadSamples = { features: train.features[i]!, dims: train.dims[i]!, samples: nTrain, targets: final!.trainTargets, ...(teacher === undefined ? {} : { teacher }) };
        const valSet: HeadSamples = { features: val.features[i]!, dims: val.dims[i]!, samples: nVal, targets: final!.valTargets };
        const result = await trainHead(k, head, classes, trainSet, valSet, resolved, progress);
        if (distill?.teacher === 'next' && k > 0) nextTeacher = await headLogits(result.inference, head, trainSet, classes, options);
        trained.set(k, result);
        // Let the collector take this exit's features before the next head allocates.
        train.features[i] = new Float32Array(0);
        val.features[i] = new Float32Array(0);
      }
    }
    const values = new Map([...trained.values()].flatMap((t) => [...t.values]));
    const model = exportInference(multiExit.model, values);
    const valLabels = data.val.labels === undefined ? undefined : labelsOf(data.val);
    return {
      multiExit: { model, exitLogits: [...multiExit.exitLogits], exitTensors: [...multiExit.exitTensors] },
      config: resolved,
      exits: multiExit.exitTensors.map((tensor, k) => {
        const t = trained.get(k)!;
        return {
          exit: k, tensor, history: t.history,
          valAccuracy: valLabels === undefined ? null : accuracy(t.valLogits, valLabels),
          valAgreement: accuracy(t.valLogits, final!.valPredictions),
        };
      }),
      finalValAccuracy: valLabels === undefined ? null : accuracy(final!.val, valLabels),
      trainSamples: nTrain, valSamples: nVal, passes: passes.length, cacheSeconds, seconds: (performance.now() - started) / 1000,
    };
  } finally {
    emit({ kind: 'end' });
  }
}

/** The class of the largest logit of each row (ties to the lower class): the final exit's predictions as pseudo-labels. */
export function pseudoLabels(logits: Float32Array, classes: number): Int32Array {
  const rows = logits.length / classes;
  const out = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[i * classes + c]! > logits[i * classes + best]!) best = c;
    out[i] = best;
  }
  return out;
}

function labelsOf(data: HeadsOnlyData): Int32Array {
  return Int32Array.from(data.indices, (i) => data.labels![i]!);
}

function classCount(multiExit: MultiExitModel): number {
  const s = inferShapesStatic(multiExit.model).shapes.get(multiExit.exitLogits.at(-1)!);
  const classes = s === undefined || s.dims === 'unknown' ? undefined : s.dims[1];
  if (typeof classes !== 'number') throw new ExitwiseError('EXW_USAGE', 'the final exit\'s class count is unknown', { hint: 'The final logits must be [N, classes] with a known class count.' });
  return classes;
}
