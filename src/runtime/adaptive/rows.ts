/**
 * Batch compaction: the rows of the inputs still running, gathered into new contiguous tensors
 * (no padding) for the next stage. Consecutive kept rows are copied with one `set` each, so an
 * exit that stops a few inputs of a large batch costs a handful of block copies.
 */
import type { TensorLike } from '../tensor.ts';

/** Tensors by name, all with the running inputs along their first axis. */
export type LiveTensors = Record<string, TensorLike>;

type Rows = Exclude<TensorLike['data'], string[]>;

/** The rows `i` of `tensor` with `stop[i] === 0`, in order; `kept` is how many there are. */
export function keepRows(tensor: TensorLike, stop: Uint8Array, kept: number): TensorLike {
  if (tensor.type === 'string') throw new Error('internal: string tensors cannot flow between stages');
  const [rows, ...rest] = tensor.dims;
  const width = rest.reduce((n, d) => n * d, 1);
  if (rows !== stop.length) throw new Error(`internal: ${rows} rows for a mask of ${stop.length}`);
  const data = tensor.data as Rows;
  const out = new (data.constructor as new (length: number) => Rows)(kept * width);
  let at = 0;
  for (let i = 0; i < stop.length; ) {
    if (stop[i] !== 0) {
      i++;
      continue;
    }
    let end = i + 1;
    while (end < stop.length && stop[end] === 0) end++;
    (out as Float32Array).set((data as Float32Array).subarray(i * width, end * width), at);
    at += (end - i) * width;
    i = end;
  }
  return { type: tensor.type, dims: [kept, ...rest], data: out } as TensorLike;
}

/** Every live tensor compacted the same way. */
export function keepLive(live: LiveTensors, stop: Uint8Array, kept: number): LiveTensors {
  const out: LiveTensors = {};
  for (const [name, tensor] of Object.entries(live)) out[name] = keepRows(tensor, stop, kept);
  return out;
}

/** The entries of `values` with `stop[i] === 0`. */
export function keepIndices(values: Int32Array, stop: Uint8Array, kept: number): Int32Array {
  const out = new Int32Array(kept);
  for (let i = 0, j = 0; i < stop.length; i++) if (stop[i] === 0) out[j++] = values[i]!;
  return out;
}
