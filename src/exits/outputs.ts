/**
 * The outputs of a multi-exit network on a set of samples: what exit policies, calibration and
 * threshold tuning compute over. Everything in src/exits/{policies,tuning} is pure computation on
 * these arrays; running the network to get them is the runtime's job.
 */
import { ExitwiseError } from '../errors.ts';

/** Logits of every exit for the same `samples` inputs, in exit order (the last is the final exit). */
export interface ExitOutputs {
  /** `logits[k]` is exit k's output, row-major `[samples, classes]`. */
  readonly logits: readonly Float32Array[];
  readonly samples: number;
  readonly classes: number;
}

/**
 * Checks and wraps per-exit logits. Throws EXW_POLICY when there are no exits, fewer than two
 * classes, arrays of different sizes, or a NaN/±Infinity anywhere (a NaN logit would make every
 * comparison false and silently keep a sample running).
 *
 * @example
 * const outputs = exitOutputs([new Float32Array([2, 0]), new Float32Array([0, 3])], 2); // 1 sample, 2 exits
 */
export function exitOutputs(logits: readonly Float32Array[], classes: number): ExitOutputs {
  if (logits.length === 0) throw policyError('no exits given', 'pass one logits array per exit, final exit last');
  if (!Number.isInteger(classes) || classes < 2) {
    throw policyError(`classes must be an integer ≥ 2, got ${classes}`, 'exit policies compare class probabilities');
  }
  const size = logits[0]!.length;
  if (size % classes !== 0) {
    throw policyError(`exit 0 has ${size} values, not a multiple of ${classes} classes`, 'logits are row-major [samples, classes]');
  }
  logits.forEach((l, k) => {
    if (l.length !== size) {
      throw policyError(`exit ${k} has ${l.length} values but exit 0 has ${size}`, 'every exit must see the same samples');
    }
    const bad = l.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) {
      throw policyError(
        `exit ${k} has a non-finite logit (${l[bad]}) at sample ${Math.floor(bad / classes)}, class ${bad % classes}`,
        'check the model for overflow; policies cannot rank NaN or infinite scores',
      );
    }
  });
  return { logits, samples: size / classes, classes };
}

/**
 * Wraps per-exit class probabilities (rows summing to 1) as logits `log p`: softmax(log p) = p,
 * so every policy and temperature works on them unchanged. Zeros become log(1e-45) ≈ −103.
 */
export function fromProbabilities(probabilities: readonly Float32Array[], classes: number): ExitOutputs {
  const logits = probabilities.map((p, k) =>
    Float32Array.from(p, (v, i) => {
      if (!(v >= 0 && v <= 1.000001)) {
        throw policyError(`exit ${k} has probability ${v} at index ${i}`, 'probabilities must lie in [0, 1]');
      }
      return Math.log(Math.max(v, 1e-45));
    }),
  );
  return exitOutputs(logits, classes);
}

/** Checks labels against outputs: one integer label in [0, classes) per sample. */
export function checkLabels(outputs: ExitOutputs, labels: Int32Array): void {
  if (labels.length !== outputs.samples) {
    throw policyError(`${labels.length} labels for ${outputs.samples} samples`, 'pass one label per sample, in the same order');
  }
  const bad = labels.findIndex((y) => y < 0 || y >= outputs.classes);
  if (bad >= 0) {
    throw policyError(`label ${labels[bad]} at sample ${bad} is outside [0, ${outputs.classes})`, 'labels are class indices');
  }
}

/** The rows `indices` of every exit (e.g. one part of a validation split). */
export function selectSamples(outputs: ExitOutputs, indices: ArrayLike<number>): ExitOutputs {
  const c = outputs.classes;
  const logits = outputs.logits.map((l) => {
    const out = new Float32Array(indices.length * c);
    for (let i = 0; i < indices.length; i++) out.set(l.subarray(indices[i]! * c, indices[i]! * c + c), i * c);
    return out;
  });
  return { logits, samples: indices.length, classes: c };
}

/** Row-wise argmax of `[rows, classes]` scores; ties go to the lowest class (like PyTorch). */
export function argmaxRows(values: Float32Array, classes: number): Int32Array {
  const out = new Int32Array(values.length / classes);
  for (let i = 0; i < out.length; i++) out[i] = argmaxRow(values, i * classes, classes);
  return out;
}

/** Argmax of `values[offset .. offset + classes)`; ties go to the lowest class. */
export function argmaxRow(values: ArrayLike<number>, offset: number, classes: number): number {
  let best = 0;
  for (let j = 1; j < classes; j++) if (values[offset + j]! > values[offset + best]!) best = j;
  return best;
}

export function policyError(message: string, hint: string): ExitwiseError {
  return new ExitwiseError('EXW_POLICY', message, { hint });
}
