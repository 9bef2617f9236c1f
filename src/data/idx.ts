/**
 * IDX reader: the format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/).
 *
 * Layout: two zero bytes, a type byte, a dimension count byte, one big-endian uint32 per
 * dimension, then the data in row-major order. exitwise reads unsigned-byte IDX (type 0x08), the
 * only type these datasets use. Files may be gzipped (Debian ships them as `.gz`); gzip is
 * detected from the content, not the file name.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { ExitwiseError } from '../errors.ts';

/** An IDX array of unsigned bytes. */
export interface IdxArray {
  /** Dimensions, outermost first, e.g. `[60000, 28, 28]`. */
  dims: number[];
  /** The values, row-major; `data.length` is the product of `dims`. */
  data: Uint8Array;
}

const IDX_UBYTE = 0x08;
const IDX_TYPE_NAMES: Record<number, string> = {
  0x08: 'uint8',
  0x09: 'int8',
  0x0b: 'int16',
  0x0c: 'int32',
  0x0d: 'float32',
  0x0e: 'float64',
};
const GZIP_MAGIC = [0x1f, 0x8b];

/**
 * Parses IDX bytes (plain or gzipped). `source` names the origin in error messages.
 *
 * @example
 * const { dims } = parseIdx(new Uint8Array([0, 0, 8, 1, 0, 0, 0, 2, 7, 9]), 'inline');
 * // dims = [2]
 */
export function parseIdx(bytes: Uint8Array, source: string): IdxArray {
  const raw = isGzip(bytes) ? gunzip(bytes, source) : bytes;
  if (raw.length < 4) throw dataError(`${source} is truncated: ${raw.length} bytes, shorter than an IDX header`);
  if (raw[0] !== 0 || raw[1] !== 0) {
    throw dataError(
      `${source} is not an IDX file: magic starts with 0x${hex(raw[0]!)}${hex(raw[1]!)}, expected 0x0000`,
    );
  }
  const type = raw[2]!;
  if (type !== IDX_UBYTE) {
    const name = IDX_TYPE_NAMES[type] ?? 'unknown';
    throw dataError(`${source} holds IDX type 0x${hex(type)} (${name}); exitwise reads uint8 IDX (0x08) only`);
  }
  const rank = raw[3]!;
  const headerBytes = 4 + 4 * rank;
  if (raw.length < headerBytes) {
    throw dataError(`${source} is truncated: its header declares ${rank} dimensions but the file ends first`);
  }
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const count = dims.reduce((a, b) => a * b, 1);
  const present = raw.length - headerBytes;
  if (present < count) {
    throw dataError(
      `${source} is truncated: dims [${dims.join(', ')}] need ${count} bytes of data, found ${present}`,
    );
  }
  if (present > count) {
    throw dataError(`${source} has ${present - count} bytes after the data its dims [${dims.join(', ')}] declare`);
  }
  return { dims, data: raw.subarray(headerBytes) };
}

/** Reads and parses an IDX file (plain or gzipped). */
export function readIdxFile(path: string): IdxArray {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (cause) {
    throw new ExitwiseError('EXW_DATA', `cannot read IDX file ${path}: ${(cause as Error).message}`, {
      hint: 'Check the path, or let exitwise locate the dataset (see the data options).',
      cause,
    });
  }
  return parseIdx(bytes, path);
}

function isGzip(bytes: Uint8Array): boolean {
  return bytes[0] === GZIP_MAGIC[0] && bytes[1] === GZIP_MAGIC[1];
}

function gunzip(bytes: Uint8Array, source: string): Uint8Array {
  try {
    return gunzipSync(bytes);
  } catch (cause) {
    throw dataError(`${source} is a corrupt or truncated gzip file: ${(cause as Error).message}`, cause);
  }
}

function dataError(message: string, cause?: unknown): ExitwiseError {
  return new ExitwiseError('EXW_DATA', message, {
    hint: 'The file is damaged or not a dataset file: delete it and fetch the dataset again.',
    ...(cause === undefined ? {} : { cause }),
  });
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}
