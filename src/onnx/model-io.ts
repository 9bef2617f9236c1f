/**
 * Reading and writing ONNX `ModelProto`s: bytes ⇄ message, files ⇄ message (with external data
 * resolved safely inside the model's folder), atomic writes.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { clone, create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { ExitwiseError } from '../errors.ts';
import { writeFileAtomic } from '../io/atomic-write.ts';
import { externalizeInitializers, resolveExternalData } from './external-data.ts';
import { type ModelProto, ModelProtoSchema } from './proto/onnx_pb.ts';

/** Protobuf messages cannot exceed 2 GiB; larger models must use external data. */
export const MAX_MODEL_BYTES = 2 ** 31 - 1;

/**
 * Deepest message nesting the decoder accepts: protobuf C++'s default, so exitwise reads what
 * ONNX Runtime reads. A subgraph level costs three messages (graph → node → attribute), so
 * subgraphs nest at most 33 deep, and every later recursive walk over graphs (validation, shape
 * inference, surgery) stays far from the stack limit.
 */
export const MAX_MESSAGE_NESTING = 100;

export interface DecodeOptions {
  /** Refuse inputs larger than this many bytes (default: the protobuf limit, 2 GiB − 1). */
  maxBytes?: number;
  /** Where the bytes came from, for error messages. */
  source?: string;
}

/** Decodes ONNX model bytes. Truncated, garbage or oversized input gives `EXW_MODEL_DECODE`. */
export function decodeModel(bytes: Uint8Array, options: DecodeOptions = {}): ModelProto {
  const maxBytes = options.maxBytes ?? MAX_MODEL_BYTES;
  const source = options.source ?? 'model';
  if (bytes.byteLength > maxBytes) {
    throw new ExitwiseError(
      'EXW_MODEL_DECODE',
      `${source} is ${bytes.byteLength} bytes, over the ${maxBytes}-byte limit for one protobuf message`,
      { hint: 'Store large weights as ONNX external data (a .onnx file plus a data file beside it).' },
    );
  }
  if (bytes.byteLength === 0) {
    throw new ExitwiseError('EXW_MODEL_DECODE', `${source} is empty`, {
      hint: 'Check that the file is a complete .onnx model.',
    });
  }
  let model: ModelProto;
  try {
    model = fromBinary(ModelProtoSchema, bytes, { recursionLimit: MAX_MESSAGE_NESTING });
  } catch (cause) {
    // Covers premature EOF, bad wire types, and nesting deeper than MAX_MESSAGE_NESTING.
    const detail = cause instanceof Error ? cause.message : String(cause);
    throw new ExitwiseError('EXW_MODEL_DECODE', `${source} is not a valid ONNX protobuf: ${detail}`, {
      hint: 'The file may be truncated or not an ONNX model; re-export it.',
      cause,
    });
  }
  if (model.graph === undefined) {
    throw new ExitwiseError('EXW_MODEL_DECODE', `${source} decodes but holds no graph`, {
      hint: 'Bytes that happen to parse as protobuf are not necessarily a model; re-export it.',
    });
  }
  return model;
}

/** Encodes a model to protobuf bytes. Unknown fields read from newer ONNX versions are kept. */
export function encodeModel(model: ModelProto): Uint8Array {
  return toBinary(ModelProtoSchema, model);
}

export interface LoadOptions extends DecodeOptions {
  /**
   * Read external tensor data into the tensors (default true). The loaded model is then
   * self-contained: it can be encoded and handed to ONNX Runtime as one buffer.
   */
  loadExternalData?: boolean;
}

/** Reads an ONNX model file, resolving external data inside the model's own folder only. */
export function loadModel(path: string, options: LoadOptions = {}): ModelProto {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (cause) {
    throw new ExitwiseError('EXW_IO', `cannot read model ${path}: ${(cause as Error).message}`, {
      hint: 'Check the path.',
      cause,
    });
  }
  const model = decodeModel(bytes, { ...options, source: options.source ?? path });
  if (options.loadExternalData ?? true) resolveExternalData(model, dirname(path));
  return model;
}

export interface SaveOptions {
  /**
   * Store initializers of at least `threshold` bytes (default 1024) in the file `location`,
   * beside the model (a bare file name). Needed above 2 GiB; ORT and exitwise both read it back.
   */
  externalData?: { location: string; threshold?: number };
}

/**
 * Writes a model atomically (a temporary file renamed over the target): a kill never leaves half
 * a model. With `externalData`, the data file is written first, so a model file never points to
 * missing data. The given model is not changed.
 */
export function saveModel(path: string, model: ModelProto, options: SaveOptions = {}): void {
  const external = options.externalData;
  if (external === undefined) {
    writeFileAtomic(path, encodeModel(model));
    return;
  }
  if (!/^[^\\/]+$/.test(external.location) || external.location === '.' || external.location === '..') {
    throw new ExitwiseError('EXW_EXTERNAL_DATA', `external data location "${external.location}" must be a bare file name`, {
      hint: 'The data file lives beside the model; pass a name such as "model.onnx.data".',
    });
  }
  const copy = clone(ModelProtoSchema, model);
  const blob = externalizeInitializers(copy, external.location, external.threshold);
  writeFileAtomic(join(dirname(path), external.location), blob);
  writeFileAtomic(path, encodeModel(copy));
}

/** A new empty model with the given opset, for builders. */
export function emptyModel(opset = DEFAULT_OPSET): ModelProto {
  return create(ModelProtoSchema, {
    irVersion: 8n,
    producerName: 'exitwise',
    opsetImport: [{ domain: '', version: BigInt(opset) }],
    graph: { name: 'main' },
  });
}

/** Opset for graphs exitwise builds: 17 has LayerNormalization and is run by every ORT since 1.14. */
export const DEFAULT_OPSET = 17;
