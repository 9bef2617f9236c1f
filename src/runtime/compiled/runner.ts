/**
 * Runs the compiled adaptive model (compile.ts): one ONNX Runtime call per batch, the `single`
 * graph for one input and the `batch` graph otherwise, then each input's answer read off the
 * logits of the exit that gave it (prediction and confidence as the policy computes them).
 */
import type { Bundle } from '../../bundle/io.ts';
import type { ExitPolicy } from '../../exits/policies/policy.ts';
import { RowReader } from '../../exits/softmax.ts';
import { openSegmentSession, type SegmentSession, type SegmentSessionOptions } from '../adaptive/calls.ts';
import type { LiveTensors } from '../adaptive/rows.ts';
import type { AdaptiveResult } from '../adaptive/types.ts';
import { compileAdaptive, type CompiledModel, type CompiledShape } from './compile.ts';

interface Opened {
  compiled: CompiledModel;
  session: SegmentSession;
}

export class CompiledRunner {
  readonly policy: ExitPolicy;
  readonly #shapes: Record<CompiledShape, Opened>;
  readonly #classes: number;
  /** FLOPs spent on an input that answers at exit k: stages 0..k and every head run on the way. */
  readonly #flopsAt: number[];
  /** Reused by every run (its loop has no await, so runs cannot interleave inside it). */
  readonly #reader: RowReader;

  private constructor(policy: ExitPolicy, shapes: Record<CompiledShape, Opened>, classes: number, flopsAt: number[]) {
    this.policy = policy;
    this.#shapes = shapes;
    this.#classes = classes;
    this.#flopsAt = flopsAt;
    this.#reader = new RowReader(classes);
  }

  /** Compiles `policy` for `bundle` (it must be compilable: `whyNotCompiled`) and opens both graphs. */
  static async open(bundle: Bundle, policy: ExitPolicy, options: SegmentSessionOptions): Promise<CompiledRunner> {
    const open = async (shape: CompiledShape): Promise<Opened> => {
      const compiled = compileAdaptive(bundle, policy, shape);
      return { compiled, session: await openSegmentSession(compiled.model, options) };
    };
    const single = await open('single');
    let batch: Opened;
    try {
      batch = await open('batch');
    } catch (error) {
      await single.session.release();
      throw error;
    }
    const { manifest } = bundle;
    let flops = 0;
    const flopsAt = manifest.stages.map((s, k) => {
      flops += s.flops + (single.compiled.exitsRun[k] ? manifest.exits[k]!.flops : 0);
      return flops;
    });
    return new CompiledRunner(policy, { single, batch }, manifest.task.classes.length, flopsAt);
  }

  /** Adaptive inference on `feeds` (the bundle input for `count` inputs, `count` ≥ 1). */
  async run(feeds: LiveTensors, count: number): Promise<AdaptiveResult> {
    const { compiled, session } = this.#shapes[count === 1 ? 'single' : 'batch'];
    const out = await session.run(feeds, [compiled.logits, compiled.exit]);
    const logits = out[compiled.logits]!.data as Float32Array;
    const exits = out[compiled.exit]!.data as BigInt64Array;
    const c = this.#classes;
    const result: AdaptiveResult = {
      prediction: new Int32Array(count), exitIndex: new Int32Array(count), confidence: new Float32Array(count),
      logits, flops: new Float64Array(count),
    };
    const reader = this.#reader;
    const { tempered } = this.#shapes.single.compiled;
    const temperatures = this.policy.temperatures;
    for (let i = 0; i < count; i++) {
      const k = Number(exits[i]);
      if (tempered[k]!) for (let j = i * c; j < i * c + c; j++) logits[j]! *= temperatures[k]!; // back to raw logits
      const row = reader.read(logits, i * c, this.policy.temperatures[k]);
      result.exitIndex[i] = k;
      result.prediction[i] = row.argmax;
      result.confidence[i] = row.pMax;
      result.flops[i] = this.#flopsAt[k]!;
    }
    return result;
  }

  async release(): Promise<void> {
    await Promise.all([this.#shapes.single.session.release(), this.#shapes.batch.session.release()]);
  }
}
