/**
 * Seeded pseudo-random numbers. `Math.random` cannot be seeded, and exitwise needs splits,
 * shuffles and augmentations that a seed reproduces exactly (a resumed run must see the same
 * batches as an uninterrupted one).
 */
import { ExitwiseError } from '../errors.ts';

/** Mulberry32: a 32-bit state generator, fast and well distributed enough for shuffles and crops. */
export class Rng {
  private state: number;

  /** @param seed an integer in [0, 2^32). */
  constructor(seed: number) {
    this.state = checkSeed(seed);
  }

  /** A uniform integer in [0, 2^32). */
  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** A uniform float in [0, 1). */
  next(): number {
    return this.nextUint32() / 0x1_0000_0000;
  }

  /** A uniform integer in [0, n); the bias is below n / 2^32, negligible for dataset sizes. */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}

/**
 * Derives an independent seed from a root seed and a path of integers, e.g.
 * `deriveSeed(seed, STREAM_ORDER, epoch)`, so that every (purpose, epoch, batch) has its own
 * stream and can be regenerated without replaying the ones before it.
 */
export function deriveSeed(seed: number, ...path: number[]): number {
  let h = fmix32(checkSeed(seed) ^ 0x9e3779b9);
  for (const part of path) h = fmix32(h ^ Math.imul(checkSeed(part) + 0x7f4a7c15, 0x85ebca6b));
  return h;
}

/** Shuffles `array` in place (Fisher–Yates) and returns it. */
export function shuffleInPlace<T extends Int32Array | Uint32Array | number[]>(array: T, rng: Rng): T {
  for (let i = array.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const tmp = array[i]!;
    array[i] = array[j]!;
    array[j] = tmp;
  }
  return array;
}

/** MurmurHash3's finalizer: every input bit affects every output bit. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function checkSeed(seed: number): number {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffff_ffff) {
    throw new ExitwiseError('EXW_USAGE', `seed ${seed} is not an integer in [0, 2^32)`, {
      hint: 'Pass a non-negative integer seed below 4294967296.',
    });
  }
  return seed >>> 0;
}
