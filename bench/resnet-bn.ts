/**
 * The benchmark model: src/nn's ResNet backbone with BatchNormalization (default spec: ResNet-14,
 * width 16, 1×28×28 inputs, 10 classes; its PyTorch twin is bench/torch_models.py) with a mean
 * cross-entropy loss on a `labels` input, every weight trained.
 */
import { clone, create } from '@bufbuild/protobuf';
import { stringAttr } from '../src/autodiff/attributes.ts';
import { buildBackbone, type Resolved, type ResNetSpec } from '../src/nn/index.ts';
import { type ModelProto, ModelProtoSchema, NodeProtoSchema } from '../src/onnx/proto/onnx_pb.ts';
import { valueInfoFromShape } from '../src/onnx/shapes/index.ts';
import { DataType } from '../src/onnx/tensor-data.ts';

export interface BenchModel {
  /** The backbone with the loss node: inputs `image`, `labels`; outputs `loss`, `logits`. */
  model: ModelProto;
  /** The backbone alone (inference form). */
  backbone: ModelProto;
  trainable: string[];
  loss: string;
  input: string;
  logits: string;
  /** The resolved spec, which bench/torch_models.py builds the twin from. */
  spec: Resolved<ResNetSpec>;
}

export function resnetBn(): BenchModel {
  const backbone = buildBackbone({ kind: 'resnet', classes: 10, inputShape: [1, 28, 28], seed: 0 });
  const model = clone(ModelProtoSchema, backbone.model);
  const graph = model.graph!;
  graph.input.push(valueInfoFromShape('labels', { dataType: DataType.INT64, dims: ['N'] }));
  graph.node.push(create(NodeProtoSchema, {
    name: 'loss', opType: 'SoftmaxCrossEntropyLoss', input: [backbone.logits, 'labels'], output: ['loss'], attribute: [stringAttr('reduction', 'mean')],
  }));
  graph.output.unshift(valueInfoFromShape('loss', { dataType: DataType.FLOAT, dims: [] }));
  return {
    model, backbone: backbone.model, trainable: backbone.params.filter((p) => p.trainable).map((p) => p.name), loss: 'loss',
    input: backbone.input, logits: backbone.logits, spec: backbone.spec as Resolved<ResNetSpec>,
  };
}
