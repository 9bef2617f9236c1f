/** Fixtures of the analysis tests: tiny untrained bundles saved in a temp folder, and a manifest for the recorded Fashion-MNIST exit logits. */
import { preprocessingOf } from '../../src/bundle/data.ts';
import { saveMultiExitBundle } from '../../src/bundle/from-model.ts';
import { parseManifest } from '../../src/bundle/manifest.ts';
import { attachExits, type MultiExitModel } from '../../src/exits/attach.ts';
import { planHeads } from '../../src/exits/heads/plan.ts';
import { placeExits } from '../../src/exits/placement.ts';
import { buildBackbone, type BackboneSpec } from '../../src/nn/index.ts';
import type { BundleManifest } from '../../src/schemas/bundle.ts';

/** MNIST statistics: any normalization works for an untrained net; these are the usual. */
const MNIST_STATS = { mean: 0.1307, std: 0.3081 };

/**
 * An untrained backbone with `exits` early exits saved as a bundle at `dir`. The recorded split
 * limits training images to 2000 (val = 400), so tools reading val stay fast.
 */
export function tinyBundle(dir: string, options: { spec?: BackboneSpec; exits?: number } = {}): { multi: MultiExitModel; manifest: BundleManifest } {
  const spec = options.spec ?? { kind: 'resnet', blocksPerStage: [1, 1, 1], width: 8 };
  const backbone = buildBackbone(spec);
  const placements = placeExits(backbone.model, { by: 'count', count: options.exits ?? 2 });
  const heads = planHeads({ model: backbone.model }, placements).heads.map((h) => h.config);
  const multi = attachExits({ model: backbone.model }, placements, heads, { seed: 3 });
  const manifest = saveMultiExitBundle(dir, multi, {
    classes: Array.from({ length: 10 }, (_, i) => String(i)),
    preprocessing: preprocessingOf(MNIST_STATS),
    provenance: { dataset: 'mnist', strategy: 'untrained', split: { valFraction: 0.2, seed: 0, limit: 2000 } },
  }, { overwrite: true });
  return { multi, manifest };
}

/**
 * A manifest whose exits cost what the recorded Fashion-MNIST network's do (stage k's FLOPs =
 * the step in cumulative FLOPs, heads folded into the stages), so its full model is the final exit.
 */
export function manifestForCosts(cumulativeFlops: readonly number[], temperatures?: readonly number[]): BundleManifest {
  return parseManifest({
    format: 'exitwise-bundle', version: 1,
    task: { kind: 'classification', classes: Array.from({ length: 10 }, (_, i) => `c${i}`) },
    input: { name: 'image', shape: ['N', 1, 28, 28], dtype: 'float32' },
    stages: cumulativeFlops.map((c, k) => ({ index: k, file: `stages/stage-${k}.onnx`, inputs: [k === 0 ? 'image' : `cut${k - 1}`], outputs: [`cut${k}`], params: 0, flops: c - (cumulativeFlops[k - 1] ?? 0) })),
    exits: cumulativeFlops.map((c, k) => ({ index: k, file: `exits/exit-${k}.onnx`, input: `cut${k}`, output: `logits${k}`, params: 0, flops: 0, cumulativeFlops: c, temperature: temperatures?.[k] ?? 1 })),
    provenance: { dataset: 'fashion-mnist', strategy: 'fixture', date: '2025-01-01T00:00:00Z', exitwiseVersion: '0.0.0' },
  });
}

/** `exitwise ARGS` run in this process (a spawn costs ≈ 2 s of tsx startup), its output captured. */
export async function runCli(...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  const { main } = await import('../../src/cli/main.ts');
  // Let the test runner write the previous test's result first: it reports through this process's stdout.
  await new Promise((resolve) => setImmediate(resolve));
  const captured = { stdout: '', stderr: '' };
  const writes = { stdout: process.stdout.write, stderr: process.stderr.write };
  process.stdout.write = ((chunk: string) => ((captured.stdout += chunk), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => ((captured.stderr += chunk), true)) as typeof process.stderr.write;
  try {
    return { status: await main(args), ...captured };
  } finally {
    Object.assign(process.stdout, { write: writes.stdout });
    Object.assign(process.stderr, { write: writes.stderr });
  }
}
