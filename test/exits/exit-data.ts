/**
 * Multi-exit logits for the policy, calibration and tuning tests: the recorded outputs of a real
 * 4-exit CNN on Fashion-MNIST (scripts/fixtures/make-exit-logits.py), and a seeded synthetic
 * generator whose exits grow more accurate with depth and make correlated mistakes.
 */
import { readFileSync } from 'node:fs';
import { Rng } from '../../src/data/random.ts';
import { exitOutputs, type ExitOutputs } from '../../src/exits/outputs.ts';

export interface LabelledOutputs {
  outputs: ExitOutputs;
  labels: Int32Array;
}

interface FixtureMeta {
  exits: number;
  classes: number;
  scale: number;
  splits: { val: number; test: number };
  accuracy: { val: number[]; test: number[] };
  cumulativeFlops: number[];
}

const dir = new URL('../fixtures/exits/', import.meta.url);
let cached: { val: LabelledOutputs; test: LabelledOutputs; meta: FixtureMeta } | undefined;

/** The real network's val and test outputs, its per-exit accuracies and cumulative FLOPs. */
export function fashionExits(): { val: LabelledOutputs; test: LabelledOutputs; meta: FixtureMeta } {
  if (cached) return cached;
  const meta = JSON.parse(readFileSync(new URL('fashion-exits.json', dir), 'utf8')) as FixtureMeta;
  const bytes = readFileSync(new URL('fashion-exits.bin', dir));
  const { exits: K, classes: C } = meta;
  const total = meta.splits.val + meta.splits.test;
  const raw = new Int16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + total * K * C * 2)); // [split][sample][exit][class]
  const labelBytes = bytes.subarray(total * K * C * 2);
  const split = (start: number, n: number): LabelledOutputs => {
    const logits = Array.from({ length: K }, () => new Float32Array(n * C));
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < K; k++) {
        for (let c = 0; c < C; c++) logits[k]![i * C + c] = raw[((start + i) * K + k) * C + c]! * meta.scale;
      }
    }
    return { outputs: exitOutputs(logits, C), labels: Int32Array.from(labelBytes.subarray(start, start + n)) };
  };
  cached = { val: split(0, meta.splits.val), test: split(meta.splits.val, meta.splits.test), meta };
  return cached;
}

/** Options of {@link syntheticExits}. */
export interface SyntheticOptions {
  samples: number;
  classes?: number;
  /** Per exit, the difficulty below which samples tend to be right: ≈ its accuracy (default [0.6, 0.72, 0.82, 0.88]). */
  reach?: number[];
  /** Per exit, how sharply evidence grows with the distance from `reach` (default [2, 2.5, 3, 3.5]). */
  strength?: number[];
  /** Multiplies all logits: > 1 makes the network overconfident (default 2). */
  sharpness?: number;
  seed?: number;
}

/**
 * Synthetic multi-exit logits. Each sample has a difficulty h ~ U(0, 1) and a fixed confuser
 * class; at exit k the true class gets evidence strength_k·(reach_k − h + 0.5) and the confuser
 * strength_k·(h − reach_k + 0.5), plus noise. Later exits reach further, so they are more
 * accurate; easy samples are right everywhere; wrong predictions tend to repeat the same
 * confuser (correlated mistakes across exits).
 */
export function syntheticExits(options: SyntheticOptions): LabelledOutputs {
  const { samples: n, classes: C = 10, reach = [0.6, 0.72, 0.82, 0.88], strength = [2, 2.5, 3, 3.5], sharpness = 2, seed = 1 } = options;
  const rng = new Rng(seed);
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
  const labels = new Int32Array(n);
  const logits = reach.map(() => new Float32Array(n * C));
  for (let i = 0; i < n; i++) {
    const y = rng.int(C);
    const confuser = (y + 1 + rng.int(C - 1)) % C;
    const h = rng.next();
    labels[i] = y;
    reach.forEach((r, k) => {
      const row = logits[k]!;
      const s = strength[k]!;
      for (let c = 0; c < C; c++) row[i * C + c] = sharpness * 0.5 * normal();
      row[i * C + y]! += sharpness * (s * (r - h + 0.5) + 0.3 * normal());
      row[i * C + confuser]! += sharpness * (s * (h - r + 0.5) + 0.3 * normal());
    });
  }
  return { outputs: exitOutputs(logits, C), labels };
}
