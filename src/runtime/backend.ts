/**
 * What `ort-session.ts` needs from an ONNX Runtime package. Each backend file fills this in; the
 * session logic (feeds, fetches, errors, release) is written once against it.
 */
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { ExitwiseError } from '../errors.ts';
import type { BackendKind, SessionOptions } from './session.ts';

/** The part of an `onnxruntime-*` module namespace the session layer uses. */
export interface OrtModule {
  readonly InferenceSession: { create(bytes: Uint8Array, options?: InferenceSession.SessionOptions): Promise<InferenceSession> };
  readonly Tensor: new (type: Tensor.Type, data: Tensor.DataType, dims: readonly number[]) => Tensor;
}

export interface Backend {
  readonly kind: BackendKind;
  /** Loads the ORT package (once); `EXW_RUNTIME` when it cannot be loaded. */
  load(): Promise<OrtModule>;
  /** ORT session options for ours; `EXW_RUNTIME` for options this backend cannot honour. */
  sessionOptions(options: SessionOptions): InferenceSession.SessionOptions;
  /** True when ORT writes pre-allocated CPU outputs in place (else `run` copies into them). */
  readonly writesPreallocated: boolean;
  /** Runs a call into the engine; backends that cannot overlap calls queue them here. */
  exclusive<T>(call: () => Promise<T>): Promise<T>;
}

/**
 * ORT logs only fatal problems: its warnings (unused initializers, shape merges) would flood
 * logs, and its errors reach the caller anyway, as the message of an `EXW_RUNTIME`.
 */
export const ORT_LOG_SEVERITY_FATAL = 4;

/** Rejects thread counts ORT would silently misread. */
export function checkThreads(threads: number | undefined): void {
  if (threads !== undefined && !(Number.isSafeInteger(threads) && threads >= 1)) {
    throw new ExitwiseError('EXW_RUNTIME', `threads must be a positive integer, got ${threads}`, {
      hint: 'Pass a thread count of 1 or more, or leave it out for ONNX Runtime\'s default.',
    });
  }
}
