/**
 * A bundle back as one multi-exit model, so that its exits can be trained again (personalised):
 * the stage and exit graphs are concatenated, chaining by tensor names (stage k's outputs are
 * what exit k and stage k+1 read). Weights and nodes are the bundle's, unchanged.
 */
import { clone, create } from '@bufbuild/protobuf';
import type { Bundle } from '../../bundle/io.ts';
import { ExitwiseError } from '../../errors.ts';
import type { MultiExitModel } from '../../exits/attach.ts';
import { ModelProtoSchema, OperatorSetIdProtoSchema } from '../../onnx/proto/onnx_pb.ts';
import { validateModel } from '../../onnx/validate.ts';

/**
 * Reassembles `bundle` (from `loadBundle`) into the multi-exit model it was cut from: inputs those
 * of stage 0, outputs every exit's logits in order. Segments that share a tensor (a constant both
 * extracted) contribute it once. `EXW_BUNDLE` when the segments do not chain into a valid model.
 *
 * @example
 * const multiExit = multiExitFromBundle(loadBundle('fashion.exitwise'));
 * multiExit.exitLogits.length === bundle.manifest.exits.length; // true
 */
export function multiExitFromBundle(bundle: Bundle): MultiExitModel {
  const { manifest } = bundle;
  const model = create(ModelProtoSchema, {
    irVersion: maxOf([...bundle.stages, ...bundle.exits].map((m) => m.irVersion)),
    producerName: 'exitwise',
    graph: { name: 'multi-exit' },
  });
  const graph = model.graph!;
  const opsets = new Map<string, bigint>();
  const defined = new Set<string>();
  const initializers = new Set<string>();
  const valueInfo = new Set<string>();
  const segments = manifest.stages.flatMap((_, k) => [bundle.stages[k]!, bundle.exits[k]!]);
  const first = bundle.stages[0]!.graph!;
  const firstInitializers = new Set(first.initializer.map((t) => t.name));
  graph.input = first.input.filter((v) => !firstInitializers.has(v.name));
  for (const v of graph.input) defined.add(v.name);
  for (const segment of segments) {
    for (const o of segment.opsetImport) opsets.set(o.domain, o.version > (opsets.get(o.domain) ?? 0n) ? o.version : opsets.get(o.domain)!);
    const g = segment.graph!;
    for (const t of g.initializer) {
      if (!initializers.has(t.name)) graph.initializer.push(t);
      initializers.add(t.name);
    }
    for (const node of g.node) {
      // A node copied into two segments (a constant both need) is kept once.
      if (node.output.every((o) => o === '' || defined.has(o))) continue;
      graph.node.push(node);
      for (const o of node.output) defined.add(o);
    }
    for (const v of g.valueInfo) {
      if (!valueInfo.has(v.name)) graph.valueInfo.push(v);
      valueInfo.add(v.name);
    }
  }
  model.opsetImport = [...opsets].map(([domain, version]) => create(OperatorSetIdProtoSchema, { domain, version }));
  graph.output = bundle.exits.map((e, k) => {
    const out = e.graph!.output.find((o) => o.name === manifest.exits[k]!.output);
    if (out === undefined) throw new ExitwiseError('EXW_BUNDLE', `exit ${k} has no output "${manifest.exits[k]!.output}"`, { hint: 'Re-export the bundle.' });
    return out;
  });
  // The segments' messages were shared above; the model gets its own copy.
  const result = clone(ModelProtoSchema, model);
  try {
    validateModel(result);
  } catch (cause) {
    throw new ExitwiseError('EXW_BUNDLE', `the bundle's segments do not chain into one model: ${(cause as Error).message}`, { hint: 'Re-export the bundle.', cause });
  }
  return {
    model: result,
    exitLogits: manifest.exits.map((e) => e.output),
    exitTensors: manifest.exits.slice(0, -1).map((e) => e.input),
  };
}

function maxOf(values: readonly bigint[]): bigint {
  return values.reduce((m, v) => (v > m ? v : m), 0n);
}
