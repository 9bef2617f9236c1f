/**
 * The baseline every speedup is measured against: the bundle's full model as one plain graph
 * (`exportSubnet` at the last exit: weights as initializers, no exits) in one ORT session, called
 * the way the adaptive runtime calls its segments (sessions.ts).
 */
import type { Bundle } from '../../bundle/io.ts';
import { exportSubnet } from '../../bundle/subnet.ts';
import { ExitwiseError } from '../../errors.ts';
import { argmaxRows } from '../../exits/outputs.ts';
import type { BundleManifest } from '../../schemas/bundle.ts';
import { type BenchSessionOptions, openBenchSession, type SegmentSession } from './sessions.ts';

export class PlainModel {
  private constructor(
    private readonly session: SegmentSession,
    private readonly names: { input: string; output: string },
    private readonly inputDims: number[],
    private readonly classes: number,
  ) {}

  static async open(bundle: Bundle, options: BenchSessionOptions = {}): Promise<PlainModel> {
    const { manifest } = bundle;
    const inputDims = fixedInputDims(manifest);
    const model = exportSubnet(bundle, manifest.exits.length - 1);
    // One session: ORT's defaults, spinning included, are its best configuration.
    const session = await openBenchSession(model, { ...options, spinning: true });
    return new PlainModel(session, { input: manifest.input.name, output: model.graph!.output[0]!.name }, inputDims, manifest.task.classes.length);
  }

  /** Predicted class of each of `count` inputs (`[count, …inputDims]`). */
  async run(input: Float32Array, count: number): Promise<Int32Array> {
    const { input: name, output } = this.names;
    const out = await this.session.run({ [name]: { type: 'float32', dims: [count, ...this.inputDims], data: input } }, [output]);
    return argmaxRows(out[output]!.data as Float32Array, this.classes);
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

/** Dims of one input of the bundle; `EXW_USAGE` when any but the batch dim is symbolic. */
export function fixedInputDims(manifest: BundleManifest): number[] {
  const { name, shape, dtype } = manifest.input;
  const dims = shape.slice(1);
  if (dtype !== 'float32' || !dims.every((d): d is number => typeof d === 'number')) {
    throw new ExitwiseError('EXW_USAGE', `the bundle input "${name}" is ${dtype} [${shape.join(', ')}]; benchmarks feed float32 inputs of a fixed per-sample shape`, {
      hint: 'Benchmark bundles that take images; re-export with concrete dims beyond the batch.',
    });
  }
  return dims;
}
