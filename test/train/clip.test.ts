/** Gradient clipping against PyTorch's clip_grad_norm_ and clip_grad_value_ (test/fixtures/optim-reference.json). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isExitwiseError } from '../../src/errors.ts';
import { clipGradients, clipGradNorm, resolveClipConfig } from '../../src/train/clip.ts';
import { REFERENCE, scaledError } from './fixture.ts';

describe('gradient clipping', () => {
  for (const c of REFERENCE.clipping) {
    const config = resolveClipConfig(c.config);
    it(`${config.kind} ≤ ${config.max}: clipped values and the norm before clipping match PyTorch`, () => {
      const grads = new Map(c.grads.map((g, i) => [`g${i}`, Float32Array.from(g)]));
      const norm = clipGradients(grads, config);
      assert.ok(Math.abs(norm - c.norm) < 1e-6 * c.norm, `norm ${norm} vs ${c.norm}`);
      [...grads.values()].forEach((g, i) => assert.ok(scaledError(g, c.clipped[i]!) < 1e-6, `tensor ${i}`));
    });
  }

  it('leaves gradients under the limit bit for bit', () => {
    const g = Float32Array.from([0.3, -0.4]);
    assert.ok(Math.abs(clipGradNorm([g], 1) - 0.5) < 1e-7);
    assert.deepEqual([...g], [Math.fround(0.3), Math.fround(-0.4)]);
  });

  it('leaves gradients with a non-finite norm untouched and returns that norm', () => {
    const g = Float32Array.from([Number.POSITIVE_INFINITY, 1]);
    assert.equal(clipGradNorm([g], 1), Number.POSITIVE_INFINITY);
    assert.deepEqual([...g], [Number.POSITIVE_INFINITY, 1]);
    assert.ok(Number.isNaN(clipGradNorm([Float32Array.from([Number.NaN, 1])], 1)));
  });

  it('refuses a limit that is not positive (it would flip or zero the gradients)', () => {
    for (const max of [0, -1, Number.NaN]) {
      assert.throws(() => clipGradients(new Map([['g', Float32Array.from([3, 4])]]), { kind: 'norm', max }), (e: unknown) => isExitwiseError(e, 'EXW_USAGE'));
    }
    assert.throws(() => resolveClipConfig({ kind: 'norm', maxNorm: 1 }), (e: unknown) => isExitwiseError(e, 'EXW_USAGE') && /maxNorm/.test(e.message));
  });
});
