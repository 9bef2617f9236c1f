/**
 * ONNX external data: tensors whose bytes live in a separate file next to the model. A model file
 * is untrusted input, so its `location` entries are confined to the model's own folder: `..`
 * components, absolute paths, symbolic links and hard links are refused (a hard link or symlink
 * planted in the folder could otherwise expose any file on the machine).
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, realpathSync } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';
import { ExitwiseError } from '../errors.ts';
import { clearField, create } from '@bufbuild/protobuf';
import {
  type ModelProto,
  StringStringEntryProtoSchema,
  type TensorProto,
  TensorProto_DataLocation,
  TensorProtoSchema,
} from './proto/onnx_pb.ts';
import { forEachGraph, forEachTensor } from './walk.ts';

interface ExternalRef {
  location: string;
  offset: number;
  length: number | undefined;
}

function parseRef(tensor: TensorProto): ExternalRef {
  const entries = new Map(tensor.externalData.map((e) => [e.key, e.value]));
  const location = entries.get('location');
  if (location === undefined || location === '') {
    throw externalError(tensor, 'has data_location EXTERNAL but no "location" entry');
  }
  const offset = parseNonNegative(tensor, 'offset', entries.get('offset')) ?? 0;
  const length = parseNonNegative(tensor, 'length', entries.get('length'));
  return { location, offset, length };
}

function parseNonNegative(tensor: TensorProto, key: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw externalError(tensor, `has external-data ${key} "${value}", not a non-negative integer`);
  }
  return Number(value);
}

function externalError(tensor: TensorProto, what: string): ExitwiseError {
  return new ExitwiseError('EXW_EXTERNAL_DATA', `tensor "${tensor.name}" ${what}`, {
    hint: 'Re-export the model with its external data files in the same folder as the .onnx file.',
  });
}

/**
 * Resolves `location` inside `folder`, refusing anything that could reach outside it.
 * Returns the absolute path of a regular, singly-linked file.
 */
export function confinedPath(folder: string, location: string, tensor: TensorProto): string {
  if (isAbsolute(location) || /^[a-zA-Z]:[\\/]/.test(location) || location.startsWith('\\')) {
    throw externalError(tensor, `points to an absolute path "${location}"; only paths inside the model folder are allowed`);
  }
  const parts = location.split(/[\\/]+/);
  if (parts.includes('..')) {
    throw externalError(tensor, `points to "${location}", which contains ".."; only paths inside the model folder are allowed`);
  }
  const root = realpathSync(folder);
  // Check each component so that a symlinked sub-folder is refused as well as a symlinked file.
  let current = root;
  for (const part of parts.filter((p) => p !== '' && p !== '.')) {
    current = join(current, part);
    let stat;
    try {
      stat = lstatSync(current);
    } catch {
      throw externalError(tensor, `points to "${location}", which does not exist beside the model`);
    }
    if (stat.isSymbolicLink()) {
      throw externalError(tensor, `points to "${location}", which is or passes through a symbolic link`);
    }
  }
  const rel = relative(root, current);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel) || rel.split(sep).includes('..')) {
    throw externalError(tensor, `points to "${location}", outside the model folder`);
  }
  return current;
}

/** Reads the bytes of one external tensor, checking that they lie within the file. */
function readExternal(folder: string, tensor: TensorProto): Uint8Array {
  const ref = parseRef(tensor);
  const path = confinedPath(folder, ref.location, tensor);
  let fd: number;
  try {
    // O_NOFOLLOW: a symlink swapped in after the checks above is still refused.
    fd = openSync(path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
  } catch (cause) {
    throw externalError(tensor, `points to "${ref.location}", which cannot be opened: ${(cause as Error).message}`);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw externalError(tensor, `points to "${ref.location}", which is not a regular file`);
    if (stat.nlink > 1) {
      throw externalError(tensor, `points to "${ref.location}", which has ${stat.nlink} hard links; refusing a file that may live outside the model folder`);
    }
    const length = ref.length ?? stat.size - ref.offset;
    if (ref.offset + length > stat.size || length < 0) {
      throw externalError(tensor, `reads bytes ${ref.offset}..${ref.offset + length} of "${ref.location}", which has only ${stat.size}`);
    }
    const bytes = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const n = readSync(fd, bytes, done, length - done, ref.offset + done);
      if (n === 0) throw externalError(tensor, `hit the end of "${ref.location}" early`);
      done += n;
    }
    return bytes;
  } finally {
    closeSync(fd);
  }
}

/** Replaces every external tensor in the model by an in-memory one (raw_data), in place. */
export function resolveExternalData(model: ModelProto, folder: string): void {
  forEachTensor(model, (tensor) => {
    if (tensor.dataLocation !== TensorProto_DataLocation.EXTERNAL) return;
    tensor.rawData = readExternal(folder, tensor);
    // Cleared, not set to DEFAULT: proto2 fields have presence, and an explicit DEFAULT would
    // make the resolved model differ from one that never had external data.
    clearField(tensor, TensorProtoSchema.field.dataLocation);
    tensor.externalData = [];
  });
}

/** Tensors at least this large go to the data file when saving with external data (ONNX's default too). */
export const DEFAULT_EXTERNAL_THRESHOLD = 1024;

/**
 * Moves the raw_data of every initializer of at least `threshold` bytes into one data blob, in
 * place: each tensor becomes EXTERNAL with `location`, `offset` and `length` entries. Returns the
 * blob to write as `location` beside the model.
 */
export function externalizeInitializers(model: ModelProto, location: string, threshold = DEFAULT_EXTERNAL_THRESHOLD): Uint8Array {
  const chunks: Uint8Array[] = [];
  let offset = 0;
  forEachGraph(model, (graph) => {
    for (const tensor of graph.initializer) {
      if (tensor.dataLocation === TensorProto_DataLocation.EXTERNAL || tensor.rawData.byteLength < threshold) continue;
      const length = tensor.rawData.byteLength;
      chunks.push(tensor.rawData);
      tensor.externalData = [
        create(StringStringEntryProtoSchema, { key: 'location', value: location }),
        create(StringStringEntryProtoSchema, { key: 'offset', value: String(offset) }),
        create(StringStringEntryProtoSchema, { key: 'length', value: String(length) }),
      ];
      tensor.dataLocation = TensorProto_DataLocation.EXTERNAL;
      tensor.rawData = new Uint8Array(0);
      offset += length;
    }
  });
  const blob = new Uint8Array(offset);
  let at = 0;
  for (const chunk of chunks) {
    blob.set(chunk, at);
    at += chunk.byteLength;
  }
  return blob;
}

/** True when any tensor of the model keeps its data in an external file. */
export function hasExternalData(model: ModelProto): boolean {
  let found = false;
  forEachTensor(model, (t) => {
    if (t.dataLocation === TensorProto_DataLocation.EXTERNAL) found = true;
  });
  return found;
}
