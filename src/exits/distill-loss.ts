/**
 * Self-distillation: each early exit learns from the labels and from a teacher exit's softened
 * predictions (Hinton et al. 2015; Zhang et al., "Be Your Own Teacher", 2019):
 *
 *   loss = Σ_{k<K} w_k · [α·CE(z_k, y) + (1−α)·T²·KL(softmax(t_k/T) ‖ softmax(z_k/T))] + w_K · CE(z_K, y)
 *
 * with the teacher t_k the final exit's logits, or exit k+1's. KL is averaged over the batch
 * (PyTorch's `kl_div(…, reduction='batchmean')`); T² keeps the soft term's gradient on the scale
 * of the hard one as T changes. The teacher is detached: an Identity whose output the training
 * graph treats as a constant (`stopGradient`), so students never pull their teacher toward them.
 */
import { ExitwiseError } from '../errors.ts';
import type { MultiExitModel } from './attach.ts';
import type { JointLossModel } from './joint-loss.ts';
import { checkWeights, intAttribute, LossGraph } from './loss-graph.ts';

export type DistillTeacher = 'final' | 'next';

export interface DistillationOptions {
  /** Weight of the label term in each early exit's loss, in [0, 1] (1 = plain joint loss). */
  alpha: number;
  /** Softmax temperature of teacher and student in the KL term, > 0. */
  temperature: number;
  /** Which exit teaches exit k: the final exit, or exit k+1. */
  teacher: DistillTeacher;
  /** Per-exit weights w_k, final exit last (default 1 each). */
  weights?: readonly number[];
  /** Name of the int64 labels input `[N]` (default `labels`). */
  labels?: string;
}

export interface DistillationLossModel extends JointLossModel {
  /** Each early exit's KL term (unscaled), in exit order. */
  klLosses: string[];
  /** Pass to `buildTrainingGraph(model, { loss, trainable, stopGradient })`: the detached teacher logits. */
  stopGradient: string[];
}

/**
 * Adds the distillation loss. `EXW_BUILD` for α outside [0, 1], T ≤ 0, weights that do not match
 * the exits, or a model with a single exit (nothing to distil into).
 *
 * @example
 * const { model, loss, stopGradient } = addDistillationLoss(multiExit, { alpha: 0.5, temperature: 3, teacher: 'final' });
 * const training = buildTrainingGraph(model, { loss, trainable, stopGradient });
 */
export function addDistillationLoss(multiExit: MultiExitModel, options: DistillationOptions): DistillationLossModel {
  const { alpha, temperature, teacher } = options;
  const exits = multiExit.exitLogits;
  if (!(alpha >= 0 && alpha <= 1)) throw usage(`distillation alpha ${alpha} is not in [0, 1]`, 'alpha weighs the label loss against the teacher\'s; 0.5 is a common choice.');
  if (!(temperature > 0 && Number.isFinite(temperature))) throw usage(`distillation temperature ${temperature} is not a positive number`, 'Temperatures of 2–4 soften the teacher\'s predictions usefully.');
  if (exits.length < 2) throw usage('distillation needs at least one early exit besides the final one', 'Attach exits first (attachExits).');
  const weights = checkWeights(options.weights, exits.length);
  const labels = options.labels ?? 'labels';
  const g = new LossGraph(multiExit);
  const invT = g.scalar('loss/inverse_temperature', 1 / temperature);
  const classes = g.scalar('loss/classes', classCount(g, exits[0]!));
  const softened = new Map<string, string>();
  const detachedTeacher = (k: number): { logits: string; softened: string } => {
    const source = teacher === 'final' ? exits.length - 1 : k + 1;
    const logits = `loss/teacher${source}`;
    if (!softened.has(logits)) {
      g.op('Identity', [exits[source]!], logits);
      softened.set(logits, g.op('Mul', [logits, invT], `loss/teacher${source}/scaled`));
    }
    return { logits, softened: softened.get(logits)! };
  };
  const ceLosses = exits.map((logits, k) => g.crossEntropy(logits, labels, `loss/exit${k}`));
  const klLosses: string[] = [];
  const terms = exits.map((logits, k) => {
    const ce = ceLosses[k]!;
    if (k === exits.length - 1) return g.op('Mul', [ce, g.scalar(`loss/weight${k}`, weights[k]!)], `loss/weighted${k}`);
    const t = detachedTeacher(k);
    const p = `loss/kl${k}`;
    const logStudent = g.op('LogSoftmax', [g.op('Mul', [logits, invT], `${p}/student_scaled`)], `${p}/log_student`, [intAttribute('axis', 1)]);
    const logTeacher = g.op('LogSoftmax', [t.softened], `${p}/log_teacher`, [intAttribute('axis', 1)]);
    const pTeacher = g.op('Softmax', [t.softened], `${p}/p_teacher`, [intAttribute('axis', 1)]);
    const pointwise = g.op('Mul', [pTeacher, g.op('Sub', [logTeacher, logStudent], `${p}/log_ratio`)], `${p}/pointwise`);
    // batchmean = Σ / N = mean over N·C elements × C.
    const kl = g.op('Mul', [g.op('ReduceMean', [pointwise], `${p}/mean`, [intAttribute('keepdims', 0)]), classes], p);
    klLosses.push(kl);
    const hard = g.op('Mul', [ce, g.scalar(`loss/alpha${k}`, weights[k]! * alpha)], `loss/hard${k}`);
    const soft = g.op('Mul', [kl, g.scalar(`loss/soft_weight${k}`, weights[k]! * (1 - alpha) * temperature * temperature)], `loss/soft${k}`);
    return g.op('Add', [hard, soft], `loss/weighted${k}`);
  });
  const loss = g.sum(terms, 'loss');
  const model = g.finish(labels, [loss, ...ceLosses, ...klLosses]);
  return { model, loss, exitLosses: ceLosses, klLosses, labels, stopGradient: [...softened.keys()] };
}

function classCount(g: LossGraph, logits: string): number {
  const output = g.model.graph!.output.find((o) => o.name === logits);
  const dims = output?.type?.value.case === 'tensorType' ? output.type.value.value.shape?.dim : undefined;
  const last = dims?.at(-1)?.value;
  if (last?.case !== 'dimValue') throw usage(`the width of exit logits "${logits}" is unknown`, 'Exit logits must be [N, classes] with a known class count.');
  return Number(last.value);
}

function usage(message: string, hint: string): ExitwiseError {
  return new ExitwiseError('EXW_BUILD', message, { hint });
}
