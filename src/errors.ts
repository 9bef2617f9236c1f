/**
 * Typed errors. Every failure a user can cause carries a stable `code` (`EXW_…`), a message that
 * says what is wrong, and a `hint` that says what to do. The CLI maps codes to exit statuses.
 */

/** Stable error codes, grouped by the exit status the CLI gives them. */
export const ERROR_CODES = {
  /** The model bytes are not a valid ONNX protobuf (truncated, garbage, too large). */
  EXW_MODEL_DECODE: 65,
  /** The model decodes but breaks an ONNX rule (dangling input, missing initializer, cycle…). */
  EXW_MODEL_INVALID: 65,
  /** An op from a domain or opset exitwise and ONNX Runtime do not know. */
  EXW_UNKNOWN_OP: 65,
  /** External tensor data that is missing, out of range, or points outside the model folder. */
  EXW_EXTERNAL_DATA: 65,
  /** A tensor whose data does not match its declared type and shape. */
  EXW_TENSOR_DATA: 65,
  /** Shape inference could not determine a shape it needed. */
  EXW_SHAPE: 65,
  /** Graph surgery asked for something impossible (unknown tensor, cut not separating…). */
  EXW_SURGERY: 65,
  /** The graph builder was used wrongly (bad attribute, mismatched shapes). */
  EXW_BUILD: 65,
  /** A training graph cannot be built (no gradient rule for an op, unsupported attribute, bad loss or parameter). */
  EXW_GRADIENT: 65,
  /** An exit policy, calibration or tuning target is invalid (unknown kind, wrong threshold count, NaN, bad outputs). */
  EXW_POLICY: 65,
  /** An early-exit bundle that is malformed: unknown format version, invalid manifest, missing files, models not matching it. */
  EXW_BUNDLE: 65,
  /** A dataset is missing, corrupt (bad IDX magic, truncated, wrong dims) or fails its checksum. */
  EXW_DATA: 66,
  /** A training checkpoint that is corrupt, truncated, of another format version, or of another model. */
  EXW_CHECKPOINT: 65,
  /** Training diverged: the loss or the gradient norm became NaN or infinite. */
  EXW_DIVERGED: 65,
  /** ONNX Runtime refused to create a session or run it. */
  EXW_RUNTIME: 70,
  /** A file could not be read or written. */
  EXW_IO: 74,
  /** The user stopped a run (SIGINT/SIGTERM) after its state was saved; the hint says how to resume. */
  EXW_INTERRUPTED: 130,
  /** A command-line usage error. */
  EXW_USAGE: 64,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ExitwiseErrorOptions {
  /** What the user can do about it. */
  hint?: string;
  /** The underlying error, if any. */
  cause?: unknown;
}

export class ExitwiseError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: ExitwiseErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ExitwiseError';
    this.code = code;
    this.hint = options.hint;
  }

  /** The CLI exit status for this error (sysexits-style). */
  get exitStatus(): number {
    return ERROR_CODES[this.code];
  }

  toJSON(): { code: ErrorCode; message: string; hint?: string } {
    return this.hint === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, hint: this.hint };
  }
}

/** True when `e` is an ExitwiseError (optionally with the given code). */
export function isExitwiseError(e: unknown, code?: ErrorCode): e is ExitwiseError {
  return e instanceof ExitwiseError && (code === undefined || e.code === code);
}
