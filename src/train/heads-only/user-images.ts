/**
 * A user's own images for personalisation, unlabelled: a folder of PNG files (searched
 * recursively, read in path order), or one IDX image file (`[N, H, W]` or `[N, H, W, C]`, plain
 * or gzipped, as the datasets ship). Images must already have the bundle's height and width
 * (nothing is resized); colour PNGs become grey (ITU-R BT.601 luma) for a one-channel model,
 * grey PNGs are repeated for a three-channel one, alpha is ignored.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { convertIndexedToRgb, decode, type DecodedPng } from 'fast-png';
import { readIdxFile } from '../../data/idx.ts';
import { ExitwiseError } from '../../errors.ts';

/** Images as 8-bit pixels in the model input's layout, `count × ∏ inputDims`. */
export interface UserImages {
  images: Uint8Array;
  count: number;
  /** Where each image came from (a file path, or `FILE[i]` for IDX). */
  names: string[];
}

/** How the model takes one image. */
export interface ImageLayout {
  /** `[C, H, W]` (NCHW) or `[H, W, C]` (NHWC). */
  inputDims: readonly number[];
  layout: 'NCHW' | 'NHWC';
}

/**
 * Reads the user's images at `path` (a folder of PNGs or an IDX file) for a model taking `to`.
 * `EXW_DATA` for a missing path, no images, an undecodable file or a size that does not fit.
 *
 * @example
 * const { images, count } = readUserImages('photos/', { inputDims: [1, 28, 28], layout: 'NCHW' });
 */
export function readUserImages(path: string, to: ImageLayout): UserImages {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch (cause) {
    throw dataError(`cannot read ${path}: ${(cause as Error).message}`, 'Give a folder of PNG images or an IDX image file.', cause);
  }
  return isDirectory ? readPngFolder(path, to) : readIdxImages(path, to);
}

function readPngFolder(dir: string, to: ImageLayout): UserImages {
  const files = listPngs(dir);
  if (files.length === 0) throw dataError(`${dir} holds no .png images`, 'Put the user\'s images in the folder as PNG files (any subfolders are searched too).');
  const { channels, height, width } = shapeOf(to);
  const size = channels * height * width;
  const images = new Uint8Array(files.length * size);
  files.forEach((file, i) => {
    let png: DecodedPng;
    try {
      png = decode(readFileSync(file));
    } catch (cause) {
      throw dataError(`${file} is not a readable PNG: ${(cause as Error).message}`, 'Remove or re-save the file.', cause);
    }
    if (png.width !== width || png.height !== height) {
      throw dataError(`${file} is ${png.width}×${png.height}; the model takes ${width}×${height} images`, `Resize the images to ${width}×${height} first.`);
    }
    writeImage(pixelsOf(png, file), images.subarray(i * size, (i + 1) * size), to);
  });
  return { images, count: files.length, names: files.map((f) => relative(dir, f)) };
}

function readIdxImages(file: string, to: ImageLayout): UserImages {
  const { dims, data } = readIdxFile(file);
  const { channels, height, width } = shapeOf(to);
  const perImage = dims.slice(1);
  const fits = perImage[0] === height && perImage[1] === width && (perImage.length === 2 ? channels === 1 : perImage.length === 3 && perImage[2] === channels);
  if (!fits) throw dataError(`${file} holds [${dims.join(', ')}] images; the model takes ${height}×${width} with ${channels} channel${channels === 1 ? '' : 's'}`, `Give an IDX file of [N, ${height}, ${width}${channels === 1 ? '' : `, ${channels}`}] images.`);
  const count = dims[0]!;
  const size = channels * height * width;
  const images = new Uint8Array(count * size);
  for (let i = 0; i < count; i++) {
    const src = { data: data.subarray(i * size, (i + 1) * size), channels };
    writeImage(src, images.subarray(i * size, (i + 1) * size), to);
  }
  return { images, count, names: Array.from({ length: count }, (_, i) => `${file}[${i}]`) };
}

/** Interleaved 8-bit pixels (`[H, W, channels]`) of a decoded PNG; palettes expanded, 16-bit reduced to the high byte. */
function pixelsOf(png: DecodedPng, file: string): { data: ArrayLike<number>; channels: number } {
  if (png.palette !== undefined) {
    const rgb = convertIndexedToRgb(png);
    return { data: rgb, channels: rgb.length / (png.width * png.height) };
  }
  if (png.depth === 8) return { data: png.data, channels: png.channels };
  if (png.depth === 16) return { data: Uint8Array.from(png.data, (v) => v >> 8), channels: png.channels };
  throw dataError(`${file} has ${png.depth}-bit pixels`, 'Save the images as 8-bit PNGs.');
}

/** Interleaved source pixels → the model's channels and layout. */
function writeImage(src: { data: ArrayLike<number>; channels: number }, out: Uint8Array, to: ImageLayout): void {
  const { channels, height, width } = shapeOf(to);
  const colour = src.channels >= 3;
  for (let p = 0; p < height * width; p++) {
    const s = p * src.channels;
    for (let c = 0; c < channels; c++) {
      let v: number;
      if (channels === 1) v = colour ? Math.round(0.299 * src.data[s]! + 0.587 * src.data[s + 1]! + 0.114 * src.data[s + 2]!) : src.data[s]!;
      else v = colour ? src.data[s + Math.min(c, 2)]! : src.data[s]!;
      out[to.layout === 'NCHW' ? c * height * width + p : p * channels + c] = v;
    }
  }
}

function shapeOf(to: ImageLayout): { channels: number; height: number; width: number } {
  const [a, b, c] = to.inputDims;
  if (to.inputDims.length !== 3) throw dataError(`the model takes [${to.inputDims.join(', ')}] inputs, not images`, 'Personalisation reads images for an image model.');
  return to.layout === 'NCHW' ? { channels: a!, height: b!, width: c! } : { channels: c!, height: a!, width: b! };
}

function listPngs(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .flatMap((e) => (e.isDirectory() ? listPngs(join(dir, e.name)) : e.isFile() && e.name.toLowerCase().endsWith('.png') ? [join(dir, e.name)] : []));
}

function dataError(message: string, hint: string, cause?: unknown): ExitwiseError {
  return new ExitwiseError('EXW_DATA', message, cause === undefined ? { hint } : { hint, cause });
}
