/**
 * Evaluation of a classifier on held-out images: mean cross-entropy and accuracy, computed from
 * the logits of an inference session (weights as initializers, BatchNorm on running statistics),
 * in fixed order and without augmentation.
 */
import { BatchLoader } from '../data/loader.ts';
import type { Normalization } from '../data/normalize.ts';
import type { Session } from '../runtime/session.ts';

/**
 * Images per run: large batches amortise ORT's per-call cost; 500 × 1×28×28 inputs and the
 * activations of a small ResNet stay well under 100 MB.
 */
export const DEFAULT_EVAL_BATCH = 500;

export interface EvaluationData {
  images: Uint8Array;
  labels: Uint8Array;
  inputShape: readonly [number, number, number];
  /** The samples to evaluate (default: all). */
  indices?: Int32Array;
  normalize: Normalization;
}

export interface Evaluation {
  /** Mean cross-entropy of the softmax of the logits. */
  loss: number;
  /** Fraction of samples whose largest logit is the label's (ties go to the lower class). */
  accuracy: number;
  count: number;
}

/**
 * Runs `session` (input `input` → logits `[N, classes]` output `logits`) over the data.
 *
 * @example
 * const session = await createSession(exportInference(forward, trained));
 * const { accuracy } = await evaluateClassifier(session, { input: 'image', logits: 'logits' },
 *   { images, labels, inputShape: [1, 28, 28], indices: split.val, normalize: dataset.pixelStats });
 */
export async function evaluateClassifier(
  session: Session,
  names: { input: string; logits: string },
  data: EvaluationData,
  batchSize = DEFAULT_EVAL_BATCH,
): Promise<Evaluation> {
  return (await evaluateExits(session, { input: names.input, logits: [names.logits] }, data, batchSize))[0]!;
}

/** {@link evaluateClassifier} for several logits outputs of one model (the exits of a multi-exit model), in one pass. */
export async function evaluateExits(
  session: Session,
  names: { input: string; logits: readonly string[] },
  data: EvaluationData,
  batchSize = DEFAULT_EVAL_BATCH,
): Promise<Evaluation[]> {
  const loader = new BatchLoader({
    images: data.images, labels: data.labels, inputShape: data.inputShape, batchSize, shuffle: false,
    normalize: data.normalize, labelType: 'int32', ...(data.indices === undefined ? {} : { indices: data.indices }),
  });
  const lossSum = names.logits.map(() => 0);
  const correct = names.logits.map(() => 0);
  let count = 0;
  for await (const batch of loader.epoch(0)) {
    const out = await session.run({ [names.input]: { type: 'float32', dims: [batch.size, ...data.inputShape], data: batch.x } }, { outputs: [...names.logits] });
    names.logits.forEach((name, k) => {
      const scored = scoreLogits(out[name]!.data as Float32Array, batch.y as Int32Array);
      lossSum[k]! += scored.lossSum;
      correct[k]! += scored.correct;
    });
    count += batch.size;
  }
  return names.logits.map((_, k) => ({ loss: lossSum[k]! / count, accuracy: correct[k]! / count, count }));
}

/**
 * Summed cross-entropy and number of correct argmax predictions of `logits` (`[labels.length,
 * classes]`, row-major) against `labels`. Log-sum-exp is taken around the row maximum, so large
 * logits do not overflow.
 */
export function scoreLogits(logits: Float32Array, labels: ArrayLike<number | bigint>): { lossSum: number; correct: number } {
  const n = labels.length;
  const classes = logits.length / n;
  let [lossSum, correct] = [0, 0];
  for (let i = 0; i < n; i++) {
    const row = i * classes;
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[row + c]! > logits[row + best]!) best = c;
    const max = logits[row + best]!;
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += Math.exp(logits[row + c]! - max);
    const label = Number(labels[i]!);
    lossSum += Math.log(sum) + max - logits[row + label]!;
    if (best === label) correct++;
  }
  return { lossSum, correct };
}
