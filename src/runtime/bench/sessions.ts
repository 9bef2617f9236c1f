/**
 * Sessions of the benchmark's baselines, opened the way the adaptive runtime opens its own
 * (src/runtime/adaptive/calls.ts: on `'node'`, direct calls into onnxruntime-node's binding), so
 * that every variant pays the same cost per ONNX Runtime call and the comparison measures what
 * early exit and compaction change, not how a call is made.
 */
import type { ModelProto } from '../../onnx/proto/onnx_pb.ts';
import { openSegmentSession, type SegmentSession } from '../adaptive/calls.ts';

export type { SegmentSession } from '../adaptive/calls.ts';

/** Options shared by every session of a benchmark. */
export interface BenchSessionOptions {
  /** ORT intra-op threads (default: ORT's choice). */
  threads?: number;
  /** Idle threads spin (ORT's default; right for the plain model, a single session). Default: as the runtime's segments. */
  spinning?: boolean;
}

export function openBenchSession(model: ModelProto, options: BenchSessionOptions): Promise<SegmentSession> {
  return openSegmentSession(model, { backend: 'node', threads: options.threads, direct: true, ...(options.spinning === undefined ? {} : { spinning: options.spinning }) });
}
