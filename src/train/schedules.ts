/**
 * Learning-rate schedules: `lr(step)`, a pure function of the optimizer step (iteration), so a
 * resumed run needs only the step count to continue the schedule exactly. Each kind may start
 * with a linear warmup. Every duration in a config counts from the start of training, in steps
 * or in epochs (`unit`); epochs become steps with the loader's batches per epoch, so the learning
 * rate still changes per step (a cosine decays smoothly within an epoch).
 *
 * Relation to PyTorch: warmup `w` with start factor `s` is `LinearLR(start_factor=s,
 * total_iters=w)` followed through `SequentialLR(milestones=[w])` by the decay, which PyTorch
 * counts from the switch: exitwise's cosine over `total` steps is `CosineAnnealingLR(T_max=total − w)`;
 * its step milestones `m` are `MultiStepLR` milestones `m − w` (the fixtures check both). Past
 * `total`, a cosine stays at `minLr` (PyTorch's would rise again).
 */
import { z } from 'zod';
import { ExitwiseError } from '../errors.ts';
import { type KindSchema, resolveKindConfig } from './config.ts';

/** Fields every schedule has. */
export interface ScheduleCommon {
  /** The base (peak) learning rate. */
  lr: number;
  /** What durations count: optimizer steps, or epochs (default 'step'). */
  unit?: 'step' | 'epoch';
  /** Length of the linear warmup from `lr · warmupStartFactor` up to `lr` (default 0: none). */
  warmup?: number;
  /** Fraction of `lr` the warmup starts from (default 1/3). */
  warmupStartFactor?: number;
}

/** The base learning rate throughout (after warmup). */
export interface ConstantScheduleConfig extends ScheduleCommon {
  kind: 'constant';
}

/** Multiplies the learning rate by `gamma` every `stepSize`, or at each of `milestones` (give one). */
export interface StepScheduleConfig extends ScheduleCommon {
  kind: 'step';
  /** Decay factor (default 0.1). */
  gamma?: number;
  stepSize?: number;
  /** Ascending times of the decays. */
  milestones?: number[];
}

/** Half a cosine from `lr` at the end of warmup down to `minLr` at `total` (SGDR without restarts). */
export interface CosineScheduleConfig extends ScheduleCommon {
  kind: 'cosine';
  /** When the learning rate reaches `minLr`: usually the length of training. */
  total: number;
  /** Default 0. */
  minLr?: number;
}

export type ScheduleConfig = ConstantScheduleConfig | StepScheduleConfig | CosineScheduleConfig;
export type ScheduleKind = ScheduleConfig['kind'];

/** A config with its defaults filled in (a step schedule keeps whichever of `stepSize`/`milestones` it has). */
export type ResolvedScheduleConfig =
  | Required<ConstantScheduleConfig>
  | (Required<Omit<StepScheduleConfig, 'stepSize' | 'milestones'>> & Pick<StepScheduleConfig, 'stepSize' | 'milestones'>)
  | Required<CosineScheduleConfig>;

export interface Schedule {
  readonly config: ResolvedScheduleConfig;
  /** The learning rate of optimizer step `step` (an integer ≥ 0, the optimizer's `stepCount`). */
  lr(step: number): number;
}

export interface ScheduleOptions {
  /** Batches per epoch; needed when the config's unit is 'epoch'. */
  stepsPerEpoch?: number;
}

/**
 * Defaults. `warmupStartFactor` 1/3 and `gamma` 0.1 are PyTorch's (LinearLR, StepLR), so that a
 * PyTorch recipe ports unchanged; no warmup unless asked, as in PyTorch.
 */
const DEFAULT_WARMUP_START_FACTOR = 1 / 3;
const DEFAULT_GAMMA = 0.1;

const duration = z.number().nonnegative();
const common = {
  lr: z.number().positive(),
  unit: z.enum(['step', 'epoch']).default('step'),
  warmup: duration.default(0),
  warmupStartFactor: z.number().min(0).max(1).default(DEFAULT_WARMUP_START_FACTOR),
};
/** Step counts must be whole; epochs may be fractional (half an epoch of warmup). */
const wholeSteps = (c: { unit: string }, ...values: (number | undefined)[]) => c.unit === 'epoch' || values.every((v) => v === undefined || Number.isInteger(v));
const WHOLE = { message: 'durations in steps must be integers' };

/** The decay part of a kind: the learning rate at step `t` ≥ warmup, given durations converted to steps. */
interface ScheduleDefinition<C> extends KindSchema<C> {
  decay(config: C, steps: (duration: number) => number): (t: number) => number;
}

const CONSTANT: ScheduleDefinition<Required<ConstantScheduleConfig>> = {
  schema: z.strictObject({ kind: z.literal('constant'), ...common }).refine((c) => wholeSteps(c, c.warmup), WHOLE),
  example: '{"kind":"constant","lr":0.1,"unit":"step","warmup":500,"warmupStartFactor":0.1}',
  decay: (c) => () => c.lr,
};

type ResolvedStep = Extract<ResolvedScheduleConfig, { kind: 'step' }>;
const STEP: ScheduleDefinition<ResolvedStep> = {
  schema: z.strictObject({
    kind: z.literal('step'), ...common,
    gamma: z.number().positive().default(DEFAULT_GAMMA),
    stepSize: z.number().positive().exactOptional(),
    milestones: z.array(duration).min(1).exactOptional(),
  }).refine((c) => (c.stepSize === undefined) !== (c.milestones === undefined), { message: 'give exactly one of stepSize and milestones' })
    .refine((c) => c.milestones === undefined || c.milestones.every((m, i) => i === 0 || m > c.milestones![i - 1]!), { message: 'milestones must ascend', path: ['milestones'] })
    .refine((c) => wholeSteps(c, c.warmup, c.stepSize, ...(c.milestones ?? [])), WHOLE),
  example: '{"kind":"step","lr":0.1,"unit":"epoch","gamma":0.1,"milestones":[30,60],"warmup":5}',
  decay(c, steps) {
    if (c.stepSize !== undefined) {
      const every = Math.max(1, steps(c.stepSize));
      return (t) => c.lr * c.gamma ** Math.floor(t / every);
    }
    const at = c.milestones!.map(steps);
    // As MultiStepLR: a milestone counts from its own step on.
    return (t) => c.lr * c.gamma ** at.filter((m) => m <= t).length;
  },
};

const COSINE: ScheduleDefinition<Required<CosineScheduleConfig>> = {
  schema: z.strictObject({ kind: z.literal('cosine'), ...common, total: z.number().positive(), minLr: z.number().min(0).default(0) })
    .refine((c) => c.total > c.warmup, { message: 'total must exceed warmup', path: ['total'] })
    .refine((c) => c.minLr <= c.lr, { message: 'minLr must not exceed lr', path: ['minLr'] })
    .refine((c) => wholeSteps(c, c.warmup, c.total), WHOLE),
  example: '{"kind":"cosine","lr":0.1,"unit":"epoch","total":30,"minLr":0,"warmup":1,"warmupStartFactor":0.1}',
  decay(c, steps) {
    const [start, end] = [steps(c.warmup), steps(c.total)];
    return (t) => {
      const progress = Math.min(1, (t - start) / Math.max(1, end - start));
      return c.minLr + ((c.lr - c.minLr) * (1 + Math.cos(Math.PI * progress))) / 2;
    };
  },
};

const SCHEDULES: { [K in ScheduleKind]: ScheduleDefinition<Extract<ResolvedScheduleConfig, { kind: K }>> } = {
  constant: CONSTANT,
  step: STEP,
  cosine: COSINE,
};

/** Schedule kinds, in registry order. */
export const SCHEDULE_KINDS = Object.keys(SCHEDULES) as ScheduleKind[];

/** Checks a JSON schedule config and fills in its defaults; `EXW_USAGE` naming the bad field. */
export function resolveScheduleConfig(config: unknown): ResolvedScheduleConfig {
  return resolveKindConfig<ResolvedScheduleConfig>('schedule', SCHEDULES, config);
}

/**
 * @example
 * const schedule = createSchedule({ kind: 'cosine', lr: 0.1, unit: 'epoch', total: 30, warmup: 1 }, { stepsPerEpoch: 422 });
 * optimizer.step(grads, schedule.lr(optimizer.stepCount));
 */
export function createSchedule(config: ScheduleConfig, options: ScheduleOptions = {}): Schedule {
  const resolved = resolveScheduleConfig(config);
  const perEpoch = options.stepsPerEpoch;
  if (resolved.unit === 'epoch' && (perEpoch === undefined || !Number.isInteger(perEpoch) || perEpoch < 1)) {
    throw new ExitwiseError('EXW_USAGE', `a schedule in epochs needs stepsPerEpoch, a positive integer; got ${perEpoch}`, {
      hint: 'Pass the loader\'s batchesPerEpoch, or give the schedule in steps.',
    });
  }
  const steps = resolved.unit === 'epoch' ? (d: number) => Math.round(d * perEpoch!) : (d: number) => d;
  const decay = (SCHEDULES[resolved.kind] as ScheduleDefinition<ResolvedScheduleConfig>).decay(resolved, steps);
  const warmup = steps(resolved.warmup);
  const start = resolved.warmupStartFactor;
  return {
    config: resolved,
    lr(step) {
      if (!Number.isSafeInteger(step) || step < 0) {
        throw new ExitwiseError('EXW_USAGE', `schedule step ${step} is not an integer ≥ 0`, { hint: 'Pass the optimizer\'s stepCount.' });
      }
      return step < warmup ? resolved.lr * (start + ((1 - start) * step) / warmup) : decay(step);
    },
  };
}
