import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isExitwiseError } from '../../src/errors.ts';
import { assignInOrder, exitCandidates, MIN_EXIT_SAVING, placeExits } from '../../src/exits/placement.ts';
import { analyzeCost } from '../../src/onnx/cost/index.ts';
import { findCutPoints } from '../../src/onnx/surgery/cut-points.ts';
import type { ModelProto } from '../../src/onnx/proto/onnx_pb.ts';
import { rng } from '../support/graph.ts';
import { builtResnet, resnetMnist } from './support.ts';

const torch = resnetMnist();
const built = builtResnet();
const opOf = (model: ModelProto, tensor: string) => model.graph!.node.find((n) => n.output.includes(tensor))!.opType;

function throwsCode(f: () => unknown, code: string, pattern?: RegExp): void {
  assert.throws(f, (e: unknown) => isExitwiseError(e) && e.code === code && (pattern === undefined || pattern.test(`${e.message} ${e.hint}`)));
}

describe('exit placement on the PyTorch-exported ResNet', () => {
  it('places 0.25 / 0.5 / 0.75 at the nearest block outputs, with fractions from the cost model', () => {
    const placements = placeExits(torch, { by: 'fractions', fractions: [0.75, 0.25, 0.5] });
    assert.deepEqual(placements.map((p) => p.tensor), [
      '/layers/layers.0/Relu_1_output_0', // 18.5%: nearer 0.25 than block 1 at 36.4%
      '/layers/layers.2/Relu_1_output_0', // 50.4%
      '/layers/layers.3/Relu_1_output_0', // 68.2%: nearer 0.75 than block 4 at 82.1%
    ]);
    assert.deepEqual(placements.map((p) => p.target), [0.25, 0.5, 0.75]);
    const cost = analyzeCost(torch);
    for (const p of placements) {
      assert.equal(p.cumulativeFlops, cost.cumulativeFlops(p.tensor));
      assert.equal(p.fraction, p.cumulativeFlops / cost.totalFlops);
      assert.equal(opOf(torch, p.tensor), 'Relu', 'block outputs, not the Add before the ReLU');
    }
    assert.deepEqual(placements[1]!.shape, ['batch', 32, 14, 14]);
  });

  it('places count exits equidistant in FLOPs, distinct even where two targets share a nearest block', () => {
    const three = placeExits(torch, { by: 'count', count: 3 });
    assert.deepEqual(three.map((p) => p.target), [0.25, 0.5, 0.75]);
    // With 6 exits, 2/7 and 3/7 are both nearest to block 1 (36.4%); the assignment keeps them apart.
    const six = placeExits(torch, { by: 'count', count: 6 });
    assert.equal(new Set(six.map((p) => p.tensor)).size, 6);
    assert.ok(six.every((p, i) => i === 0 || p.cumulativeFlops > six[i - 1]!.cumulativeFlops));
    assert.ok(six.every((p) => p.fraction <= 1 - MIN_EXIT_SAVING), 'no exit at the cost of the final one');
    throwsCode(() => placeExits(torch, { by: 'count', count: 7 }), 'EXW_SURGERY', /only 6 distinct exit positions/);
  });

  it('takes named tensors in graph order and names the nearest positions for a tensor inside a block', () => {
    const tensors = ['/layers/layers.4/Relu_1_output_0', '/stem/stem.0/Conv_output_0'];
    assert.deepEqual(placeExits(torch, { by: 'tensors', tensors }).map((p) => p.tensor), [...tensors].reverse());
    // Inside block 0 the skip connection bypasses the tensor: not a cut point.
    throwsCode(() => placeExits(torch, { by: 'tensors', tensors: ['/layers/layers.0/Relu_output_0'] }), 'EXW_SURGERY',
      /bypass.*nearest exit positions in FLOPs: .*\/stem\/stem.2\/Relu_output_0/s);
    throwsCode(() => placeExits(torch, { by: 'tensors', tensors: ['nope'] }), 'EXW_SURGERY', /not computed by the backbone.*cut points: \/stem/s);
    const cuts = findCutPoints(torch);
    throwsCode(() => placeExits(torch, { by: 'tensors', tensors: [cuts[cuts.length - 1]!] }), 'EXW_SURGERY', /backbone's own classifier/);
    throwsCode(() => placeExits(torch, { by: 'tensors', tensors: [tensors[0]!, tensors[0]!] }), 'EXW_USAGE', /twice/);
  });

  it('refuses fractions outside (0, 1), repeated fractions and non-positive counts', () => {
    for (const f of [0, 1, -0.2, 1.5, Number.NaN]) throwsCode(() => placeExits(torch, { by: 'fractions', fractions: [0.5, f] }), 'EXW_USAGE', /outside \(0, 1\)/);
    throwsCode(() => placeExits(torch, { by: 'fractions', fractions: [0.5, 0.5] }), 'EXW_USAGE', /repeated/);
    throwsCode(() => placeExits(torch, { by: 'fractions', fractions: [] }), 'EXW_USAGE');
    for (const count of [0, -1, 1.5]) throwsCode(() => placeExits(torch, { by: 'count', count }), 'EXW_USAGE');
  });
});

describe('exit placement on the GraphBuilder ResNet (src/nn)', () => {
  it('chooses block outputs, which src/nn lists as its exit points', () => {
    const candidates = exitCandidates(built.model).map((c) => c.tensor);
    assert.equal(findCutPoints(built.model).at(-1), 'flatten');
    assert.ok(!candidates.includes('flatten'), 'the classifier input is the final exit\'s, not a candidate');
    for (const spec of [{ by: 'count', count: 5 }, { by: 'fractions', fractions: [0.1, 0.3, 0.6, 0.8] }] as const) {
      const placements = placeExits(built.model, spec);
      for (const p of placements) assert.ok(built.blocks.slice(0, -1).includes(p.tensor) || p.tensor === 'stem', `${p.tensor} is a block output`);
    }
    assert.deepEqual(placeExits(built.model, { by: 'count', count: 5 }).map((p) => p.tensor), ['stages.0.0', 'stages.0.1', 'stages.1.0', 'stages.1.1', 'stages.2.0']);
  });
});

describe('assignInOrder', () => {
  it('matches a brute-force search over increasing assignments', () => {
    const random = rng(11);
    for (let trial = 0; trial < 200; trial++) {
      const n = 1 + Math.floor(random() * 7);
      const m = 1 + Math.floor(random() * n);
      const positions = Array.from({ length: n }, () => random()).sort((a, b) => a - b);
      const targets = Array.from({ length: m }, () => random()).sort((a, b) => a - b);
      const cost = (js: number[]) => js.reduce((s, j, i) => s + Math.abs(positions[j]! - targets[i]!), 0);
      let best = Infinity;
      const search = (i: number, from: number, js: number[]): void => {
        if (i === m) { best = Math.min(best, cost(js)); return; }
        for (let j = from; j < n; j++) search(i + 1, j + 1, [...js, j]);
      };
      search(0, 0, []);
      const chosen = assignInOrder(targets, positions);
      assert.ok(chosen.every((j, i) => i === 0 || j > chosen[i - 1]!), 'strictly increasing');
      assert.ok(Math.abs(cost(chosen) - best) < 1e-12, `trial ${trial}: ${cost(chosen)} vs brute force ${best}`);
    }
  });
});
