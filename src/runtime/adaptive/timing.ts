/**
 * How long each step (stage k then exit k) takes on m inputs, modelled as `fixedMs + perInputMs·m`:
 * a per-call cost (ONNX Runtime call, thread wake-up) plus a per-input cost. Time budgets are
 * planned with this model. It comes, in order of preference, from the caller, from a profile
 * stored in the manifest for this backend, from this runtime's own calls, or from `profile()`.
 */
import { z } from 'zod';
import type { BundleManifest } from '../../schemas/bundle.ts';
import type { BackendKind } from '../session.ts';
import type { LiveTensors } from './rows.ts';
import type { Stepper } from './walk.ts';

/** One step's time model. */
export const StepTimeSchema = z.strictObject({
  fixedMs: z.number().nonnegative(),
  perInputMs: z.number().nonnegative(),
});

/**
 * Step times of one bundle on one device, as stored in `manifest.profiles[name]` (any name): the
 * runtime uses the first profile whose `kind`, `backend` and step count match (and `threads`,
 * when the runtime was opened with a thread count).
 */
export const StepTimesSchema = z.strictObject({
  kind: z.literal('step-times'),
  backend: z.enum(['node', 'web']),
  /** Intra-op threads of the sessions measured (null: ONNX Runtime's default). */
  threads: z.number().int().positive().nullable(),
  /** `steps[k]`: stage k followed by exit k. */
  steps: z.array(StepTimeSchema).min(1),
});

export type StepTime = z.infer<typeof StepTimeSchema>;
export type StepTimes = z.infer<typeof StepTimesSchema>;

/** Fits `fixedMs + perInputMs·m` to one step's calls by least squares (running sums, O(1) per call). */
export class StepTimer {
  #n = 0;
  #m = 0;
  #t = 0;
  #mm = 0;
  #mt = 0;
  readonly #batches = new Set<number>();

  record(m: number, ms: number): void {
    this.#n++;
    this.#m += m;
    this.#t += ms;
    this.#mm += m * m;
    this.#mt += m * ms;
    this.#batches.add(m);
  }

  /** The fitted model, or undefined until calls of two different batch sizes were seen. */
  fit(): StepTime | undefined {
    if (this.#batches.size < 2) return undefined;
    const n = this.#n;
    const slope = (n * this.#mt - this.#m * this.#t) / (n * this.#mm - this.#m * this.#m);
    const perInputMs = Math.max(0, slope);
    const fixedMs = Math.max(0, (this.#t - perInputMs * this.#m) / n);
    return { fixedMs, perInputMs };
  }
}

/** The first profile of the manifest that fits this runtime, if any. */
export function manifestStepTimes(manifest: BundleManifest, backend: BackendKind, threads: number | undefined): StepTimes | undefined {
  for (const profile of Object.values(manifest.profiles ?? {})) {
    const parsed = StepTimesSchema.safeParse(profile);
    if (!parsed.success) continue;
    const p = parsed.data;
    if (p.backend === backend && p.steps.length === manifest.stages.length && (threads === undefined || p.threads === threads)) return p;
  }
  return undefined;
}

/** The median of a few timings: robust to one slow call on a shared machine. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Options of {@link profileSteps}. */
export interface ProfileOptions {
  /** The larger of the two batch sizes measured (the other is 1). Default 16: enough rows for the per-input slope to dominate the call cost. */
  batch?: number;
  /** Calls per step and batch size; the median counts. Default 5. */
  repeats?: number;
}

/**
 * Measures every step at batch 1 and at `batch`, and draws the line through the two medians.
 * `feeds(m)` gives stage 0's inputs for m inputs; later steps run on what earlier ones produced.
 */
export async function profileSteps(
  stepper: Pick<Stepper, 'levels' | 'step'>,
  feeds: (m: number) => LiveTensors,
  where: { backend: BackendKind; threads: number | undefined },
  options: ProfileOptions = {},
): Promise<StepTimes> {
  const batch = Math.max(2, options.batch ?? 16);
  const repeats = Math.max(1, options.repeats ?? 5);
  const at = async (m: number): Promise<number[]> => {
    let live = feeds(m);
    const times: number[] = [];
    for (let k = 0; k < stepper.levels; k++) {
      const samples: number[] = [];
      let next = live;
      for (let r = 0; r < repeats; r++) {
        const started = performance.now();
        next = (await stepper.step(k, live, true)).live;
        samples.push(performance.now() - started);
      }
      times.push(median(samples));
      live = next;
    }
    return times;
  };
  const one = await at(1);
  const many = await at(batch);
  const steps = one.map((t1, k) => {
    const perInputMs = Math.max(0, (many[k]! - t1) / (batch - 1));
    return { fixedMs: Math.max(0, t1 - perInputMs), perInputMs };
  });
  return { kind: 'step-times', backend: where.backend, threads: where.threads ?? null, steps };
}
