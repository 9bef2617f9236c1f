/**
 * Float64 tensors of the reference interpreter: a test oracle, written for clarity over speed.
 * Integer tensors (labels, shapes, indices) are held as float64 too: every value a test uses is
 * exact in a double.
 */
export interface Tensor64 {
  dims: number[];
  data: Float64Array;
}

export function sizeOf(dims: readonly number[]): number {
  return dims.reduce((p, d) => p * d, 1);
}

export function tensor(dims: readonly number[], data?: ArrayLike<number>): Tensor64 {
  const out = { dims: [...dims], data: data === undefined ? new Float64Array(sizeOf(dims)) : Float64Array.from(data) };
  if (out.data.length !== sizeOf(dims)) throw new Error(`reference: ${out.data.length} values for dims [${dims.join(', ')}]`);
  return out;
}

export function zerosLike(t: Tensor64): Tensor64 {
  return tensor(t.dims);
}

/** Row-major strides. */
export function stridesOf(dims: readonly number[]): number[] {
  const strides = new Array<number>(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) strides[i] = strides[i + 1]! * dims[i + 1]!;
  return strides;
}

/** Numpy broadcast of two shapes. */
export function broadcastDims(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  return Array.from({ length: rank }, (_, i) => {
    const x = a[a.length - rank + i] ?? 1;
    const y = b[b.length - rank + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new Error(`reference: cannot broadcast [${a}] with [${b}]`);
    return x === 1 ? y : x;
  });
}

/** For each flat index of `outDims`, the flat index of the operand of `inDims` it reads (numpy broadcasting). */
export function broadcastIndex(outDims: readonly number[], inDims: readonly number[]): Int32Array {
  const lead = outDims.length - inDims.length;
  const inStrides = stridesOf(inDims);
  const map = new Int32Array(sizeOf(outDims));
  const idx = new Array<number>(outDims.length).fill(0);
  for (let flat = 0; flat < map.length; flat++) {
    let src = 0;
    for (let k = 0; k < inDims.length; k++) if (inDims[k] !== 1) src += idx[lead + k]! * inStrides[k]!;
    map[flat] = src;
    for (let k = outDims.length - 1; k >= 0; k--) {
      if (++idx[k]! < outDims[k]!) break;
      idx[k] = 0;
    }
  }
  return map;
}

/** Adds `b` into `a` elementwise (gradient accumulation). */
export function addInto(a: Tensor64, b: Tensor64): void {
  for (let i = 0; i < a.data.length; i++) a.data[i]! += b.data[i]!;
}
