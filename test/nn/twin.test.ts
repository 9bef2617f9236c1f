// The backbones against their PyTorch twins (bench/torch_models.py), from the committed fixture of
// scripts/fixtures/make-backbone-twin.py: same weights (exitwise's seeded initialisation, loaded
// into torch by name), same input → same logits and block outputs; same parameter count and
// Conv/Linear work; and one training-mode step through the autodiff equals torch's.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { create } from '@bufbuild/protobuf';
import { stringAttr } from '../../src/autodiff/attributes.ts';
import { buildTrainingGraph } from '../../src/autodiff/training-graph.ts';
import { buildBackbone, type BackboneSpec } from '../../src/nn/index.ts';
import { analyzeCost } from '../../src/onnx/cost/index.ts';
import { type ModelProto, NodeProtoSchema } from '../../src/onnx/proto/onnx_pb.ts';
import { valueInfoFromShape } from '../../src/onnx/shapes/index.ts';
import { arrayToTensor, DataType, tensorToArray } from '../../src/onnx/tensor-data.ts';
import { createSession } from '../../src/runtime/session.ts';
import { float32Tensor, int64Tensor, type TensorLike } from '../../src/runtime/tensor.ts';
import { runModelWithIntermediates } from '../../src/runtime/intermediates.ts';

interface Json { dims: number[]; data: number[] }
interface Case {
  name: string;
  spec: BackboneSpec;
  input: Json & { scale: number };
  batchNorm: Record<string, number[]> | null;
  logits: Json;
  blockMeans: Record<string, Json>;
  paramCount: number;
  convLinearMacs: number;
  training?: { labels: number[]; loss: number; gradients: Record<string, Json>; runningStats: Record<string, Json> };
}

const fixture = JSON.parse(readFileSync(new URL('../fixtures/backbone-twin.json', import.meta.url), 'utf8')) as { cases: Case[] };

/** |a − b| ≤ atol + rtol·|b| elementwise, reporting the worst element. */
function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, atol = 1e-4, rtol = 1e-4): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < expected.length; i++) {
    const excess = Math.abs(actual[i]! - expected[i]!) - (atol + rtol * Math.abs(expected[i]!));
    if (excess > worst || Number.isNaN(excess)) [worst, at] = [Number.isNaN(excess) ? Infinity : excess, i];
  }
  assert.ok(at < 0, `${what}[${at}]: ${actual[at]} vs torch ${expected[at]}`);
}

/** The case's backbone, with the fixture's BatchNorm values when it has them. */
function backboneOf(c: Case): ReturnType<typeof buildBackbone> {
  const backbone = buildBackbone(c.spec);
  const inits = backbone.model.graph!.initializer;
  for (const [name, values] of Object.entries(c.batchNorm ?? {})) {
    const k = inits.findIndex((t) => t.name === name);
    assert.ok(k >= 0, `BatchNorm tensor ${name} is an initializer`);
    inits[k] = arrayToTensor(name, DataType.FLOAT, inits[k]!.dims.map(Number), Float32Array.from(values));
  }
  return backbone;
}

const inputOf = (c: Case): TensorLike => float32Tensor(Float32Array.from(c.input.data, (v) => v / c.input.scale), c.input.dims);

/** [N, C, H, W] → [N, C] means over H and W. */
function channelMeans(t: TensorLike): number[] {
  const [n, ch, h, w] = t.dims as [number, number, number, number];
  const data = t.data as Float32Array;
  return Array.from({ length: n * ch }, (_, k) => {
    let sum = 0;
    for (let i = 0; i < h * w; i++) sum += data[k * h * w + i]!;
    return sum / (h * w);
  });
}

/** The forward model with `SoftmaxCrossEntropyLoss(logits, labels)` as its output `loss`, as PyTorch's `cross_entropy`. */
function withLoss(model: ModelProto): ModelProto {
  const graph = model.graph!;
  graph.input.push(valueInfoFromShape('labels', { dataType: DataType.INT64, dims: ['N'] }));
  graph.node.push(create(NodeProtoSchema, { name: 'loss', opType: 'SoftmaxCrossEntropyLoss', input: ['logits', 'labels'], output: ['loss'], attribute: [stringAttr('reduction', 'mean')] }));
  graph.output = [valueInfoFromShape('loss', { dataType: DataType.FLOAT, dims: [] })];
  return model;
}

describe('backbones equal their PyTorch twins', () => {
  assert.equal(fixture.cases.length, 4);
  for (const c of fixture.cases) {
    describe(c.name, () => {
      it('resolves the spec as the twin was built from it', () => {
        // The twins predate stemStride: their specs resolve with the default stride-1 stem.
        assert.deepEqual(buildBackbone(c.spec).spec, c.spec.kind === 'resnet' ? { stemStride: 1, ...c.spec } : c.spec);
      });

      it('logits and every block output, on the same input', async () => {
        const backbone = backboneOf(c);
        assert.deepEqual(backbone.blocks, Object.keys(c.blockMeans));
        const out = await runModelWithIntermediates(backbone.model, { image: inputOf(c) }, ['logits', ...backbone.blocks]);
        assert.deepEqual(out.logits!.dims, c.logits.dims);
        assertClose(out.logits!.data as Float32Array, c.logits.data, 'logits');
        for (const block of backbone.blocks) assertClose(channelMeans(out[block]!), c.blockMeans[block]!.data, `${block} channel means`);
      });

      it('parameter count and Conv/Gemm FLOPs', () => {
        const backbone = buildBackbone(c.spec);
        const cost = analyzeCost(backbone.model);
        assert.equal(backbone.paramCount, c.paramCount);
        assert.equal(cost.totalParams, c.paramCount);
        assert.equal((cost.flopsByOpType.Conv ?? 0) + (cost.flopsByOpType.Gemm ?? 0), 2 * c.convLinearMacs);
      });

      if (c.training !== undefined) {
        const training = c.training;
        it('one training-mode step: loss, gradients and BatchNorm running statistics', async () => {
          const backbone = backboneOf(c);
          const trainable = backbone.params.filter((p) => p.trainable).map((p) => p.name);
          const graph = buildTrainingGraph(withLoss(backbone.model), { loss: 'loss', trainable });
          assert.deepEqual(new Set(graph.gradientNames.keys()), new Set(Object.keys(training.gradients)));
          assert.deepEqual(new Set(graph.stateUpdates.keys()), new Set(Object.keys(training.runningStats)));
          const feeds: Record<string, TensorLike> = {
            image: inputOf(c),
            labels: int64Tensor(BigInt64Array.from(training.labels, BigInt), [training.labels.length]),
          };
          for (const t of backbone.model.graph!.initializer) {
            if (graph.parameterInputs.includes(t.name)) feeds[t.name] = float32Tensor(Float32Array.from(tensorToArray(t).data as Float32Array), t.dims.map(Number));
          }
          const session = await createSession(graph.model);
          try {
            const out = await session.run(feeds);
            assertClose([(out.loss!.data as Float32Array)[0]!], [training.loss], 'loss', 1e-5);
            for (const [p, g] of graph.gradientNames) assertClose(out[g]!.data as Float32Array, training.gradients[p]!.data, `grad ${p}`, 1e-5, 1e-3);
            for (const [s, u] of graph.stateUpdates) assertClose(out[u]!.data as Float32Array, training.runningStats[s]!.data, `updated ${s}`, 1e-5, 1e-4);
          } finally {
            await session.release();
          }
        });
      }
    });
  }
});
