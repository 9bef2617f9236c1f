/**
 * Gradient clipping, in place, between the training graph's run and the optimizer step: by the
 * global L2 norm over all gradients (PyTorch's `clip_grad_norm_`) or elementwise by value
 * (`clip_grad_value_`).
 */
import { z } from 'zod';
import { ExitwiseError } from '../errors.ts';
import { type KindSchema, resolveKindConfig } from './config.ts';

/** Scales all gradients by `max / (norm + 1e-6)` when their global L2 norm exceeds `max`. */
export interface NormClipConfig {
  kind: 'norm';
  max: number;
}

/** Clamps every gradient element to `[−max, max]`. */
export interface ValueClipConfig {
  kind: 'value';
  max: number;
}

export type ClipConfig = NormClipConfig | ValueClipConfig;

/** PyTorch's guard against dividing by a zero norm, kept so results match it. */
const NORM_EPSILON = 1e-6;

const CLIPPERS: { [K in ClipConfig['kind']]: KindSchema<Extract<ClipConfig, { kind: K }>> } = {
  norm: { schema: z.strictObject({ kind: z.literal('norm'), max: z.number().positive() }), example: '{"kind":"norm","max":1}' },
  value: { schema: z.strictObject({ kind: z.literal('value'), max: z.number().positive() }), example: '{"kind":"value","max":0.5}' },
};

/** Checks a JSON clipping config; `EXW_USAGE` naming the bad field. */
export function resolveClipConfig(config: unknown): ClipConfig {
  return resolveKindConfig<ClipConfig>('clipping', CLIPPERS, config);
}

/** The L2 norm of all gradients taken together (accumulated in float64). */
export function globalGradNorm(grads: Iterable<Float32Array>): number {
  let sum = 0;
  for (const g of grads) for (let i = 0; i < g.length; i++) sum += g[i]! * g[i]!;
  return Math.sqrt(sum);
}

/**
 * Scales the gradients in place so that their global L2 norm is at most `maxNorm`, and returns
 * their norm before clipping. A non-finite norm (a diverged step) leaves them untouched, unlike
 * PyTorch (which would make them all NaN): check the returned norm and skip or stop.
 *
 * @example
 * const norm = clipGradNorm(grads.values(), 1.0);
 * if (!Number.isFinite(norm)) throw new Error('diverged');
 */
export function clipGradNorm(grads: Iterable<Float32Array>, maxNorm: number): number {
  checkLimit(maxNorm);
  const list = [...grads];
  const norm = globalGradNorm(list);
  const scale = maxNorm / (norm + NORM_EPSILON);
  if (Number.isFinite(norm) && scale < 1) for (const g of list) for (let i = 0; i < g.length; i++) g[i]! *= scale;
  return norm;
}

/** Clamps every gradient element to `[−max, max]` in place (NaN stays NaN). */
export function clipGradValue(grads: Iterable<Float32Array>, max: number): void {
  checkLimit(max);
  for (const g of grads) for (let i = 0; i < g.length; i++) g[i] = Math.min(max, Math.max(-max, g[i]!));
}

/**
 * Clips as `config` says and returns the global L2 norm of the gradients before clipping (worth
 * logging: its growth announces divergence).
 */
export function clipGradients(grads: ReadonlyMap<string, Float32Array>, config: ClipConfig): number {
  if (config.kind === 'norm') return clipGradNorm(grads.values(), config.max);
  const norm = globalGradNorm(grads.values());
  clipGradValue(grads.values(), config.max);
  return norm;
}

function checkLimit(max: number): void {
  if (!(max > 0) || !Number.isFinite(max)) {
    throw new ExitwiseError('EXW_USAGE', `clipping limit ${max} is not a finite number > 0`, { hint: 'Give the clipping config a positive "max".' });
  }
}
