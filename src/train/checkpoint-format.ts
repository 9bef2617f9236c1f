/**
 * The checkpoint file format: one file holding a training run's whole state.
 *
 * ```
 * 0   "EXWCKPT\0"                      magic
 * 8   u32 format version               (FORMAT_VERSION)
 * 12  u32 header length H              (bytes of UTF-8 JSON)
 * 16  u64 file length                  (tells truncation apart from corruption)
 * 24  header JSON                      progress, optimizer kind and step, rng, metrics, config, tensor index
 *     zero padding to a multiple of 8
 * D   tensor data                      float32 little-endian, back to back; offsets in the index count from D
 * end SHA-256 of every byte before it  (32 bytes)
 * ```
 * Tensors are raw bytes, not JSON numbers: a ResNet's 175k weights with two Adam slots take 2 MB
 * here and would take ≈ 10 MB as JSON text, with parsing cost to match.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ExitwiseError } from '../errors.ts';
import { VERSION } from '../version.ts';
import type { OptimizerKind, OptimizerState } from './optimizers/types.ts';
import type { NamedTensor, ParamSnapshot } from './params.ts';

/** Bump when the layout or the header's meaning changes; readers refuse other versions. */
export const FORMAT_VERSION = 1;
const MAGIC = new TextEncoder().encode('EXWCKPT\0');
const PRELUDE_BYTES = 24;
const HASH_BYTES = 32;

/** Any value JSON can hold (NaN and ±Infinity become null, as in JSON.stringify). */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Everything a run needs to continue exactly where it stopped. */
export interface TrainingCheckpoint extends ParamSnapshot {
  optimizer: OptimizerState;
  /** Optimizer steps taken: the next update uses `schedule.lr(schedulerStep)`. */
  schedulerStep: number;
  /** The epoch in progress (from 0). */
  epoch: number;
  /** Batches of that epoch already trained: resume at this batch index. */
  batchInEpoch: number;
  /** What the data pipeline needs to regenerate the same batches (e.g. its root seed). */
  rngState: JsonValue;
  /** One entry per logged evaluation, oldest first. */
  metrics: JsonValue[];
  /** The run's resolved configuration. */
  config: JsonValue;
}

/** A checkpoint as read back, with where and by what it was written. */
export interface LoadedCheckpoint extends TrainingCheckpoint {
  path: string;
  exitwiseVersion: string;
  createdAt: string;
}

const count = z.number().int().nonnegative();
const TensorEntrySchema = z.strictObject({
  group: z.enum(['param', 'buffer', 'optimizer']),
  /** Optimizer slot (`momentum`, `expAvg`…); only for group 'optimizer'. */
  slot: z.string().optional(),
  name: z.string(),
  dims: z.array(count),
  /** Bytes from the start of the data section. */
  offset: count,
  /** Elements. */
  length: count,
});
type TensorEntry = z.infer<typeof TensorEntrySchema>;

const HeaderSchema = z.strictObject({
  exitwiseVersion: z.string(),
  createdAt: z.string(),
  schedulerStep: count,
  epoch: count,
  batchInEpoch: count,
  optimizer: z.strictObject({ kind: z.string(), step: count }),
  rngState: z.json(),
  metrics: z.array(z.json()),
  config: z.json(),
  tensors: z.array(TensorEntrySchema),
});
type Header = z.infer<typeof HeaderSchema>;

/** The bytes of a checkpoint file. */
export function encodeCheckpoint(checkpoint: TrainingCheckpoint): Uint8Array {
  checkLittleEndian();
  const tensors: Array<[TensorEntry, Float32Array]> = [];
  let offset = 0;
  const add = (group: TensorEntry['group'], t: NamedTensor, slot?: string) => {
    tensors.push([{ group, ...(slot === undefined ? {} : { slot }), name: t.name, dims: t.dims, offset, length: t.value.length }, t.value]);
    offset += t.value.byteLength;
  };
  for (const t of checkpoint.params) add('param', t);
  for (const t of checkpoint.buffers) add('buffer', t);
  for (const [slot, buffers] of Object.entries(checkpoint.optimizer.slots)) {
    for (const [name, value] of Object.entries(buffers)) add('optimizer', { name, dims: [value.length], value }, slot);
  }
  const header: Header = {
    exitwiseVersion: VERSION,
    createdAt: new Date().toISOString(),
    schedulerStep: checkpoint.schedulerStep,
    epoch: checkpoint.epoch,
    batchInEpoch: checkpoint.batchInEpoch,
    optimizer: { kind: checkpoint.optimizer.kind, step: checkpoint.optimizer.step },
    rngState: checkpoint.rngState,
    metrics: checkpoint.metrics,
    config: checkpoint.config,
    tensors: tensors.map(([entry]) => entry),
  };
  const text = JSON.stringify(header);
  // Refuse to write what could not be read back (a negative epoch, a non-JSON rng state…).
  const checked = HeaderSchema.safeParse(JSON.parse(text));
  if (!checked.success) {
    throw new ExitwiseError('EXW_USAGE', `cannot write this checkpoint: ${checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, {
      hint: 'Progress counters must be integers ≥ 0; rngState, metrics and config must be JSON values.',
    });
  }
  const json = new TextEncoder().encode(text);
  const dataStart = align8(PRELUDE_BYTES + json.byteLength);
  const total = dataStart + offset + HASH_BYTES;
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  bytes.set(MAGIC, 0);
  view.setUint32(8, FORMAT_VERSION, true);
  view.setUint32(12, json.byteLength, true);
  view.setBigUint64(16, BigInt(total), true);
  bytes.set(json, PRELUDE_BYTES);
  for (const [entry, value] of tensors) bytes.set(new Uint8Array(value.buffer, value.byteOffset, value.byteLength), dataStart + entry.offset);
  bytes.set(sha256(bytes.subarray(0, total - HASH_BYTES)), total - HASH_BYTES);
  return bytes;
}

/** Reads checkpoint bytes; `EXW_CHECKPOINT` saying how they are wrong (`path` names the file). */
export function decodeCheckpoint(bytes: Uint8Array, path: string): LoadedCheckpoint {
  checkLittleEndian();
  const fail = (what: string, hint = 'The file is damaged: resume from an earlier checkpoint-*.exwckpt in the folder (pass its path), or start again.') =>
    new ExitwiseError('EXW_CHECKPOINT', `checkpoint ${path} ${what}`, { hint });
  if (bytes.byteLength < MAGIC.byteLength || MAGIC.some((b, i) => bytes[i] !== b)) throw fail('is not an exitwise checkpoint (bad magic bytes)');
  if (bytes.byteLength < PRELUDE_BYTES + HASH_BYTES) throw fail(`is truncated: ${bytes.byteLength} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== FORMAT_VERSION) {
    throw fail(`has format version ${version}; this exitwise (${VERSION}) reads version ${FORMAT_VERSION}`,
      'Resume with the exitwise version that wrote it, or start the run again.');
  }
  const total = Number(view.getBigUint64(16, true));
  if (bytes.byteLength < total) throw fail(`is truncated: ${bytes.byteLength} of ${total} bytes`);
  if (bytes.byteLength > total) throw fail(`has ${bytes.byteLength - total} bytes past its end`);
  const expected = sha256(bytes.subarray(0, total - HASH_BYTES));
  if (expected.some((b, i) => bytes[total - HASH_BYTES + i] !== b)) throw fail('is corrupt: its SHA-256 checksum does not match');

  const headerLength = view.getUint32(12, true);
  const dataStart = align8(PRELUDE_BYTES + headerLength);
  let header: Header;
  try {
    header = HeaderSchema.parse(JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(PRELUDE_BYTES, PRELUDE_BYTES + headerLength))));
  } catch (cause) {
    throw new ExitwiseError('EXW_CHECKPOINT', `checkpoint ${path} has an invalid header: ${(cause as Error).message}`, { hint: 'It was not written by this exitwise version; start the run again.', cause });
  }
  const dataBytes = total - HASH_BYTES - dataStart;
  const checkpoint: LoadedCheckpoint = {
    path, exitwiseVersion: header.exitwiseVersion, createdAt: header.createdAt,
    params: [], buffers: [],
    optimizer: { kind: header.optimizer.kind as OptimizerKind, step: header.optimizer.step, slots: {} },
    schedulerStep: header.schedulerStep, epoch: header.epoch, batchInEpoch: header.batchInEpoch,
    rngState: header.rngState as JsonValue, metrics: header.metrics as JsonValue[], config: header.config as JsonValue,
  };
  for (const entry of header.tensors) {
    const elements = entry.dims.reduce((n, d) => n * d, 1);
    if (elements !== entry.length || entry.offset % 4 !== 0 || entry.offset + 4 * entry.length > dataBytes || (entry.group === 'optimizer') !== (entry.slot !== undefined)) {
      throw fail(`has an inconsistent tensor index entry for "${entry.name}"`);
    }
    // Copied out, so the tensors own aligned buffers and the file bytes can be dropped.
    const start = bytes.byteOffset + dataStart + entry.offset;
    const value = new Float32Array(bytes.buffer.slice(start, start + 4 * entry.length));
    const tensor = { name: entry.name, dims: entry.dims, value };
    if (entry.group === 'param') checkpoint.params.push(tensor);
    else if (entry.group === 'buffer') checkpoint.buffers.push(tensor);
    else (checkpoint.optimizer.slots[entry.slot!] ??= {})[entry.name] = value;
  }
  return checkpoint;
}

function sha256(bytes: Uint8Array): Uint8Array {
  return createHash('sha256').update(bytes).digest();
}

function align8(n: number): number {
  return Math.ceil(n / 8) * 8;
}

/** Tensors are stored as the platform's float32 bytes; every platform Node supports in practice is little-endian. */
function checkLittleEndian(): void {
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
    throw new ExitwiseError('EXW_CHECKPOINT', 'checkpoints are little-endian; this machine is big-endian', { hint: 'Train on a little-endian machine (x86-64, ARM64).' });
  }
}
