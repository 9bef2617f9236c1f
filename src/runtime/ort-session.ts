/**
 * The {@link Session} implementation over any ORT package described by a {@link Backend}:
 * converts tensors both ways, checks names before ORT sees them (its messages for those are
 * vague), handles pre-allocated outputs, and turns ORT's exceptions into `ExitwiseError`s.
 */
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { ExitwiseError } from '../errors.ts';
import type { Backend, OrtModule } from './backend.ts';
import type { BackendKind, RunOptions, Session, SessionOptions } from './session.ts';
import { checkTensor, type TensorLike } from './tensor.ts';

/** ORT's messages (node and web alike) for bytes that are not an ONNX model: empty, garbage, no graph. */
const NOT_A_MODEL = /protobuf parsing failed|No graph was found|Model data pointer is null/i;

/** Creates an ORT session for `bytes` on `backend`. */
export async function openOrtSession(backend: Backend, bytes: Uint8Array, options: SessionOptions): Promise<Session> {
  const ort = await backend.load();
  try {
    const inner = await backend.exclusive(() => ort.InferenceSession.create(bytes, backend.sessionOptions(options)));
    return new OrtSession(backend, ort, inner);
  } catch (cause) {
    if (cause instanceof ExitwiseError) throw cause;
    const detail = messageOf(cause);
    if (NOT_A_MODEL.test(detail)) {
      throw new ExitwiseError('EXW_MODEL_DECODE', `ONNX Runtime (${backend.kind}) cannot parse the model: ${detail}`, {
        hint: 'The bytes are not an ONNX model, or are truncated; re-export the model.',
        cause,
      });
    }
    throw new ExitwiseError('EXW_RUNTIME', `ONNX Runtime (${backend.kind}) refused the model: ${detail}`, {
      hint: 'Check that every op and opset in the model is one ONNX Runtime 1.30 supports, and that the graph is valid.',
      cause,
    });
  }
}

class OrtSession implements Session {
  readonly backend: BackendKind;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  #released = false;
  readonly #inflight = new Set<Promise<unknown>>();

  constructor(
    private readonly engine: Backend,
    private readonly ort: OrtModule,
    private readonly inner: InferenceSession,
  ) {
    this.backend = engine.kind;
    this.inputNames = [...inner.inputNames];
    this.outputNames = [...inner.outputNames];
  }

  async run(feeds: Readonly<Record<string, TensorLike>>, options: RunOptions = {}): Promise<Record<string, TensorLike>> {
    if (this.#released) {
      throw new ExitwiseError('EXW_RUNTIME', 'run() on a released session', { hint: 'Create a new session.' });
    }
    const outputs = options.outputs ?? this.outputNames;
    const into = options.into ?? {};
    checkNames('input', Object.keys(feeds), this.inputNames, true);
    checkNames('output', [...new Set([...outputs, ...Object.keys(into)])], this.outputNames, false);
    const missingInto = Object.keys(into).filter((name) => !outputs.includes(name));
    if (missingInto.length > 0) {
      throw new ExitwiseError('EXW_RUNTIME', `pre-allocated output(s) ${missingInto.join(', ')} are not among the fetched outputs`, {
        hint: 'List every name of `into` in `outputs`, or leave `outputs` out to fetch all.',
      });
    }
    const ortFeeds: Record<string, Tensor> = {};
    for (const [name, tensor] of Object.entries(feeds)) ortFeeds[name] = this.toOrt(tensor, `input "${name}"`);
    const preallocate = this.engine.writesPreallocated && Object.keys(into).length > 0;
    const fetches = preallocate
      ? Object.fromEntries(outputs.map((name) => [name, into[name] === undefined ? null : this.toOrt(into[name], `output "${name}"`)]))
      : outputs;

    const call = this.engine.exclusive(() => this.inner.run(ortFeeds, fetches));
    this.#inflight.add(call);
    let results: InferenceSession.ReturnType;
    try {
      results = await call;
    } catch (cause) {
      throw new ExitwiseError('EXW_RUNTIME', `ONNX Runtime (${this.backend}) failed to run the model: ${messageOf(cause)}`, {
        hint: `Check the feeds' shapes and types against the model's inputs (${this.inputNames.join(', ')}), and pre-allocated outputs against what it produces.`,
        cause,
      });
    } finally {
      this.#inflight.delete(call);
    }

    const out: Record<string, TensorLike> = {};
    for (const name of outputs) {
      const result = results[name] as Tensor;
      const target = into[name];
      if (target === undefined) {
        out[name] = { type: result.type, dims: [...result.dims], data: result.data } as TensorLike;
      } else {
        if (!preallocate) copyInto(target, result, name);
        out[name] = target;
      }
    }
    return out;
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    await Promise.allSettled(this.#inflight);
    try {
      await this.engine.exclusive(() => this.inner.release());
    } catch (cause) {
      throw new ExitwiseError('EXW_RUNTIME', `ONNX Runtime (${this.backend}) failed to release a session: ${messageOf(cause)}`, { cause });
    }
  }

  private toOrt(tensor: TensorLike, what: string): Tensor {
    checkTensor(tensor, what);
    try {
      return new this.ort.Tensor(tensor.type, tensor.data, tensor.dims);
    } catch (cause) {
      throw new ExitwiseError('EXW_RUNTIME', `ONNX Runtime (${this.backend}) rejects ${what}: ${messageOf(cause)}`, {
        hint: 'Use one of the tensor types ONNX Runtime supports, with its matching typed array.',
        cause,
      });
    }
  }
}

/** Unknown names always fail; missing ones only where every name is required (feeds). */
function checkNames(kind: 'input' | 'output', given: readonly string[], known: readonly string[], allRequired: boolean): void {
  const unknown = given.filter((name) => !known.includes(name));
  const missing = allRequired ? known.filter((name) => !given.includes(name)) : [];
  if (unknown.length === 0 && missing.length === 0) return;
  const parts = [
    ...(unknown.length > 0 ? [`unknown ${kind}(s) ${unknown.map((n) => `"${n}"`).join(', ')}`] : []),
    ...(missing.length > 0 ? [`missing ${kind}(s) ${missing.map((n) => `"${n}"`).join(', ')}`] : []),
  ];
  throw new ExitwiseError('EXW_RUNTIME', `${parts.join('; ')}`, {
    hint: `The model's ${kind}s are: ${known.map((n) => `"${n}"`).join(', ')}.`,
  });
}

/** The web backend's emulation of pre-allocated outputs; checks match ORT node's in-place writes. */
function copyInto(target: TensorLike, result: Tensor, name: string): void {
  const sameDims = target.dims.length === result.dims.length && target.dims.every((d, i) => d === result.dims[i]);
  if (target.type !== result.type || !sameDims) {
    throw new ExitwiseError(
      'EXW_RUNTIME',
      `pre-allocated output "${name}" is ${target.type}[${target.dims.join(', ')}] but the model produced ${result.type}[${result.dims.join(', ')}]`,
      { hint: 'Pre-allocate outputs with the exact type and dims the model produces for this batch size.' },
    );
  }
  if (Array.isArray(target.data)) target.data.splice(0, target.data.length, ...(result.data as string[]));
  else (target.data as Float32Array).set(result.data as Float32Array);
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
