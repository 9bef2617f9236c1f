/** Shared by the attach and personalise CLI tests: running the CLI in-process, and a bundle's segments chained on ORT. */
import type { Bundle } from '../../src/bundle/io.ts';
import { createSession } from '../../src/runtime/session.ts';
import type { TensorLike } from '../../src/runtime/tensor.ts';

/** The PyTorch-trained MNIST classifier (scripts/fixtures/make-torch-classifier.py). */
export const FIXTURE = new URL('../fixtures/attach/torch-classifier.onnx', import.meta.url).pathname;
export const FIXTURE_REF = new URL('../fixtures/attach/torch-classifier.ref.json', import.meta.url).pathname;
/** The fixture's preprocessing, as flags. */
export const FIXTURE_PREPROCESSING = ['--mean', '0.1307', '--std', '0.3081'];

export { exitwiseInProcess as exitwise } from '../support/cli.ts';

/**
 * Every exit's logits on `x` (`[n, ...input]`), computed as a runtime would: stage 0 on the
 * input, exit 0 on its output, stage 1 on stage 0's outputs, and so on, one session per segment.
 */
export async function runSegments(bundle: Bundle, x: TensorLike): Promise<Float32Array[]> {
  const { manifest } = bundle;
  let feeds: Record<string, TensorLike> = { [manifest.input.name]: x };
  const logits: Float32Array[] = [];
  for (let k = 0; k < manifest.stages.length; k++) {
    const stage = await createSession(bundle.stages[k]!, { threads: 1 });
    const exit = await createSession(bundle.exits[k]!, { threads: 1 });
    try {
      feeds = await stage.run(feeds);
      const e = manifest.exits[k]!;
      logits.push((await exit.run({ [e.input]: feeds[e.input]! }))[e.output]!.data as Float32Array);
    } finally {
      await stage.release();
      await exit.release();
    }
  }
  return logits;
}
