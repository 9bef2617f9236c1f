import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isExitwiseError } from '../../src/errors.ts';
import { checkAugment, IDENTITY_TRANSFORM, sampleTransform, writeImage, type ImageTransform } from '../../src/data/augment.ts';
import { pixelTable } from '../../src/data/normalize.ts';
import { Rng } from '../../src/data/random.ts';

const unit = pixelTable('unit');
const identityTable = Float32Array.from({ length: 256 }, (_, p) => p);

/** Reference: pad with zeros, crop at (padding + dy, padding + dx), then mirror — step by step. */
function reference(image: number[][], padding: number, t: ImageTransform): number[][] {
  const h = image.length;
  const w = image[0]!.length;
  const padded = Array.from({ length: h + 2 * padding }, (_, y) =>
    Array.from({ length: w + 2 * padding }, (_, x) => image[y - padding]?.[x - padding] ?? 0),
  );
  const cropped = padded.slice(padding + t.dy, padding + t.dy + h).map((row) => row.slice(padding + t.dx, padding + t.dx + w));
  return t.flip ? cropped.map((row) => [...row].reverse()) : cropped;
}

function apply(pixels: Uint8Array, shape: [number, number, number], t: ImageTransform, table: Float32Array = identityTable): Float32Array {
  const out = new Float32Array(pixels.length).fill(Number.NaN);
  writeImage(pixels, 0, shape, t, table, out, 0);
  return out;
}

describe('pixelTable', () => {
  it("maps 'unit' to p/255 and stats to (p/255 - mean)/std", () => {
    assert.equal(unit[0], 0);
    assert.equal(unit[255], 1);
    assert.equal(unit[51], Math.fround(0.2));
    const std = pixelTable({ mean: 0.1307, std: 0.3081 });
    assert.equal(std[0], Math.fround(-0.1307 / 0.3081));
    assert.equal(std[255], Math.fround((1 - 0.1307) / 0.3081));
  });

  it('rejects a zero or negative std', () => {
    assert.throws(() => pixelTable({ mean: 0, std: 0 }), (e: unknown) => isExitwiseError(e, 'EXW_USAGE'));
  });
});

describe('writeImage', () => {
  const [h, w] = [5, 7];
  const pixels = Uint8Array.from({ length: h * w }, (_, i) => i + 1); // no zeros: fill is visible
  const image = Array.from({ length: h }, (_, y) => Array.from({ length: w }, (_, x) => pixels[y * w + x]!));

  it('is the identity without a transform', () => {
    assert.deepEqual([...apply(pixels, [1, h, w], IDENTITY_TRANSFORM)], [...pixels]);
  });

  it('equals pad + crop + mirror, for every shift and both flips', () => {
    const padding = 3;
    for (let dy = -padding; dy <= padding; dy++) {
      for (let dx = -padding; dx <= padding; dx++) {
        for (const flip of [false, true]) {
          const t = { dx, dy, flip };
          assert.deepEqual([...apply(pixels, [1, h, w], t)], reference(image, padding, t).flat(), JSON.stringify(t));
        }
      }
    }
  });

  it('flip mirrors each row, twice gives back the image', () => {
    const once = apply(pixels, [1, h, w], { dx: 0, dy: 0, flip: true });
    assert.deepEqual([...once.subarray(0, w)], [7, 6, 5, 4, 3, 2, 1]);
    const twice = apply(Uint8Array.from(once), [1, h, w], { dx: 0, dy: 0, flip: true });
    assert.deepEqual([...twice], [...pixels]);
  });

  it('fills shifted-in pixels with the normalized zero', () => {
    const table = pixelTable({ mean: 0.5, std: 0.25 });
    const out = apply(pixels, [1, h, w], { dx: 2, dy: 0, flip: false }, table);
    assert.equal(out[w - 1], table[0]); // last two columns came from outside
    assert.equal(out[w - 2], table[0]);
    assert.equal(out[0], table[3]);
  });

  it('transforms every channel the same way', () => {
    const two = Uint8Array.from([...pixels, ...pixels.map((p) => p + 100)]);
    const t = { dx: -1, dy: 2, flip: true };
    const out = apply(two, [2, h, w], t);
    const expected = reference(image, 2, t).flat();
    assert.deepEqual([...out.subarray(0, h * w)], expected);
    assert.deepEqual([...out.subarray(h * w)], expected.map((p) => (p === 0 ? 0 : p + 100)));
  });
});

describe('sampleTransform', () => {
  it('draws shifts uniformly in [-p, p] and flips half the time', () => {
    const rng = new Rng(5);
    const counts = new Map<number, number>();
    let flips = 0;
    const n = 20000;
    for (let i = 0; i < n; i++) {
      const t = sampleTransform(rng, { cropPadding: 2, horizontalFlip: true });
      counts.set(t.dx, (counts.get(t.dx) ?? 0) + 1);
      if (t.flip) flips++;
    }
    assert.deepEqual([...counts.keys()].sort((a, b) => a - b), [-2, -1, 0, 1, 2]);
    for (const c of counts.values()) assert.ok(Math.abs(c - n / 5) < 300, `${c}`);
    assert.ok(Math.abs(flips - n / 2) < 300, `${flips}`);
  });

  it('is the identity when disabled', () => {
    const rng = new Rng(5);
    for (let i = 0; i < 100; i++) assert.deepEqual(sampleTransform(rng, {}), IDENTITY_TRANSFORM);
  });

  it('rejects a padding that is negative, fractional or as large as the image', () => {
    for (const cropPadding of [-1, 1.5, 28]) {
      assert.throws(() => checkAugment({ cropPadding }, [1, 28, 28]), (e: unknown) => isExitwiseError(e, 'EXW_USAGE'));
    }
  });
});
