/**
 * A bundle's segments as ONNX Runtime sessions, one {@link Stepper} step per stage: stage k and
 * exit k fused into one session where possible (fuse.ts), the stage alone for steps whose exit is
 * skipped (opened when first needed), and one session per file when fusing is off or impossible.
 * Every full step's duration is recorded, so time budgets can use what this machine measured.
 */
import { loadBundle, type Bundle } from '../../bundle/io.ts';
import { ExitwiseError } from '../../errors.ts';
import type { ModelProto } from '../../onnx/proto/onnx_pb.ts';
import type { BundleExit, BundleManifest, BundleStage } from '../../schemas/bundle.ts';
import type { BackendKind } from '../session.ts';
import { openSegmentSession, type SegmentSession, type SegmentSessionOptions } from './calls.ts';
import { fuseStageExit } from './fuse.ts';
import type { LiveTensors } from './rows.ts';
import { StepTimer } from './timing.ts';
import type { Stepper } from './walk.ts';

export interface SegmentSetOptions {
  backend?: BackendKind;
  threads?: number;
  fuse?: boolean;
  directCalls?: boolean;
}

/** Sessions and bookkeeping of step k. */
interface Level {
  stage: BundleStage;
  exit: BundleExit;
  stageModel: ModelProto;
  /** Stage k and exit k in one session (undefined: not fused). */
  fused: SegmentSession | undefined;
  /** Stage k alone: opened up front when not fused, else on the first step that skips exit k. */
  stageOnly: Promise<SegmentSession> | undefined;
  /** Exit k alone (when not fused). */
  exitOnly: SegmentSession | undefined;
  /** Outputs of stage k that later stages read. */
  carried: string[];
  /** Live tensors (from before stage k) that later stages still read. */
  kept: string[];
}

export class SegmentSet implements Stepper {
  readonly manifest: BundleManifest;
  readonly backend: BackendKind;
  readonly threads: number | undefined;
  /** Whether sessions call onnxruntime-node's binding directly (calls.ts). */
  readonly directCalls: boolean;
  readonly levels: number;
  readonly classes: number;
  readonly stageFlops: readonly number[];
  readonly exitFlops: readonly number[];
  /** Per-step timings of this runtime's own calls (stage k + exit k on m inputs). */
  readonly timers: readonly StepTimer[];
  readonly #levels: Level[];
  readonly #sessionOptions: SegmentSessionOptions;

  private constructor(manifest: BundleManifest, levels: Level[], options: SegmentSetOptions, sessionOptions: SegmentSessionOptions) {
    this.manifest = manifest;
    this.backend = options.backend ?? 'node';
    this.threads = options.threads;
    this.directCalls = sessionOptions.direct;
    this.levels = levels.length;
    this.classes = manifest.task.classes.length;
    this.stageFlops = manifest.stages.map((s) => s.flops);
    this.exitFlops = manifest.exits.map((e) => e.flops);
    this.timers = levels.map(() => new StepTimer());
    this.#levels = levels;
    this.#sessionOptions = sessionOptions;
  }

  /** Opens every session the bundle needs (`EXW_BUNDLE` for a bundle the runtime cannot chain). */
  static async open(source: string | Bundle, options: SegmentSetOptions = {}): Promise<SegmentSet> {
    const bundle = typeof source === 'string' ? loadBundle(source) : source;
    const { manifest } = bundle;
    const plan = planTensors(manifest);
    const sessionOptions: SegmentSessionOptions = { backend: options.backend ?? 'node', threads: options.threads, direct: options.directCalls ?? true };
    const levels: Level[] = [];
    try {
      for (const [k, stage] of manifest.stages.entries()) {
        const exit = manifest.exits[k]!;
        const fusedModel = options.fuse === false ? undefined : fuseStageExit(bundle.stages[k]!, bundle.exits[k]!);
        const level: Level = { stage, exit, stageModel: bundle.stages[k]!, fused: undefined, stageOnly: undefined, exitOnly: undefined, ...plan[k]! };
        levels.push(level);
        if (fusedModel !== undefined) {
          level.fused = await openSegmentSession(fusedModel, sessionOptions);
        } else {
          level.stageOnly = openSegmentSession(bundle.stages[k]!, sessionOptions);
          await level.stageOnly;
          level.exitOnly = await openSegmentSession(bundle.exits[k]!, sessionOptions);
        }
      }
    } catch (error) {
      await releaseLevels(levels);
      throw error;
    }
    return new SegmentSet(manifest, levels, options, sessionOptions);
  }

  async step(k: number, live: LiveTensors, withExit: boolean): Promise<{ live: LiveTensors; logits: Float32Array | undefined }> {
    const level = this.#levels[k]!;
    const feeds: LiveTensors = {};
    for (const name of level.stage.inputs) feeds[name] = live[name]!;
    const rows = feeds[level.stage.inputs[0]!]!.dims[0]!;
    const started = performance.now();
    let outputs: LiveTensors;
    let logits: Float32Array | undefined;
    if (withExit && level.fused !== undefined) {
      outputs = await level.fused.run(feeds, [...level.carried, level.exit.output]);
      logits = outputs[level.exit.output]!.data as Float32Array;
    } else {
      const stage = await this.#stageSession(level);
      const fetch = withExit && !level.carried.includes(level.exit.input) ? [...level.carried, level.exit.input] : level.carried;
      outputs = await stage.run(feeds, fetch);
      if (withExit) logits = (await level.exitOnly!.run({ [level.exit.input]: outputs[level.exit.input]! }, [level.exit.output]))[level.exit.output]!.data as Float32Array;
    }
    if (withExit) this.timers[k]!.record(rows, performance.now() - started);
    const next: LiveTensors = {};
    for (const name of level.kept) next[name] = live[name]!;
    for (const name of level.carried) next[name] = outputs[name]!;
    return { live: next, logits };
  }

  /** Opens stage k's session alone ahead of the first step that skips exit k. */
  async prepareStageOnly(k: number): Promise<void> {
    await this.#stageSession(this.#levels[k]!);
  }

  /** Frees every session (after runs in flight finish). */
  async release(): Promise<void> {
    await releaseLevels(this.#levels);
  }

  #stageSession(level: Level): Promise<SegmentSession> {
    level.stageOnly ??= openSegmentSession(level.stageModel, this.#sessionOptions);
    return level.stageOnly;
  }
}

async function releaseLevels(levels: readonly Level[]): Promise<void> {
  const sessions = levels.flatMap((l) => [l.fused, l.exitOnly]).filter((s) => s !== undefined);
  const lazy = levels.map((l) => l.stageOnly).filter((s) => s !== undefined);
  const all = [...sessions, ...(await Promise.allSettled(lazy)).flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []))];
  await Promise.all(all.map((s) => s.release()));
}

/**
 * Which tensors each step hands on: stage k reads its inputs from the bundle input or from
 * earlier stages' outputs (skip connections carried across cuts); anything no later stage reads
 * is dropped as soon as possible, so compaction never copies dead tensors.
 */
function planTensors(m: BundleManifest): { carried: string[]; kept: string[] }[] {
  const available = new Set([m.input.name]);
  m.stages.forEach((s, k) => {
    const missing = s.inputs.filter((name) => !available.has(name));
    if (missing.length > 0) {
      throw new ExitwiseError('EXW_BUNDLE', `stage ${k} reads ${missing.map((n) => `"${n}"`).join(', ')}, which neither the bundle input nor an earlier stage provides`, {
        hint: 'The adaptive runtime feeds stage 0 the bundle input only; re-export the bundle so that every stage reads the bundle input or earlier stages.',
      });
    }
    for (const name of s.outputs) available.add(name);
  });
  return m.stages.map((s, k) => {
    const later = new Set(m.stages.slice(k + 1).flatMap((t) => t.inputs));
    const before = [m.input.name, ...m.stages.slice(0, k).flatMap((t) => t.outputs)];
    return { carried: s.outputs.filter((name) => later.has(name)), kept: before.filter((name) => later.has(name) && !s.outputs.includes(name)) };
  });
}
