/**
 * The naive baseline of batched early exit: every stage and exit head runs on the whole batch, an
 * input that has exited stays in it (its later results are thrown away), and the batch stops only
 * when every input has exited. It is what early exit costs without batch compaction; the adaptive
 * runtime must beat it on large batches, where a few hard inputs keep a padded batch running.
 */
import { feedsOf } from '../../analysis/segments.ts';
import type { Bundle } from '../../bundle/io.ts';
import type { ExitPolicy } from '../../exits/policies/policy.ts';
import type { BundleManifest } from '../../schemas/bundle.ts';
import type { TensorLike } from '../tensor.ts';
import { fixedInputDims } from './plain.ts';
import { type BenchSessionOptions, openBenchSession, type SegmentSession } from './sessions.ts';

/** Where each input stopped and what it predicted there, `[count]` each. */
export interface PaddedResult {
  prediction: Int32Array;
  exitIndex: Int32Array;
}

export class PaddedRuntime {
  private constructor(
    private readonly manifest: BundleManifest,
    private readonly sessions: { stages: SegmentSession[]; exits: SegmentSession[] },
    readonly policy: ExitPolicy,
    private readonly inputDims: number[],
  ) {}

  /** Opens one session per stage and per exit (same options for all). */
  static async open(bundle: Bundle, policy: ExitPolicy, options: BenchSessionOptions = {}): Promise<PaddedRuntime> {
    const inputDims = fixedInputDims(bundle.manifest);
    const opened: SegmentSession[] = [];
    const open = async (model: Bundle['stages'][number]) => {
      const session = await openBenchSession(model, options);
      opened.push(session);
      return session;
    };
    try {
      const stages: SegmentSession[] = [];
      for (const m of bundle.stages) stages.push(await open(m));
      const exits: SegmentSession[] = [];
      for (const m of bundle.exits) exits.push(await open(m));
      return new PaddedRuntime(bundle.manifest, { stages, exits }, policy, inputDims);
    } catch (error) {
      await Promise.all(opened.map((s) => s.release()));
      throw error;
    }
  }

  /** Runs `count` inputs (`[count, …inputDims]`) as one padded batch. */
  async run(input: Float32Array, count: number): Promise<PaddedResult> {
    const { manifest, sessions } = this;
    const tensors = new Map<string, TensorLike>([[manifest.input.name, { type: 'float32', dims: [count, ...this.inputDims], data: input }]]);
    const result: PaddedResult = { prediction: new Int32Array(count), exitIndex: new Int32Array(count).fill(-1) };
    // One state for the whole batch, never compacted: decisions are per input, so an input's
    // first exit is where compaction would have stopped it too.
    const state = this.policy.createState(count);
    let running = count;
    for (let k = 0; k < sessions.stages.length && running > 0; k++) {
      const stage = manifest.stages[k]!;
      const out = await sessions.stages[k]!.run(feedsOf(stage.inputs, tensors, `stage ${k}`), stage.outputs);
      for (const name of stage.outputs) tensors.set(name, out[name]!);
      const exit = manifest.exits[k]!;
      const logits = (await sessions.exits[k]!.run(feedsOf([exit.input], tensors, `exit ${k}`), [exit.output]))[exit.output]!;
      const decision = this.policy.decideBatch(k, logits.data as Float32Array, state);
      for (let i = 0; i < count; i++) {
        if (result.exitIndex[i] !== -1 || decision.exit[i] === 0) continue;
        result.exitIndex[i] = k;
        result.prediction[i] = decision.prediction[i]!;
        running--;
      }
    }
    return result;
  }

  async release(): Promise<void> {
    await Promise.all([...this.sessions.stages, ...this.sessions.exits].map((s) => s.release()));
  }
}
