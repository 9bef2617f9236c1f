/**
 * Test bundles for the adaptive runtime: a tiny untrained ResNet with three early exits, cut and
 * saved like any bundle, fed real MNIST digits. Untrained classifiers answer nearly the same for
 * every input, so each classifier layer is re-scaled on the images (data-dependent init: inputs
 * standardized, shared offset removed): then answers and confidences vary from input to input
 * and from exit to exit, and tuned thresholds stop some inputs early.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { saveMultiExitBundle } from '../../../src/bundle/from-model.ts';
import { loadBundle, type Bundle } from '../../../src/bundle/io.ts';
import { attachExits, type MultiExitModel } from '../../../src/exits/attach.ts';
import { planHeads } from '../../../src/exits/heads/plan.ts';
import { exitOutputs, type ExitOutputs } from '../../../src/exits/outputs.ts';
import type { ExitPolicy, ThresholdPolicy } from '../../../src/exits/policies/policy.ts';
import { simulate } from '../../../src/exits/policies/simulate.ts';
import type { AdaptiveResult } from '../../../src/runtime/adaptive/types.ts';
import { placeExits } from '../../../src/exits/placement.ts';
import { buildBackbone } from '../../../src/nn/index.ts';
import { runModelWithIntermediates } from '../../../src/runtime/intermediates.ts';
import { createSession, type BackendKind } from '../../../src/runtime/session.ts';
import type { TensorLike } from '../../../src/runtime/tensor.ts';
import type { BundleManifestInput } from '../../../src/schemas/bundle.ts';
import { mnistSample } from '../../support/mnist.ts';

export const MEAN = 0.1307;
export const STD = 0.3081;
export const CLASSES = Array.from({ length: 10 }, (_, i) => `digit ${i}`);

export interface TestBundle {
  dir: string;
  bundle: Bundle;
  /** Preprocessed MNIST training images `[count, 1, 28, 28]` and their labels. */
  images: Float32Array;
  labels: Int32Array;
  count: number;
  /** Every exit's logits on every image: each segment run on the whole batch, one session per file. */
  reference: ExitOutputs;
}

/** `count` MNIST training images from `offset`, preprocessed as the test bundles expect. */
export function mnistInputs(count: number, offset = 0): { images: Float32Array; labels: Int32Array } {
  const { images, labels } = mnistSample(count, offset);
  return { images: Float32Array.from(images, (v) => (v - MEAN) / STD), labels: Int32Array.from(labels) };
}

/** Builds and saves the test bundle in `root/name.exitwise` and computes its reference outputs. */
export async function makeTestBundle(root: string, options: { name?: string; count?: number; temperatures?: number[]; policy?: BundleManifestInput['policy'] } = {}): Promise<TestBundle> {
  const count = options.count ?? 96;
  const backbone = buildBackbone({ kind: 'resnet', blocksPerStage: [1, 1, 1], width: 4, seed: 1 });
  const placements = placeExits(backbone.model, { by: 'count', count: 3 });
  const plan = planHeads({ model: backbone.model }, placements);
  const multi = attachExits({ model: backbone.model }, placements, plan.heads.map((h) => h.config), { seed: 3 });
  const { images, labels } = mnistInputs(count);
  const input = { type: 'float32', dims: [count, 1, 28, 28], data: images } as const;
  await standardizeClassifiers(multi, { image: input });
  const dir = join(root, `${options.name ?? 'tiny'}.exitwise`);
  saveMultiExitBundle(dir, multi, {
    classes: CLASSES,
    preprocessing: { scale: 1 / 255, mean: [MEAN], std: [STD], layout: 'NCHW' },
    temperatures: options.temperatures ?? [1.5, 1.2, 1.1, 1],
    ...(options.policy === undefined ? {} : { policy: options.policy }),
    provenance: { dataset: 'mnist', strategy: 'untrained' },
  });
  const bundle = loadBundle(dir);
  return { dir, bundle, images, labels, count, reference: await referenceOutputs(bundle, images, count) };
}

/** Every exit's logits: stage k on the whole batch, exit k on its output, one session per segment file. */
export async function referenceOutputs(bundle: Bundle, images: Float32Array, count: number, backend: BackendKind = 'node'): Promise<ExitOutputs> {
  const { manifest } = bundle;
  let live: Record<string, TensorLike> = { [manifest.input.name]: { type: 'float32', dims: [count, 1, 28, 28], data: images } };
  const logits: Float32Array[] = [];
  for (const [k, stage] of manifest.stages.entries()) {
    const s = await createSession(bundle.stages[k]!, { backend, threads: 1 });
    const e = await createSession(bundle.exits[k]!, { backend, threads: 1 });
    const out = await s.run(Object.fromEntries(stage.inputs.map((n) => [n, live[n]!])));
    const exit = manifest.exits[k]!;
    logits.push((await e.run({ [exit.input]: out[exit.input]! }))[exit.output]!.data as Float32Array);
    live = { ...live, ...out };
    await Promise.all([s.release(), e.release()]);
  }
  return exitOutputs(logits, manifest.task.classes.length);
}

/**
 * Re-scales every exit's final Gemm on these inputs: W' = s·W / σ(x), b' = b − W'·μ(x), so the
 * logits no longer share one large offset. `scale` sets how confident the exits are.
 */
async function standardizeClassifiers(multi: MultiExitModel, feeds: Record<string, TensorLike>, scale = 5): Promise<void> {
  const graph = multi.model.graph!;
  const gemms = multi.exitLogits.map((name) => graph.node.find((n) => n.output[0] === name && n.opType === 'Gemm')!);
  const features = await runModelWithIntermediates(multi.model, feeds, gemms.map((g) => g.input[0]!));
  const init = new Map(graph.initializer.map((t) => [t.name, t]));
  for (const gemm of gemms) {
    const x = features[gemm.input[0]!]!;
    const [n, d] = x.dims as [number, number];
    const data = x.data as Float32Array;
    const w = init.get(gemm.input[1]!)!;
    const b = init.get(gemm.input[2]!)!;
    const weights = new Float32Array(w.rawData.slice().buffer);
    const bias = new Float32Array(b.rawData.slice().buffer);
    const classes = bias.length;
    for (let j = 0; j < d; j++) {
      let mean = 0;
      let sq = 0;
      for (let i = 0; i < n; i++) mean += data[i * d + j]!;
      mean /= n;
      for (let i = 0; i < n; i++) sq += (data[i * d + j]! - mean) ** 2;
      const std = Math.sqrt(sq / n) + 1e-6;
      for (let c = 0; c < classes; c++) {
        const v = (scale * weights[c * d + j]!) / std / Math.sqrt(d);
        weights[c * d + j] = v;
        bias[c] = bias[c]! - v * mean;
      }
    }
    w.rawData = new Uint8Array(weights.buffer);
    b.rawData = new Uint8Array(bias.buffer);
  }
}

/**
 * The policy with thresholds stopping about `fraction` of the samples at each non-final exit,
 * each set midway across the widest gap between scores near that quantile, so no score sits on
 * a threshold (float rounding cannot flip a decision).
 */
export function tunedThresholds(policy: ThresholdPolicy, outputs: ExitOutputs, fraction: number): ExitPolicy {
  const scores = policy.scores(outputs);
  const thresholds = scores.slice(0, -1).map((s) => {
    const sorted = Float64Array.from(s).sort();
    const n = sorted.length;
    const target = Math.round(policy.direction === 'at-least' ? n * (1 - fraction) : n * fraction);
    let best = Math.min(Math.max(target, 1), n - 1);
    for (let t = Math.max(1, target - 6); t <= Math.min(n - 1, target + 6); t++) if (sorted[t]! - sorted[t - 1]! > sorted[best]! - sorted[best - 1]!) best = t;
    return (sorted[best]! + sorted[best - 1]!) / 2;
  });
  return policy.withThresholds(thresholds);
}

/** Asserts that the runtime's result is the simulation's, with the reference logits at each input's exit. */
export function assertSimulated(result: AdaptiveResult, policy: ExitPolicy, outputs: ExitOutputs, label: string): void {
  const sim = simulate(policy, outputs);
  assert.deepEqual(result.exitIndex, sim.exitIndex, `${label}: exit indices`);
  assert.deepEqual(result.prediction, sim.prediction, `${label}: predictions`);
  const c = outputs.classes;
  for (let i = 0; i < outputs.samples; i++) {
    assert.ok(Math.abs(result.confidence[i]! - sim.confidence[i]!) < 1e-6, `${label}: confidence of input ${i}`);
    const k = result.exitIndex[i]!;
    for (let j = 0; j < c; j++) assert.ok(Math.abs(result.logits[i * c + j]! - outputs.logits[k]![i * c + j]!) < 1e-5, `${label}: logits of input ${i}`);
  }
}
