/**
 * The adaptive runtime over a bundle's segments: batch compaction under an exit policy (`run`),
 * progressive answers under a deadline (`anytime`), and a compute budget spread over a batch
 * (`budgeted`), on onnxruntime-node or onnxruntime-web alike.
 */
import { loadBundle, type Bundle } from '../../bundle/io.ts';
import { ExitwiseError } from '../../errors.ts';
import { defaultThresholds } from '../../exits/policies/defaults.ts';
import type { ExitPolicy } from '../../exits/policies/policy.ts';
import { policyFromJson } from '../../exits/policies/registry.ts';
import type { BundleManifest } from '../../schemas/bundle.ts';
import { CompiledRunner, whyNotCompiled } from '../compiled/index.ts';
import type { BackendKind } from '../session.ts';
import { AnytimeRun } from './anytime.ts';
import { BudgetChooser, fixRates, type StepCosts } from './budget.ts';
import { ResultCollector } from './collect.ts';
import { canSkip, checkPolicy, PolicyChooser } from './policy-chooser.ts';
import type { LiveTensors } from './rows.ts';
import { SegmentSet } from './segments.ts';
import { manifestStepTimes, profileSteps, type ProfileOptions, type StepTimes } from './timing.ts';
import type { AdaptiveOpenOptions, AdaptiveResult, AnytimeOptions, Budget, BudgetedOptions, BudgetedResult } from './types.ts';
import { walk } from './walk.ts';

/**
 * Adaptive inference over a bundle (`NAME.exitwise/`): one ONNX Runtime session per stage and
 * exit (stage k and exit k fused into one when possible), inputs leaving at the first exit whose
 * policy is confident, batches compacted as they go.
 *
 * @example
 * const runtime = await AdaptiveRuntime.open('runs/fashion/model.exitwise', { threads: 1 });
 * const { prediction, exitIndex, flops } = await runtime.run(images, 64); // images: [64, 1, 28, 28] preprocessed
 * await runtime.release();
 */
export class AdaptiveRuntime {
  readonly manifest: BundleManifest;
  /** The policy of `run` and `anytime` unless a call gives its own. */
  readonly policy: ExitPolicy;
  readonly #segments: SegmentSet;
  readonly #inputDims: number[];
  /** Compiled models by policy JSON (undefined: compiling is off). */
  readonly #compiled: Map<string, Promise<CompiledRunner>> | undefined;
  /** The compiled model (or undefined: not compilable) of each policy object seen, so a run pays no lookup by JSON. */
  #compiledByPolicy = new WeakMap<ExitPolicy, Promise<CompiledRunner> | undefined>();
  readonly #bundle: Bundle;
  #stepTimes: StepTimes | undefined;

  private constructor(bundle: Bundle, segments: SegmentSet, policy: ExitPolicy, inputDims: number[], compile: boolean) {
    this.manifest = segments.manifest;
    this.policy = policy;
    this.#bundle = bundle;
    this.#segments = segments;
    this.#inputDims = inputDims;
    this.#compiled = compile ? new Map() : undefined;
  }

  /**
   * Opens a bundle folder (or a loaded {@link Bundle}). `EXW_BUNDLE` for a bundle that cannot be
   * read or chained, `EXW_POLICY` for a policy that does not fit it, `EXW_RUNTIME` when ONNX
   * Runtime refuses a segment.
   */
  static async open(source: string | Bundle, options: AdaptiveOpenOptions = {}): Promise<AdaptiveRuntime> {
    const bundle = typeof source === 'string' ? loadBundle(source) : source;
    const { manifest } = bundle;
    const inputDims = perInputDims(manifest);
    const policy = options.policy ?? bundlePolicy(manifest);
    checkPolicy(policy, manifest.stages.length);
    const { policy: _, compiled, ...segmentOptions } = options;
    const segments = await SegmentSet.open(bundle, segmentOptions);
    const runtime = new AdaptiveRuntime(bundle, segments, policy, inputDims, compiled ?? true);
    try {
      // Exits the default policy skips run their stage alone: open those sessions now, not on the first call.
      for (let k = 0; k < segments.levels; k++) if (canSkip(policy, k)) await segments.prepareStageOnly(k);
      await runtime.#compiledFor(policy); // compiled now, so the first run() is not the one paying for it
    } catch (error) {
      await runtime.release();
      throw error;
    }
    return runtime;
  }

  get backend(): BackendKind {
    return this.#segments.backend;
  }

  /**
   * Adaptive inference with batch compaction: stage k and exit k run on the inputs still going,
   * the policy stops some, the rest go on; the final exit decides for those left. Equal to
   * `simulate(policy, outputs)` on the logits of every exit. Exits the policy disables (`null`
   * threshold, memoryless kinds) are not run. `input` is preprocessed float32 `[count, ...dims]`.
   *
   * Policies the compiled model supports (max-softmax, entropy, margin; src/runtime/compiled)
   * run as one ONNX Runtime call per batch, decisions inside the graph in float32: an input whose
   * score is within float32 rounding of a threshold may leave one exit earlier or later than
   * `simulate` says. Open with `compiled: false` for the per-segment walk.
   */
  async run(input: Float32Array, count: number, options: { policy?: ExitPolicy } = {}): Promise<AdaptiveResult> {
    const policy = options.policy ?? this.policy;
    checkPolicy(policy, this.#segments.levels);
    const feeds = this.#feeds(input, count);
    const compiled = count > 0 ? await this.#compiledFor(policy) : undefined;
    if (compiled !== undefined) return compiled.run(feeds, count);
    const collector = new ResultCollector(count, this.#segments.classes);
    const chooser = new PolicyChooser(policy, count, { skipDisabled: true });
    for await (const step of walk(this.#segments, feeds, count, chooser)) collector.record(step, false);
    return collector.result;
  }

  /**
   * Anytime inference: a refinement after every exit for the inputs still running, until the
   * policy settles them all, `deadlineMs` passes or `signal` aborts (exit 0 is always computed, so
   * every input has an answer). Iterate the returned run, or await its `result()`.
   */
  anytime(input: Float32Array, count: number, options: AnytimeOptions = {}): AnytimeRun {
    const policy = options.policy ?? this.policy;
    checkPolicy(policy, this.#segments.levels);
    const feeds = this.#feeds(input, count);
    const chooser = new PolicyChooser(policy, count, { skipDisabled: false });
    return new AnytimeRun(walk(this.#segments, feeds, count, chooser), count, this.#segments.classes, options);
  }

  /**
   * Budgeted inference: `budget` (FLOPs, or milliseconds by step times) for the whole batch,
   * spent where it buys the most expected correct answers (budget.ts). Every input gets stage 0
   * and exit 0 (`EXW_USAGE` below that minimum); its answer is that of the deepest exit it
   * reached. The cost charged never exceeds the budget; for FLOPs it is exactly what was spent.
   */
  async budgeted(input: Float32Array, count: number, budget: Budget, options: BudgetedOptions = {}): Promise<BudgetedResult> {
    const started = performance.now();
    const feeds = this.#feeds(input, count);
    const { amount, unit } = checkBudget(budget);
    const costs = unit === 'FLOPs' ? this.#flopCosts() : await this.#timeCosts(options.stepTimes);
    const levels = this.#segments.levels;
    const chooser = new BudgetChooser(count, amount, costs, {
      temperatures: this.manifest.exits.map((e) => e.temperature),
      rates: fixRates(levels, options.exitAccuracy),
      classes: this.#segments.classes,
      unit,
    });
    const collector = new ResultCollector(count, this.#segments.classes);
    for await (const step of walk(this.#segments, feeds, count, chooser)) collector.record(step, false);
    const { result } = collector;
    return {
      ...result,
      spent: { flops: result.flops.reduce((s, f) => s + f, 0), ms: performance.now() - started },
      charged: chooser.charged,
      expectedCorrect: result.confidence.reduce((s, c) => s + c, 0),
    };
  }

  /**
   * Measures every step (stage k then exit k) at batch 1 and `batch` on zero inputs, and keeps
   * the result for time budgets. Store it in `manifest.profiles` to skip this next time.
   */
  async profile(options: ProfileOptions = {}): Promise<StepTimes> {
    const feeds = (m: number): LiveTensors => this.#feeds(new Float32Array(m * this.#inputDims.reduce((a, b) => a * b, 1)), m);
    this.#stepTimes = await profileSteps(this.#segments, feeds, { backend: this.backend, threads: this.#segments.threads }, options);
    return this.#stepTimes;
  }

  /**
   * Why `run` under `policy` (default: the runtime's) walks the segments instead of the compiled
   * model; undefined when it runs compiled.
   */
  notCompiledBecause(policy: ExitPolicy = this.policy): string | undefined {
    if (this.#compiled === undefined) return 'the runtime was opened with compiled: false';
    return whyNotCompiled(this.#bundle, policy);
  }

  /** Frees every session. */
  async release(): Promise<void> {
    const compiled = await Promise.allSettled(this.#compiled?.values() ?? []);
    this.#compiled?.clear();
    this.#compiledByPolicy = new WeakMap();
    await Promise.all(compiled.flatMap((c) => (c.status === 'fulfilled' ? [c.value.release()] : [])));
    await this.#segments.release();
  }

  /** The compiled model of `policy`, opened on first use; undefined when compiling is off or the policy does not compile. */
  #compiledFor(policy: ExitPolicy): Promise<CompiledRunner | undefined> | undefined {
    if (this.#compiledByPolicy.has(policy)) return this.#compiledByPolicy.get(policy);
    const runner = this.#compiledByJson(policy);
    this.#compiledByPolicy.set(policy, runner);
    runner?.catch(() => this.#compiledByPolicy.delete(policy));
    return runner;
  }

  #compiledByJson(policy: ExitPolicy): Promise<CompiledRunner> | undefined {
    const cache = this.#compiled;
    if (cache === undefined || this.notCompiledBecause(policy) !== undefined) return undefined;
    const key = JSON.stringify(policy.toJSON());
    let runner = cache.get(key);
    if (runner === undefined) {
      // One session for the whole network: ORT's defaults (idle threads spinning) are its best, as for the plain model.
      runner = CompiledRunner.open(this.#bundle, policy, { backend: this.backend, threads: this.#segments.threads, direct: this.#segments.directCalls, spinning: true });
      cache.set(key, runner);
      runner.catch(() => cache.delete(key)); // a failed open is retried on the next run, not cached
    }
    return runner;
  }

  #flopCosts(): StepCosts {
    const { stageFlops, exitFlops } = this.#segments;
    return { fixed: stageFlops.map(() => 0), perInput: stageFlops.map((f, k) => f + exitFlops[k]!) };
  }

  /** Step times: given, profiled, stored in the manifest, fitted on this runtime's calls, or profiled now. */
  async #timeCosts(given: StepTimes | undefined): Promise<StepCosts> {
    const levels = this.#segments.levels;
    const fitted = this.#segments.timers.map((t) => t.fit());
    const own = fitted.every((t) => t !== undefined) ? fitted : undefined;
    const steps = given?.steps ?? this.#stepTimes?.steps ?? manifestStepTimes(this.manifest, this.backend, this.#segments.threads)?.steps ?? own ?? (await this.profile()).steps;
    if (steps.length !== levels) {
      throw new ExitwiseError('EXW_USAGE', `step times for ${steps.length} steps, the bundle has ${levels}`, { hint: 'Profile this bundle with runtime.profile().' });
    }
    return { fixed: steps.map((s) => s.fixedMs), perInput: steps.map((s) => s.perInputMs) };
  }

  #feeds(input: Float32Array, count: number): LiveTensors {
    if (!(Number.isSafeInteger(count) && count >= 0)) {
      throw new ExitwiseError('EXW_USAGE', `count must be a non-negative integer, got ${count}`, { hint: 'Pass the number of inputs in the batch.' });
    }
    const size = this.#inputDims.reduce((a, b) => a * b, 1);
    if (!(input instanceof Float32Array) || input.length !== count * size) {
      const got = input instanceof Float32Array ? `${input.length} values` : `a ${(input as object)?.constructor?.name ?? typeof input}`;
      throw new ExitwiseError('EXW_USAGE', `the input must be a Float32Array of ${count} × [${this.#inputDims.join(', ')}] = ${count * size} values, got ${got}`, {
        hint: 'Pass preprocessed inputs, row-major [count, ...dims] as the bundle manifest gives them.',
      });
    }
    return { [this.manifest.input.name]: { type: 'float32', dims: [count, ...this.#inputDims], data: input } };
  }
}

/**
 * The policy a bundle asks for: `json` if given, else the manifest's `policy`, else max-softmax
 * with the default thresholds. `exits` and `temperatures` left out of the JSON are filled in from
 * the manifest (its calibration). `EXW_POLICY` for a policy that does not fit the bundle.
 *
 * @example
 * const policy = bundlePolicy(manifest, JSON.parse(readFileSync('policy.json', 'utf8')));
 */
export function bundlePolicy(manifest: BundleManifest, json?: unknown): ExitPolicy {
  const exits = manifest.exits.length;
  const source = json ?? manifest.policy ?? { kind: 'max-softmax', thresholds: defaultThresholds('max-softmax', exits) };
  if (typeof source !== 'object' || source === null || Array.isArray(source)) return policyFromJson(source, { exits });
  const filled = { exits, temperatures: manifest.exits.map((e) => e.temperature), ...source };
  return policyFromJson(filled, { exits });
}

/** Per-input dims of the bundle's input (`EXW_BUNDLE` for what the runtime cannot feed). */
function perInputDims(manifest: BundleManifest): number[] {
  const { input } = manifest;
  const dims = input.shape.slice(1);
  if (input.dtype !== 'float32' || !dims.every((d): d is number => typeof d === 'number')) {
    throw new ExitwiseError('EXW_BUNDLE', `the bundle's input "${input.name}" is ${input.dtype} [${input.shape.join(', ')}]; the adaptive runtime feeds float32 inputs with fixed dims after the batch`, {
      hint: 'Export the model with static per-input dims and a float32 input.',
    });
  }
  return dims;
}

function checkBudget(budget: Budget): { amount: number; unit: 'FLOPs' | 'ms' } {
  const given = [budget.flops, budget.ms].filter((b) => b !== undefined);
  if (given.length !== 1) throw new ExitwiseError('EXW_USAGE', 'a budget is either { flops } or { ms }', { hint: 'Give exactly one of the two.' });
  const amount = given[0]!;
  if (!(Number.isFinite(amount) && amount >= 0)) throw new ExitwiseError('EXW_USAGE', `a budget must be a finite non-negative number, got ${amount}`, { hint: 'Give the total for the whole batch.' });
  return { amount, unit: budget.flops !== undefined ? 'FLOPs' : 'ms' };
}
