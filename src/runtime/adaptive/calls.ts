/**
 * How the runtime calls ONNX Runtime for one segment. Through `createSession` by default; on
 * `'node'`, straight into onnxruntime-node's native binding instead, synchronously. A call
 * through the public API costs ≈ 25–28 µs of CPU beyond the kernels (onnxruntime-common's
 * checks, a `setImmediate` hop, output tensors built through their validating constructor); the
 * binding itself ≈ 10 µs (bench/adaptive-overhead.ts). An adaptive run makes one call per exit
 * where the plain model makes one in all, so at batch 1 on an MNIST-size network this is most of
 * what separates them. The public API runs the same binding call synchronously on the main thread
 * too (inside `setImmediate`), so blocking is unchanged.
 *
 * The binding is not a public entry point of onnxruntime-node: it is looked up once, checked to
 * have the methods used here, and when anything differs the public API is used instead.
 */
import { createRequire } from 'node:module';
import { ExitwiseError } from '../../errors.ts';
import { encodeModel } from '../../onnx/model-io.ts';
import type { ModelProto } from '../../onnx/proto/onnx_pb.ts';
import { nodeBackend } from '../node-backend.ts';
import { type BackendKind, createSession } from '../session.ts';
import type { TensorLike } from '../tensor.ts';
import type { LiveTensors } from './rows.ts';

/** What the runtime needs from a segment's session. */
export interface SegmentSession {
  /** Runs the segment on `feeds`, returning `outputs` by name. */
  run(feeds: LiveTensors, outputs: readonly string[]): Promise<LiveTensors>;
  release(): Promise<void>;
}

export interface SegmentSessionOptions {
  backend: BackendKind;
  threads?: number | undefined;
  /** Call onnxruntime-node's binding directly when available (node only). */
  direct: boolean;
  /**
   * Let idle intra-op threads spin (node). Default: only for a single-threaded session — a
   * segment runs between others, each with its own pool, and idle pools spinning on the cores
   * the running one needs made a 2-thread bundle 4.5× slower than its plain model.
   */
  spinning?: boolean;
}

/** Opens `model` for the runtime: a direct binding session when asked for and available, else a {@link createSession} session. */
export async function openSegmentSession(model: ModelProto, options: SegmentSessionOptions): Promise<SegmentSession> {
  const threads = { ...(options.threads === undefined ? {} : { threads: options.threads }), spinning: options.spinning ?? options.threads === 1 };
  const native = options.direct && options.backend === 'node' ? loadNative() : undefined;
  if (native !== undefined) return new NativeSegment(native, model, nodeBackend.sessionOptions(threads));
  const session = await createSession(model, { backend: options.backend, ...threads });
  return {
    run: (feeds, outputs) => session.run(feeds, { outputs }),
    release: () => session.release(),
  };
}

/** The part of `onnxruntime-node/dist/binding.js` used here. */
interface NativeBinding {
  InferenceSession: new () => NativeSession;
}
interface NativeSession {
  loadModel(buffer: ArrayBufferLike, byteOffset: number, byteLength: number, options: object): void;
  run(feeds: Record<string, OrtTensor>, fetches: Record<string, null>, options: object): Record<string, OrtTensor>;
  dispose(): void;
}
interface OrtTensor {
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: unknown;
}
interface Native {
  binding: NativeBinding;
  Tensor: new (type: string, data: unknown, dims: readonly number[]) => OrtTensor;
}

let native: Native | null | undefined;

/** Whether runs on `'node'` can call the native binding directly (false: they go through the public API). */
export function directCallsAvailable(): boolean {
  return loadNative() !== undefined;
}

/** The binding and onnxruntime-node's Tensor class, or undefined when they are not what this file expects. */
function loadNative(): Native | undefined {
  if (native === undefined) {
    try {
      const require = createRequire(import.meta.url);
      const ort = require('onnxruntime-node') as { Tensor: Native['Tensor'] };
      const { binding, initOrt } = require('onnxruntime-node/dist/binding.js') as { binding?: Partial<NativeBinding>; initOrt?: () => void };
      const proto = binding?.InferenceSession?.prototype as Partial<NativeSession> | undefined;
      const usable = typeof initOrt === 'function' && typeof ort.Tensor === 'function'
        && typeof proto?.loadModel === 'function' && typeof proto.run === 'function' && typeof proto.dispose === 'function';
      if (usable) initOrt(); // what onnxruntime-node does before its first session: logging, and the Tensor class its outputs are made of
      native = usable ? { binding: binding as NativeBinding, Tensor: ort.Tensor } : null;
    } catch {
      native = null;
    }
  }
  return native ?? undefined;
}

class NativeSegment implements SegmentSession {
  readonly #native: Native;
  readonly #session: NativeSession;
  #released = false;

  constructor(nativeApi: Native, model: ModelProto, options: object) {
    this.#native = nativeApi;
    const bytes = encodeModel(model);
    try {
      this.#session = new nativeApi.binding.InferenceSession();
      this.#session.loadModel(bytes.buffer, bytes.byteOffset, bytes.byteLength, options);
    } catch (cause) {
      throw new ExitwiseError('EXW_RUNTIME', `ONNX Runtime (node) refused a segment: ${(cause as Error).message}`, {
        hint: 'Check that every op and opset in the bundle is one ONNX Runtime 1.30 supports.',
        cause,
      });
    }
  }

  async run(feeds: LiveTensors, outputs: readonly string[]): Promise<LiveTensors> {
    if (this.#released) throw new ExitwiseError('EXW_RUNTIME', 'run() on a released session', { hint: 'Open the runtime again.' });
    const { Tensor } = this.#native;
    const ortFeeds: Record<string, OrtTensor> = {};
    for (const name in feeds) {
      const t = feeds[name]!;
      ortFeeds[name] = new Tensor(t.type, t.data, t.dims);
    }
    const fetches: Record<string, null> = {};
    for (const name of outputs) fetches[name] = null;
    let results: Record<string, OrtTensor>;
    try {
      results = this.#session.run(ortFeeds, fetches, {});
    } catch (cause) {
      throw new ExitwiseError('EXW_RUNTIME', `ONNX Runtime (node) failed to run a segment: ${(cause as Error).message}`, {
        hint: 'Check the inputs against the bundle manifest\'s input shape.',
        cause,
      });
    }
    const out: LiveTensors = {};
    for (const name of outputs) {
      const r = results[name]!;
      out[name] = { type: r.type, dims: [...r.dims], data: r.data } as TensorLike;
    }
    return out;
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    this.#session.dispose();
  }
}
