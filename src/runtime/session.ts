/**
 * One session interface over ONNX Runtime's engines: `onnxruntime-node` (native, Node only) and
 * `onnxruntime-web` (WebAssembly: browsers, and Node so that browser code paths run in CI).
 * Callers see backend-neutral {@link TensorLike} values and typed errors; the machinery lives in
 * `ort-session.ts` and one file per backend.
 */
import type { ModelProto } from '../onnx/proto/onnx_pb.ts';
import { ExitwiseError } from '../errors.ts';
import { encodeModel, loadModel } from '../onnx/model-io.ts';
import type { Backend } from './backend.ts';
import { openOrtSession } from './ort-session.ts';
import type { TensorLike } from './tensor.ts';

/** Which ONNX Runtime package executes the model. */
export type BackendKind = 'node' | 'web';

/** ORT graph optimization levels: from none, through constant folding and fusions, to layout changes. */
export type OptimizationLevel = 'disabled' | 'basic' | 'extended' | 'all';

export interface SessionOptions {
  /** Default `'node'`: the native engine is several times faster than wasm on the same CPU. */
  backend?: BackendKind;
  /**
   * Intra-op threads. Default: ONNX Runtime's choice (node: one per physical core; web in Node:
   * `min(4, ceil(cpus / 2))`). On `'web'` the wasm thread pool is process-wide and fixed by the
   * first web session: a later session asking for another count gets `EXW_RUNTIME`.
   */
  threads?: number;
  /** Default `'all'`, ORT's own default. */
  optimizationLevel?: OptimizationLevel;
  /**
   * Whether idle intra-op threads spin waiting for work (node; default true, ORT's default).
   * Spinning shortens one session's wake-up, but the idle pools of several multi-threaded
   * sessions run in turn (a bundle's segments) spin on the cores the running one needs.
   */
  spinning?: boolean;
}

export interface RunOptions {
  /** Outputs to fetch (default: all of the model's outputs). */
  outputs?: readonly string[];
  /**
   * Pre-allocated outputs, by name: ORT writes into their `data` and `run` returns these same
   * objects, so a loop over equal-sized batches can pass the previous result back in and stop
   * allocating. Dims and type must match what the model produces (`EXW_RUNTIME` otherwise).
   * The node backend writes in place; the web backend copies the result in (ORT web only
   * honours pre-allocated outputs for GPU buffers and leaves CPU ones unwritten).
   */
  into?: Readonly<Record<string, TensorLike>>;
}

/**
 * A loaded model ready to run.
 *
 * Concurrency: on `'node'` overlapping `run` calls execute in parallel (ORT's Run is
 * thread-safe); on `'web'` every call into the wasm engine goes through one process-wide queue,
 * because the wasm module's stack and heap are shared by all its sessions.
 */
export interface Session {
  readonly backend: BackendKind;
  /** Names the caller must feed (initializers excluded). */
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /**
   * Runs the model. Unknown or missing feed names, unknown output names, and anything ORT
   * refuses (wrong shape or type) give `EXW_RUNTIME` with ORT's message.
   */
  run(feeds: Readonly<Record<string, TensorLike>>, options?: RunOptions): Promise<Record<string, TensorLike>>;
  /** Frees the engine's memory after in-flight runs finish. Calling it again does nothing. */
  release(): Promise<void>;
}

/** Backends are loaded on first use, so Node never loads the wasm engine unless asked to. */
const BACKENDS: Record<BackendKind, () => Promise<Backend>> = {
  node: async () => (await import('./node-backend.ts')).nodeBackend,
  web: async () => (await import('./web-backend.ts')).webBackend,
};

/**
 * Creates a session from a model message, ONNX bytes, or a path (external data is resolved
 * inside the model's folder). Bytes ORT cannot parse give `EXW_MODEL_DECODE`; a model it
 * refuses gives `EXW_RUNTIME`.
 *
 * @example
 * const session = await createSession('model.onnx', { backend: 'web', threads: 1 });
 * const { y } = await session.run({ x: float32Tensor([1, 2, 3], [1, 3]) });
 * await session.release();
 */
export async function createSession(model: ModelProto | Uint8Array | string, options: SessionOptions = {}): Promise<Session> {
  const kind = options.backend ?? 'node';
  const load = BACKENDS[kind];
  if (load === undefined) {
    throw new ExitwiseError('EXW_RUNTIME', `unknown backend "${String(kind)}"`, {
      hint: `Use one of: ${Object.keys(BACKENDS).join(', ')}.`,
    });
  }
  const bytes = typeof model === 'string' ? encodeModel(loadModel(model)) : model instanceof Uint8Array ? model : encodeModel(model);
  return openOrtSession(await load(), bytes, options);
}
