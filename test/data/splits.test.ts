import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isExitwiseError } from '../../src/errors.ts';
import { labelHistogram } from '../../src/data/dataset.ts';
import { loadDataset } from '../../src/data/registry.ts';
import { splitTrainVal } from '../../src/data/splits.ts';

describe('splitTrainVal on MNIST', async () => {
  const { train: split } = await loadDataset('mnist', { env: {}, download: false });

  it('holds out 10% by default, disjoint and covering every index once', () => {
    const { train, val } = splitTrainVal(split, { seed: 7 });
    assert.equal(val.length, 6000);
    assert.equal(train.length, 54000);
    const seen = new Uint8Array(split.count);
    for (const i of train) seen[i]! += 1;
    for (const i of val) seen[i]! += 1;
    assert.ok(seen.every((n) => n === 1));
    for (const part of [train, val]) for (let k = 1; k < part.length; k++) assert.ok(part[k - 1]! < part[k]!);
  });

  it('is reproducible for a seed and differs across seeds', () => {
    assert.deepEqual(splitTrainVal(split, { seed: 7 }), splitTrainVal(split, { seed: 7 }));
    const a = new Set(splitTrainVal(split, { seed: 7 }).val);
    const overlap = splitTrainVal(split, { seed: 8 }).val.filter((i) => a.has(i)).length;
    // Two independent 10% samples share about 10% of their members.
    assert.ok(overlap > 450 && overlap < 750, `overlap ${overlap}`);
  });

  it('is stratified: each class gives 10% (±1) of its samples to val', () => {
    const { val } = splitTrainVal(split, { seed: 3, valFraction: 0.1 });
    const all = labelHistogram(split.labels, 10);
    const held = labelHistogram(Uint8Array.from(val, (i) => split.labels[i]!), 10);
    all.forEach((n, c) => assert.ok(Math.abs(held[c]! - n * 0.1) <= 1, `class ${c}: ${held[c]} of ${n}`));
  });

  it('rounds the total exactly for odd fractions', () => {
    assert.equal(splitTrainVal(split, { valFraction: 1 / 7 }).val.length, Math.round(60000 / 7));
  });

  it('rejects fractions outside (0, 1)', () => {
    for (const valFraction of [0, 1, -0.1, Number.NaN]) {
      assert.throws(() => splitTrainVal(split, { valFraction }), (e: unknown) => isExitwiseError(e, 'EXW_USAGE'));
    }
  });
});
