import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { opsWithGradientRules } from '../../src/autodiff/index.ts';
import { checkGradients } from '../support/grad-check.ts';
import { GRAD_CASES } from './cases/index.ts';

/** float32 against float64: measured errors are 1e-7–1e-6; a wrong rule gives 1e-1 or more. */
const ORT_TOLERANCE = 1e-5;
/** float64 central differences (h = 1e-5) against float64 backprop. */
const FD_TOLERANCE = 1e-6;

describe('gradient rules against the float64 reference and finite differences', () => {
  for (const c of GRAD_CASES) {
    it(c.name, async () => {
      const check = await checkGradients(c.model, c.feeds, 'loss', c.trainable, {
        ...(c.training === undefined ? {} : { training: c.training }), ...(c.graph === undefined ? {} : { graph: c.graph }),
      });
      for (const p of c.trainable) {
        assert.ok(check.fdError.get(p)! < FD_TOLERANCE, `${p}: reference backprop vs finite differences ${check.fdError.get(p)}`);
        assert.ok(check.ortError.get(p)! < (c.tolerance ?? ORT_TOLERANCE), `${p}: ORT vs reference ${check.ortError.get(p)}`);
      }
    });
  }

  it('every op with a gradient rule appears in some case', () => {
    const covered = new Set(GRAD_CASES.flatMap((c) => c.model.graph!.node.map((n) => n.opType)));
    assert.deepEqual(opsWithGradientRules().filter((op) => !covered.has(op)), []);
  });
});
