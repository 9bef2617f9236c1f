/**
 * The WebAssembly backend: `onnxruntime-web`. In Node the package's exports map resolves to
 * `dist/ort.node.min.mjs`, which finds `ort-wasm-simd-threaded.{mjs,wasm}` beside itself in
 * node_modules, so nothing is fetched and no `wasmPaths` is needed. Multi-threaded wasm works in
 * Node (ORT spawns worker_threads; cross-origin isolation is a browser-only condition), but the
 * thread pool is created once per process, when the first session initialises the wasm module.
 */
import { ExitwiseError } from '../errors.ts';
import { type Backend, checkThreads, ORT_LOG_SEVERITY_FATAL, type OrtModule } from './backend.ts';

interface WebModule extends OrtModule {
  readonly env: { wasm: { numThreads?: number } };
}

let loading: Promise<WebModule> | undefined;
let loaded: WebModule | undefined;
/** Whether a session has been created, fixing the thread pool (ORT then normalises numThreads). */
let poolFixed = false;
/**
 * Tail of the queue of engine calls. ORT web's run() allocates on the wasm stack, which all
 * sessions share, and then awaits before using it; overlapping calls did not fail in our trials
 * (1,600 overlapping runs), but nothing documents them as safe, and queuing costs nothing.
 */
let queue: Promise<unknown> = Promise.resolve();

async function importWeb(): Promise<WebModule> {
  try {
    loaded = (await import('onnxruntime-web')) as unknown as WebModule;
    return loaded;
  } catch (cause) {
    loading = undefined;
    throw new ExitwiseError('EXW_RUNTIME', `cannot load onnxruntime-web: ${(cause as Error).message}`, {
      hint: 'Reinstall dependencies (npm ci).',
      cause,
    });
  }
}

export const webBackend: Backend = {
  kind: 'web',
  load() {
    loading ??= importWeb();
    return loading;
  },
  // Called inside `exclusive`, after `load`: the previous session creation has finished.
  sessionOptions({ threads, optimizationLevel }) {
    checkThreads(threads);
    const wasm = (loaded as WebModule).env.wasm;
    if (!poolFixed) {
      if (threads !== undefined) wasm.numThreads = threads;
      poolFixed = true;
    } else if (threads !== undefined && threads !== wasm.numThreads) {
      throw new ExitwiseError(
        'EXW_RUNTIME',
        `the web backend already runs with ${wasm.numThreads} thread(s); a session cannot ask for ${threads}`,
        { hint: 'The wasm thread pool is fixed per process by the first web session: use one thread count, or a separate process.' },
      );
    }
    return { executionProviders: ['wasm'], graphOptimizationLevel: optimizationLevel ?? 'all', logSeverityLevel: ORT_LOG_SEVERITY_FATAL };
  },
  writesPreallocated: false,
  exclusive(call) {
    const result = queue.then(call);
    queue = result.catch(() => undefined);
    return result;
  },
};
