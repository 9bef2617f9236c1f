/**
 * exitwise: early-exit neural networks on ONNX and ONNX Runtime.
 *
 * The public API. Everything here is ONNX-in, ONNX-out: models are `ModelProto`s read with
 * `loadModel`, built with `GraphBuilder`, measured with `analyzeCost`, cut with `splitModel`,
 * and run with `createSession` on onnxruntime-node or onnxruntime-web.
 */
export { ExitwiseError, isExitwiseError, ERROR_CODES, type ErrorCode } from './errors.ts';
export { VERSION } from './version.ts';

export { decodeModel, encodeModel, loadModel, saveModel, emptyModel, DEFAULT_OPSET } from './onnx/model-io.ts';
export type { ModelProto, GraphProto, NodeProto, TensorProto, ValueInfoProto } from './onnx/proto/onnx_pb.ts';
export { DataType, dataTypeName, tensorToArray, arrayToTensor, type TensorValues } from './onnx/tensor-data.ts';
export { validateModel, checkModel, type ValidationReport, type ValidationIssue } from './onnx/validate.ts';
export { indexGraph, type GraphIndex } from './onnx/graph-index.ts';

export { GraphBuilder, type Tensor } from './onnx/builder/index.ts';
export { inferShapes, inferShapesStatic, formatShape } from './onnx/shapes/index.ts';
export type { Dim, TensorShape, ShapeInference } from './onnx/shapes/types.ts';
export { analyzeCost, cumulativeFlops, type CostReport, type NodeCost } from './onnx/cost/index.ts';

export { extractSubgraph } from './onnx/surgery/extract.ts';
export { splitModel, type Stage, type SplitOptions, type CrossingPolicy } from './onnx/surgery/split.ts';
export { findCutPoints } from './onnx/surgery/cut-points.ts';
export { inspectModel, inspectModelFile } from './onnx/inspect.ts';
export { InspectReportSchema, type InspectReport } from './schemas/inspect.ts';

export { createSession, type Session, type SessionOptions, type BackendKind, type RunOptions } from './runtime/session.ts';
export { float32Tensor, int64Tensor, type TensorLike } from './runtime/tensor.ts';
export { runModelWithIntermediates } from './runtime/intermediates.ts';

export { buildBackbone, backboneKinds, type Backbone, type BackboneSpec, type ResNetSpec, type PlainCnnSpec, type ParamInfo, type ParamRole } from './nn/index.ts';

export { loadDataset, datasetSpec, DATASETS } from './data/registry.ts';
export type { Dataset, DatasetSplit } from './data/dataset.ts';
export { splitTrainVal } from './data/splits.ts';
export { BatchLoader, type Batch } from './data/loader.ts';

export { buildTrainingGraph, exportInference, opsWithGradientRules, DEFAULT_TRAINING_MODE, type TrainingGraph, type TrainingGraphOptions, type TrainingMode, type NodeMode } from './autodiff/index.ts';
export * from './train/index.ts';

export * from './exits/index.ts';
export * from './exits/policies/index.ts';
export * from './exits/tuning/index.ts';
export { calibrateExits, fitTemperature } from './exits/calibration.ts';
export { reliability } from './exits/metrics.ts';
export * from './bundle/index.ts';
export * from './analysis/index.ts';
export * from './report/index.ts';
export * from './runtime/bench/index.ts';
export * from './runtime/adaptive/index.ts';
