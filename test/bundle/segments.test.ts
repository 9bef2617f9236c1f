import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toBundleSegments } from '../../src/bundle/segments.ts';
import { isExitwiseError } from '../../src/errors.ts';
import { attachExits, type MultiExitModel } from '../../src/exits/attach.ts';
import { planHeads } from '../../src/exits/heads/plan.ts';
import { placeExits, type PlacementSpec } from '../../src/exits/placement.ts';
import { analyzeCost } from '../../src/onnx/cost/index.ts';
import type { ModelProto } from '../../src/onnx/proto/onnx_pb.ts';
import { validateModel } from '../../src/onnx/validate.ts';
import type { TensorLike } from '../../src/runtime/tensor.ts';
import { builtResnet, maxAbsDiff, mnistBatch, resnetMnist, run } from '../exits/support.ts';

const CASES: { name: string; model: ModelProto; spec: PlacementSpec }[] = [
  { name: 'resnet-mnist.onnx, exits at 0.25 / 0.5 / 0.75', model: resnetMnist(), spec: { by: 'fractions', fractions: [0.25, 0.5, 0.75] } },
  { name: 'resnet-mnist.onnx, one exit at the stem', model: resnetMnist(), spec: { by: 'tensors', tensors: ['/stem/stem.2/Relu_output_0'] } },
  { name: 'GraphBuilder ResNet, 5 exits', model: builtResnet().model, spec: { by: 'count', count: 5 } },
];

/** Runs stage 0 → exit 0, stage 1 → exit 1, …, each stage fed the previous stage's output. */
export async function runChained(segments: ReturnType<typeof toBundleSegments>, input: TensorLike): Promise<TensorLike[]> {
  const logits: TensorLike[] = [];
  let carried = input;
  for (const [k, stage] of segments.stages.entries()) {
    carried = (await run(stage.model, { [stage.inputs[0]!]: carried }))[stage.outputs[0]!]!;
    const exit = segments.exits[k]!;
    logits.push((await run(exit.model, { [exit.inputs[0]!]: carried }))[exit.outputs[0]!]!);
  }
  return logits;
}

for (const c of CASES) {
  describe(`toBundleSegments: ${c.name}`, () => {
    const placements = placeExits(c.model, c.spec);
    const multi: MultiExitModel = attachExits({ model: c.model }, placements, planHeads({ model: c.model }, placements).heads.map((h) => h.config));
    const segments = toBundleSegments(multi);

    it('makes one stage and one exit per exit, chained through the exit tensors', () => {
      const k = placements.length;
      assert.equal(segments.stages.length, k + 1);
      assert.equal(segments.exits.length, k + 1);
      for (const [i, stage] of segments.stages.entries()) {
        validateModel(stage.model);
        assert.deepEqual(stage.inputs, [i === 0 ? 'image' : placements[i - 1]!.tensor]);
        assert.equal(stage.outputs.length, 1);
        if (i < k) assert.deepEqual(stage.outputs, [placements[i]!.tensor]);
        assert.deepEqual(segments.exits[i]!.inputs, stage.outputs);
        assert.deepEqual(segments.exits[i]!.outputs, [multi.exitLogits[i]!]);
      }
    });

    it('splits the costs: stages plus the final exit add up to the backbone', () => {
      const backbone = analyzeCost(c.model);
      const final = segments.exits.at(-1)!;
      const stageFlops = segments.stages.reduce((s, x) => s + x.flops, 0);
      assert.ok(Math.abs(stageFlops + final.flops - backbone.totalFlops) < 1e-6);
      // Each stage holds the weights it reads; PyTorch's exporter shares identical folded biases
      // between layers, so such a weight sits in several stages. Counted once, the stages hold the backbone's.
      const unique = new Map<string, number>();
      for (const seg of [...segments.stages, final]) {
        const cost = analyzeCost(seg.model);
        for (const n of cost.nodes) for (const name of n.paramNames) unique.set(name, seg.model.graph!.initializer.find((t) => t.name === name)!.dims.reduce((a, d) => a * Number(d), 1));
      }
      assert.equal([...unique.values()].reduce((a, b) => a + b, 0), backbone.totalParams);
      assert.ok(segments.stages.reduce((s, x) => s + x.params, 0) + final.params >= backbone.totalParams);
      for (const [k, p] of placements.entries()) {
        const reached = segments.stages.slice(0, k + 1).reduce((s, x) => s + x.flops, 0);
        assert.ok(Math.abs(reached - p.cumulativeFlops) < 1e-6, `stages 0..${k} cost what the placement said`);
      }
    });

    it('chained on ORT, reproduces every exit\'s logits of the multi-exit model on MNIST within 1e-5', async () => {
      const { images } = mnistBatch(16);
      const whole = await run(multi.model, { image: images });
      const chained = await runChained(segments, images);
      for (const [k, name] of multi.exitLogits.entries()) {
        assert.ok(maxAbsDiff(chained[k]!, whole[name]!) < 1e-5, `exit ${k}: ${maxAbsDiff(chained[k]!, whole[name]!)}`);
      }
    });
  });
}

describe('toBundleSegments errors', () => {
  it('refuses exit tensors that are not cut points before the classifier, or out of order', () => {
    const model = resnetMnist();
    const placements = placeExits(model, { by: 'count', count: 2 });
    const multi = attachExits({ model }, placements, [{ kind: 'pool-linear' }, { kind: 'pool-linear' }]);
    assert.throws(() => toBundleSegments({ ...multi, exitTensors: [...multi.exitTensors].reverse() }), (e: unknown) => isExitwiseError(e, 'EXW_SURGERY') && /order/.test(e.message));
    assert.throws(() => toBundleSegments({ ...multi, exitTensors: ['/layers/layers.0/Relu_output_0', multi.exitTensors[1]!] }), (e: unknown) => isExitwiseError(e, 'EXW_SURGERY'));
    assert.throws(() => toBundleSegments({ ...multi, exitTensors: multi.exitTensors.slice(1) }), (e: unknown) => isExitwiseError(e, 'EXW_SURGERY'));
  });
});
