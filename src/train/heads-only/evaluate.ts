/**
 * Every exit of a multi-exit model on a set of images: accuracy against labels when there are
 * any, and agreement with the final exit (the pseudo-labels personalisation trains on). The model
 * runs whole, in inference mode, in batches; no caching (these sets are small).
 */
import { pixelTable } from '../../data/normalize.ts';
import type { MultiExitModel } from '../../exits/attach.ts';
import { createSession } from '../../runtime/session.ts';
import { DEFAULT_EVAL_BATCH } from '../evaluate.ts';
import { checkData, type HeadsOnlyData, inputBatch, modelInput } from './features.ts';
import { pseudoLabels } from './heads-only.ts';
import { accuracy } from './train-head.ts';

/** One exit on a set of images. */
export interface ExitScore {
  /** Against the labels; null for unlabelled images. */
  accuracy: number | null;
  /** Fraction of images where it predicts what the final exit predicts (1 for the final exit). */
  agreement: number;
}

/**
 * Scores every exit of `multiExit` on `data`, the final exit last.
 *
 * @example
 * const scores = await scoreExits(multiExit, userVal, { threads: 2 });
 * scores.map((s) => s.agreement); // [0.81, 0.9, 0.97, 1]
 */
export async function scoreExits(multiExit: MultiExitModel, data: HeadsOnlyData, options: { threads?: number } = {}): Promise<ExitScore[]> {
  const logits = await exitLogitsOn(multiExit, data, options);
  const classes = logits.at(-1)!.length / Math.max(1, data.indices.length);
  const final = pseudoLabels(logits.at(-1)!, classes);
  const labels = data.labels === undefined ? undefined : Int32Array.from(data.indices, (i) => data.labels![i]!);
  return logits.map((l) => ({ accuracy: labels === undefined ? null : accuracy(l, labels), agreement: accuracy(l, final) }));
}

/** Every exit's logits `[samples, classes]` on `data`, in exit order. */
export async function exitLogitsOn(multiExit: MultiExitModel, data: HeadsOnlyData, options: { threads?: number } = {}): Promise<Float32Array[]> {
  const input = modelInput(multiExit);
  checkData(multiExit, data);
  const table = pixelTable(data.normalize);
  const samples = data.indices.length;
  const out: Float32Array[] = multiExit.exitLogits.map(() => new Float32Array(0));
  const session = await createSession(multiExit.model, options.threads === undefined ? {} : { threads: options.threads });
  try {
    for (let start = 0; start < samples; start += DEFAULT_EVAL_BATCH) {
      const rows = data.indices.subarray(start, start + DEFAULT_EVAL_BATCH);
      const x = inputBatch(data, rows, table);
      const result = await session.run({ [input]: { type: 'float32', dims: [rows.length, ...data.inputDims], data: x } }, { outputs: multiExit.exitLogits });
      multiExit.exitLogits.forEach((name, k) => {
        const t = result[name]!.data as Float32Array;
        if (out[k]!.length === 0) out[k] = new Float32Array(samples * (t.length / rows.length));
        out[k]!.set(t, start * (t.length / rows.length));
      });
    }
  } finally {
    await session.release();
  }
  return out;
}
