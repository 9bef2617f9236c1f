/**
 * Image files as a bundle's input: PNG (any color type and bit depth, via fast-png) and IDX image
 * arrays (the MNIST format, plain or gzipped), told apart by their first bytes, not their names.
 * Pixels become 8-bit values in the bundle's channel count (color → gray by ITU-R BT.601 luma,
 * transparency flattened onto black, gray → color by repetition), then go through the manifest's
 * preprocessing. Images are never resized: a size other than the bundle's is an error.
 */
import { readFileSync } from 'node:fs';
import { convertIndexedToRgb, decode, type DecodedPng, hasPngSignature } from 'fast-png';
import { normalizationOf } from '../../bundle/data.ts';
import { parseIdx } from '../../data/idx.ts';
import { pixelTable } from '../../data/normalize.ts';
import { ExitwiseError } from '../../errors.ts';
import type { BundleManifest } from '../../schemas/bundle.ts';

/** Where one input came from: a file, and its position in it for files holding several images. */
export interface InputSource {
  file: string;
  /** Index of the image in an IDX array; null for a single-image file. */
  index: number | null;
}

/** Preprocessed inputs `[count, ...dims]`, ready for the runtime, and where each came from. */
export interface BundleInputs {
  data: Float32Array;
  count: number;
  sources: InputSource[];
}

/** The image geometry a bundle takes. */
interface Geometry {
  channels: number;
  height: number;
  width: number;
  layout: 'NCHW' | 'NHWC';
}

/**
 * Reads image files for `manifest`'s bundle, at most `limit` images in all. Errors: `EXW_IO` for
 * a file that cannot be read, `EXW_DATA` for one that is damaged, `EXW_USAGE` for a file that is
 * neither PNG nor IDX or whose images do not have the bundle's size or channels.
 *
 * @example
 * const { data, count, sources } = readInputFiles(runtime.manifest, ['shoe.png', 't10k-images-idx3-ubyte.gz'], 100);
 * const result = await runtime.run(data, count);
 */
export function readInputFiles(manifest: BundleManifest, files: readonly string[], limit = Infinity): BundleInputs {
  const geometry = geometryOf(manifest);
  const table = pixelTable(normalizationOf(manifest.input.preprocessing));
  const pixels = geometry.channels * geometry.height * geometry.width;
  const images: Uint8Array[] = [];
  const sources: InputSource[] = [];
  for (const file of files) {
    if (images.length >= limit) break;
    const bytes = readBytes(file);
    const png = hasPngSignature(bytes);
    const decoded = png ? [pngPixels(bytes, file, geometry)] : idxPixels(bytes, file, geometry, limit - images.length);
    decoded.forEach((image, i) => {
      images.push(image);
      sources.push({ file, index: png ? null : i });
    });
  }
  const data = new Float32Array(images.length * pixels);
  images.forEach((image, n) => {
    const out = data.subarray(n * pixels, (n + 1) * pixels);
    // Decoded pixels are interleaved [H, W, C]; NCHW wants planes [C, H, W].
    if (geometry.layout === 'NHWC' || geometry.channels === 1) {
      for (let p = 0; p < pixels; p++) out[p] = table[image[p]!]!;
    } else {
      const plane = geometry.height * geometry.width;
      for (let p = 0; p < plane; p++) for (let c = 0; c < geometry.channels; c++) out[c * plane + p] = table[image[p * geometry.channels + c]!]!;
    }
  });
  return { data, count: images.length, sources };
}

function geometryOf(manifest: BundleManifest): Geometry {
  const layout = manifest.input.preprocessing?.layout ?? 'NCHW';
  const dims = manifest.input.shape.slice(1);
  const [channels, height, width] = (layout === 'NCHW' ? dims : [dims[2], dims[0], dims[1]]) as [unknown, unknown, unknown];
  if (dims.length !== 3 || ![channels, height, width].every((d) => typeof d === 'number') || (channels !== 1 && channels !== 3)) {
    throw new ExitwiseError('EXW_USAGE', `the bundle's input is [${manifest.input.shape.join(', ')}] (${layout}), not an image of 1 or 3 channels`, {
      hint: 'Feed this bundle through the API (AdaptiveRuntime.run) with inputs preprocessed as it expects.',
    });
  }
  return { channels, height, width, layout } as Geometry;
}

function readBytes(file: string): Uint8Array {
  try {
    return readFileSync(file);
  } catch (cause) {
    throw new ExitwiseError('EXW_IO', `cannot read ${file}: ${(cause as Error).message}`, { hint: 'Check the path.', cause });
  }
}

/** One PNG as 8-bit interleaved pixels in the bundle's channel count. */
function pngPixels(bytes: Uint8Array, file: string, g: Geometry): Uint8Array {
  let png: DecodedPng;
  try {
    png = decode(bytes);
  } catch (cause) {
    throw new ExitwiseError('EXW_DATA', `${file} is a damaged PNG: ${(cause as Error).message}`, { hint: 'Re-save the image as PNG.', cause });
  }
  checkSize(file, png.height, png.width, g);
  let channels = png.channels;
  let values: ArrayLike<number>;
  if (png.palette !== undefined) {
    values = convertIndexedToRgb(png);
    channels = values.length / (png.width * png.height);
  } else {
    values = eightBit(png);
  }
  return toChannels(values, channels, g.channels, png.width * png.height);
}

/** Samples of a non-indexed PNG scaled to 0–255 (16-bit rounded, 1/2/4-bit unpacked). */
function eightBit(png: DecodedPng): ArrayLike<number> {
  if (png.depth === 8) return png.data;
  if (png.depth === 16) return Uint8Array.from(png.data, (v) => Math.round(v / 257));
  const depth = png.depth;
  const perRow = png.width * png.channels;
  const stride = Math.ceil((perRow * depth) / 8);
  const max = (1 << depth) - 1;
  const out = new Uint8Array(perRow * png.height);
  for (let y = 0; y < png.height; y++) {
    for (let x = 0; x < perRow; x++) {
      const bit = x * depth;
      const byte = png.data[y * stride + (bit >> 3)]!;
      out[y * perRow + x] = Math.round((((byte >> (8 - depth - (bit & 7))) & max) * 255) / max);
    }
  }
  return out;
}

/** Interleaved samples of `from` channels (gray, gray+alpha, RGB, RGBA) as `to` channels (1 or 3). */
function toChannels(values: ArrayLike<number>, from: number, to: number, pixels: number): Uint8Array {
  const out = new Uint8Array(pixels * to);
  const alpha = from === 2 || from === 4;
  for (let p = 0; p < pixels; p++) {
    const at = p * from;
    const a = alpha ? values[at + from - 1]! / 255 : 1;
    const rgb = from >= 3 ? [values[at]!, values[at + 1]!, values[at + 2]!] : [values[at]!, values[at]!, values[at]!];
    if (to === 1) out[p] = Math.round((0.299 * rgb[0]! + 0.587 * rgb[1]! + 0.114 * rgb[2]!) * a);
    else for (let c = 0; c < 3; c++) out[p * 3 + c] = Math.round(rgb[c]! * a);
  }
  return out;
}

/** The images of an IDX array: `[H, W]` (one image), `[n, H, W]`, or `[n, H, W, C]`; at most `limit`. */
function idxPixels(bytes: Uint8Array, file: string, g: Geometry, limit: number): Uint8Array[] {
  const gzip = bytes[0] === 0x1f && bytes[1] === 0x8b;
  if (!gzip && !(bytes[0] === 0 && bytes[1] === 0)) {
    throw new ExitwiseError('EXW_USAGE', `${file} is neither a PNG nor an IDX file`, { hint: 'Give PNG images or IDX image arrays (MNIST format, optionally gzipped).' });
  }
  const { dims, data } = parseIdx(bytes, file);
  if (dims.length < 2 || dims.length > 4) {
    throw new ExitwiseError('EXW_USAGE', `${file} holds an IDX array of dims [${dims.join(', ')}], not images`, { hint: 'Give an IDX image array [n, height, width].' });
  }
  const [n, h, w, c] = dims.length === 2 ? [1, dims[0]!, dims[1]!, 1] : [dims[0]!, dims[1]!, dims[2]!, dims[3] ?? 1];
  checkSize(file, h, w, g);
  if (c !== 1 && c !== g.channels) {
    throw new ExitwiseError('EXW_USAGE', `${file} holds ${c}-channel images; the bundle takes ${g.channels}`, { hint: 'Give gray images, or images with the bundle\'s channels.' });
  }
  const size = h * w * c;
  return Array.from({ length: Math.min(n, limit) }, (_, i) => toChannels(data.subarray(i * size, (i + 1) * size), c, g.channels, h * w));
}

function checkSize(file: string, height: number, width: number, g: Geometry): void {
  if (height !== g.height || width !== g.width) {
    throw new ExitwiseError('EXW_USAGE', `${file} is ${width}×${height} pixels; the bundle takes ${g.width}×${g.height}`, {
      hint: 'Resize the image to the bundle\'s input size first; exitwise run does not resize.',
    });
  }
}
