/** The PyTorch reference numbers of scripts/fixtures/make-optim-fixtures.py, typed. */
import { readFileSync } from 'node:fs';
import { ParamStore } from '../../src/train/params.ts';

type Values = Record<string, number[]>;

export interface OptimReference {
  params: Record<string, { dims: number[]; decay: boolean; value: number[] }>;
  grads: Values[];
  lrs: number[];
  optimizers: Array<{ name: string; config: Record<string, unknown>; trajectory: Values[]; state: Record<string, Record<string, number[] | number>> }>;
  schedules: Array<{ name: string; config: Record<string, unknown>; lrs: number[] }>;
  clipping: Array<{ config: Record<string, unknown>; grads: number[][]; dims: number[][]; norm: number; clipped: number[][] }>;
}

export const REFERENCE = JSON.parse(readFileSync(new URL('../fixtures/optim-reference.json', import.meta.url), 'utf8')) as OptimReference;

/** A store of the fixture's initial parameters, decaying as the fixture's parameter groups do. */
export function referenceStore(): ParamStore {
  return new ParamStore(Object.entries(REFERENCE.params).map(([name, p]) =>
    ({ name, dims: p.dims, value: Float32Array.from(p.value), trainable: true, decay: p.decay })));
}

/** The fixture's gradients of step `t` (from 0). */
export function referenceGrads(t: number): Map<string, Float32Array> {
  return new Map(Object.entries(REFERENCE.grads[t]!).map(([name, g]) => [name, Float32Array.from(g)]));
}

/**
 * Largest |a − b| over two arrays, relative to the largest |b|: float32 rounding noise (≈ 1e-7 of
 * the tensor's scale per step) is then small, however close single elements pass to zero.
 */
export function scaledError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let [worst, scale] = [0, 0];
  for (let i = 0; i < b.length; i++) {
    worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return scale === 0 ? worst : worst / scale;
}
