/**
 * The native backend: `onnxruntime-node`, ORT's CPU execution provider in-process. Threads are
 * per session; overlapping runs execute in parallel, since ORT's Run is thread-safe.
 */
import { createRequire } from 'node:module';
import { ExitwiseError } from '../errors.ts';
import { type Backend, checkThreads, ORT_LOG_SEVERITY_FATAL, type OrtModule } from './backend.ts';

let ort: OrtModule | undefined;

export const nodeBackend: Backend = {
  kind: 'node',
  async load() {
    try {
      // A CommonJS package: require gives its exports object directly.
      ort ??= createRequire(import.meta.url)('onnxruntime-node') as OrtModule;
    } catch (cause) {
      throw new ExitwiseError('EXW_RUNTIME', `cannot load onnxruntime-node: ${(cause as Error).message}`, {
        hint: 'Reinstall dependencies (npm ci); on platforms without native ORT binaries use backend "web".',
        cause,
      });
    }
    return ort;
  },
  sessionOptions({ threads, optimizationLevel, spinning }) {
    checkThreads(threads);
    return {
      executionProviders: ['cpu'],
      graphOptimizationLevel: optimizationLevel ?? 'all',
      logSeverityLevel: ORT_LOG_SEVERITY_FATAL,
      ...(threads === undefined ? {} : { intraOpNumThreads: threads }),
      ...(spinning === false ? { extra: { session: { intra_op: { allow_spinning: '0' } } } } : {}),
    };
  },
  writesPreallocated: true,
  exclusive: (call) => call(),
};
