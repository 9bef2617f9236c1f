/**
 * Small bundles for the subnet, export and bench tests, and an independent way to run them: every
 * segment on its own ORT session, tensors passed on by name.
 */
import type { Bundle } from '../../src/bundle/io.ts';
import { makeManifest } from '../../src/bundle/manifest.ts';
import { toBundleSegments } from '../../src/bundle/segments.ts';
import { preprocessingOf } from '../../src/bundle/data.ts';
import { attachExits } from '../../src/exits/attach.ts';
import { planHeads } from '../../src/exits/heads/plan.ts';
import { placeExits } from '../../src/exits/placement.ts';
import { buildBackbone } from '../../src/nn/index.ts';
import type { ModelProto } from '../../src/onnx/proto/onnx_pb.ts';
import type { TensorLike } from '../../src/runtime/tensor.ts';
import { mnist } from '../../src/data/datasets/mnist.ts';
import { run } from '../exits/support.ts';

/** A 3-exit bundle of an untrained narrow ResNet with MNIST's preprocessing, and its backbone. */
export function tinyBundle(policy?: Bundle['manifest']['policy']): { bundle: Bundle; backbone: ModelProto } {
  const { model } = buildBackbone({ kind: 'resnet', blocksPerStage: [1, 1, 1], width: 8 });
  const placements = placeExits(model, { by: 'count', count: 2 });
  const multi = attachExits({ model }, placements, planHeads({ model }, placements).heads.map((h) => h.config));
  const segments = toBundleSegments(multi);
  const manifest = makeManifest(segments, {
    classes: mnist.classes,
    preprocessing: preprocessingOf(mnist.pixelStats),
    ...(policy === undefined ? {} : { policy }),
    provenance: { dataset: 'mnist', strategy: 'untrained', date: new Date('2025-01-01T00:00:00Z') },
  });
  return { bundle: { manifest, stages: segments.stages.map((s) => s.model), exits: segments.exits.map((e) => e.model) }, backbone: model };
}

/**
 * Every exit's logits, running stage 0, exit 0, stage 1, exit 1, … each on a fresh session and
 * feeding each segment the tensors it names from what earlier segments returned.
 */
export async function runSegments(bundle: Bundle, input: TensorLike): Promise<TensorLike[]> {
  const { manifest } = bundle;
  const tensors = new Map<string, TensorLike>([[manifest.input.name, input]]);
  const feeds = (names: readonly string[]) => Object.fromEntries(names.map((n) => [n, tensors.get(n)!]));
  const logits: TensorLike[] = [];
  for (const [k, stage] of manifest.stages.entries()) {
    for (const [name, t] of Object.entries(await run(bundle.stages[k]!, feeds(stage.inputs)))) tensors.set(name, t);
    const exit = manifest.exits[k]!;
    logits.push((await run(bundle.exits[k]!, feeds([exit.input])))[exit.output]!);
  }
  return logits;
}

export { exitwiseInProcess } from '../support/cli.ts';
