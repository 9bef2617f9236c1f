import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isExitwiseError } from '../../src/errors.ts';
import { deriveSeed, Rng, shuffleInPlace } from '../../src/data/random.ts';

describe('Rng', () => {
  it('is Mulberry32 (values from an independent Python implementation)', () => {
    const rng = new Rng(42);
    assert.deepEqual([1, 2, 3, 4].map(() => rng.nextUint32()), [2581720956, 1925393290, 3661312704, 2876485805]);
  });

  it('draws int(n) uniformly', () => {
    const rng = new Rng(1);
    const counts = new Array(10).fill(0);
    for (let i = 0; i < 100000; i++) counts[rng.int(10)]++;
    // χ² with 9 degrees of freedom: 27.9 is the 0.1% critical value.
    const chi2 = counts.reduce((a, c) => a + (c - 10000) ** 2 / 10000, 0);
    assert.ok(chi2 < 27.9, `χ² = ${chi2}`);
  });

  it('rejects seeds that are not 32-bit unsigned integers', () => {
    for (const seed of [-1, 0.5, 2 ** 32, Number.NaN]) {
      assert.throws(() => new Rng(seed), (e: unknown) => isExitwiseError(e, 'EXW_USAGE'));
    }
  });
});

describe('deriveSeed', () => {
  it('is a function of the seed and path, distinct for neighbouring paths', () => {
    assert.equal(deriveSeed(7, 2, 3), deriveSeed(7, 2, 3));
    const seeds = new Set<number>();
    for (let seed = 0; seed < 10; seed++) for (let epoch = 0; epoch < 100; epoch++) seeds.add(deriveSeed(seed, 2, epoch));
    assert.equal(seeds.size, 1000);
    assert.notEqual(deriveSeed(7, 2, 3), deriveSeed(7, 3, 2));
    assert.notEqual(deriveSeed(7), deriveSeed(7, 0));
  });
});

describe('shuffleInPlace', () => {
  it('permutes, reproducibly for a seed', () => {
    const a = shuffleInPlace(Int32Array.from({ length: 1000 }, (_, i) => i), new Rng(3));
    assert.deepEqual([...a].sort((x, y) => x - y), Array.from({ length: 1000 }, (_, i) => i));
    assert.deepEqual(a, shuffleInPlace(Int32Array.from({ length: 1000 }, (_, i) => i), new Rng(3)));
    assert.notDeepEqual([...a], Array.from({ length: 1000 }, (_, i) => i));
  });

  it('puts each element at each position equally often', () => {
    const rng = new Rng(9);
    const firstPosition = new Array(4).fill(0);
    for (let i = 0; i < 40000; i++) firstPosition[shuffleInPlace([0, 1, 2, 3], rng)[0]!]++;
    for (const c of firstPosition) assert.ok(Math.abs(c - 10000) < 400, `${c}`);
  });
});
