/**
 * Reading a model's intermediate tensors: the oracle for surgery tests (a cut stage must produce
 * exactly the tensor the whole model computed there) and a fallback when static shape inference
 * cannot determine a shape.
 */
import { clone, create } from '@bufbuild/protobuf';
import { ExitwiseError } from '../errors.ts';
import { type ModelProto, ModelProtoSchema, ValueInfoProtoSchema } from '../onnx/proto/onnx_pb.ts';
import { createSession, type SessionOptions } from './session.ts';
import type { TensorLike } from './tensor.ts';

/**
 * Runs `model` once with the named tensors added as graph outputs and returns them, by name.
 * Names may be any node output, graph input or initializer of the main graph; others give
 * `EXW_SURGERY`. The model itself is not changed. One session is created and released per call.
 *
 * @example
 * const { hidden } = await runModelWithIntermediates(model, { x }, ['hidden']);
 */
export async function runModelWithIntermediates(
  model: ModelProto,
  feeds: Readonly<Record<string, TensorLike>>,
  tensorNames: readonly string[],
  options: SessionOptions = {},
): Promise<Record<string, TensorLike>> {
  const graph = model.graph;
  if (graph === undefined) {
    throw new ExitwiseError('EXW_MODEL_INVALID', 'model has no graph', { hint: 'Load a complete ONNX model.' });
  }
  const known = new Set([
    ...graph.input.map((v) => v.name),
    ...graph.initializer.map((t) => t.name),
    ...graph.node.flatMap((n) => n.output),
  ]);
  const unknown = tensorNames.filter((name) => name === '' || !known.has(name));
  if (unknown.length > 0) {
    throw new ExitwiseError('EXW_SURGERY', `no tensor named ${unknown.map((n) => `"${n}"`).join(', ')} in the main graph`, {
      hint: 'Name a node output, graph input or initializer of the main graph (subgraph tensors cannot be fetched).',
    });
  }
  const probed = clone(ModelProtoSchema, model);
  const outputs = new Set(graph.output.map((v) => v.name));
  // No type is given: ORT infers the type of an added output from its producer.
  for (const name of new Set(tensorNames)) {
    if (!outputs.has(name)) probed.graph?.output.push(create(ValueInfoProtoSchema, { name }));
  }
  const session = await createSession(probed, options);
  try {
    return await session.run(feeds, { outputs: [...new Set(tensorNames)] });
  } finally {
    await session.release();
  }
}
