// The cost model against hand-computed FLOPs and against PyTorch's own parameter count and
// forward-hook MAC counts for the committed fixture (scripts/fixtures/make-tiny-cnn.py).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { isExitwiseError } from '../../src/errors.ts';
import { GraphBuilder, type Tensor } from '../../src/onnx/builder/index.ts';
import { analyzeCost, cumulativeFlops } from '../../src/onnx/cost/index.ts';
import { loadModel } from '../../src/onnx/model-io.ts';

const weight = (b: GraphBuilder, name: string, dims: number[]): Tensor =>
  b.initializer(name, new Float32Array(dims.reduce((a, d) => a * d, 1)), dims);

/** FLOPs of the single node a builder callback adds after input x. */
function flopsOf(xDims: (number | string)[], add: (b: GraphBuilder, x: Tensor) => Tensor): number {
  const b = new GraphBuilder();
  const y = add(b, b.input('x', 'float32', xDims));
  b.output(y);
  const cost = analyzeCost(b.build());
  assert.deepEqual(cost.warnings, []);
  return cost.nodes.find((n) => n.name === y.name)!.flops;
}

describe('FLOPs of one node, by hand', () => {
  it('Conv: strided and padded, grouped, depthwise, dilated', () => {
    // [N,3,8,8] * [4,3,3,3], stride 2, pad 1 → [N,4,4,4]: 64 outputs × 3·9 MACs.
    assert.equal(flopsOf(['N', 3, 8, 8], (b, x) => b.conv(x, weight(b, 'w', [4, 3, 3, 3]), undefined, { strides: [2, 2], pads: [1, 1, 1, 1] })), 2 * 64 * 27);
    // group 2: [N,4,8,8] * [6,2,3,3], pad 1 → [N,6,8,8]: 384 outputs × 2·9 MACs.
    assert.equal(flopsOf(['N', 4, 8, 8], (b, x) => b.conv(x, weight(b, 'w', [6, 2, 3, 3]), undefined, { pads: [1, 1, 1, 1], group: 2 })), 2 * 384 * 18);
    // depthwise: [N,8,8,8] * [8,1,3,3], group 8 → 512 outputs × 9 MACs.
    assert.equal(flopsOf(['N', 8, 8, 8], (b, x) => b.conv(x, weight(b, 'w', [8, 1, 3, 3]), undefined, { pads: [1, 1, 1, 1], group: 8 })), 2 * 512 * 9);
    // dilation 2, no pad: 9 − 2·2 = 5 → [N,3,5,5]: 75 outputs × 2·9 MACs (bias not counted).
    assert.equal(flopsOf(['N', 2, 9, 9], (b, x) => b.conv(x, weight(b, 'w', [3, 2, 3, 3]), weight(b, 'c', [3]), { dilations: [2, 2] })), 2 * 75 * 18);
  });

  it('ConvTranspose: input elements × (C_out/group) × kernel', () => {
    // [N,4,3,3] with w [4,2,3,3], stride 2 → [N,2,7,7]; 36 inputs × 2·9 MACs.
    assert.equal(flopsOf(['N', 4, 3, 3], (b, x) => b.convTranspose(x, weight(b, 'w', [4, 2, 3, 3]), undefined, { strides: [2, 2] })), 2 * 36 * 18);
    // group 2: w [4,1,3,3] → C_out 2; 36 inputs × 1·9 MACs.
    assert.equal(flopsOf(['N', 4, 3, 3], (b, x) => b.convTranspose(x, weight(b, 'w', [4, 1, 3, 3]), undefined, { group: 2 })), 2 * 36 * 9);
  });

  it('Gemm with transB, MatMul 2-D and batched', () => {
    assert.equal(flopsOf(['N', 6], (b, x) => b.gemm(x, weight(b, 'w', [5, 6]), weight(b, 'c', [5]), { transB: true })), 2 * 5 * 6);
    assert.equal(flopsOf([4, 6], (b, x) => b.matMul(x, weight(b, 'w', [6, 5]))), 2 * 4 * 5 * 6);
    assert.equal(flopsOf(['N', 3, 4, 6], (b, x) => b.matMul(x, weight(b, 'w', [6, 5]))), 2 * 3 * 4 * 5 * 6);
    assert.equal(flopsOf(['N', 3, 4, 6], (b, x) => b.matMul(x, b.transpose(x, [0, 1, 3, 2]))), 2 * 3 * 4 * 4 * 6);
  });

  it('one per output element for activations and pooling, zero for data movement', () => {
    assert.equal(flopsOf(['N', 4, 8, 8], (b, x) => b.relu(x)), 256);
    assert.equal(flopsOf(['N', 4, 8, 8], (b, x) => b.maxPool(x, { kernel: [2, 2], strides: [2, 2] })), 64);
    assert.equal(flopsOf(['N', 4, 8, 8], (b, x) => b.globalAveragePool(x)), 4);
    assert.equal(flopsOf(['N', 4, 8, 8], (b, x) => b.reshape(x, [0, -1])), 0);
    assert.equal(flopsOf(['N', 4, 8, 8], (b, x) => b.transpose(x)), 0);
  });
});

describe('a small network', () => {
  /** x → conv → relu → (head A: maxpool → flatten → gemm) and (head B: gap → flatten). */
  function network() {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', ['N', 1, 8, 8]);
    const h = b.relu(b.conv(x, weight(b, 'w1', [4, 1, 3, 3]), weight(b, 'b1', [4]), { pads: [1, 1, 1, 1] }));
    const fc = weight(b, 'fc', [10, 64]);
    b.output(b.gemm(b.flatten(b.maxPool(h, { kernel: [2, 2], strides: [2, 2] })), fc, weight(b, 'fcb', [10]), { transB: true }), 'a');
    b.output(b.flatten(b.globalAveragePool(h)), 'b');
    // The same weight read twice: counted once in the total.
    b.output(b.gemm(b.flatten(b.maxPool(h, { kernel: [2, 2], strides: [2, 2] })), fc, undefined, { transB: true }), 'c');
    return { model: b.build(), h };
  }

  it('totals params once per initializer and FLOPs over all nodes', () => {
    const cost = analyzeCost(network().model);
    // conv 2·256·9 + relu 256 + 2 × (pool 64 + gemm 2·10·64) + gap 4
    assert.equal(cost.totalFlops, 4608 + 256 + 2 * (64 + 1280) + 4);
    assert.equal(cost.totalParams, 36 + 4 + 640 + 10);
    assert.deepEqual(cost.flopsByOpType, { Conv: 4608, Relu: 256, MaxPool: 128, Flatten: 0, Gemm: 2560, GlobalAveragePool: 4, Identity: 0 });
    assert.equal(cost.nodes.find((n) => n.opType === 'Conv')!.params, 40);
  });

  it('counts the ancestors of a tensor only', () => {
    const { model, h } = network();
    const cost = analyzeCost(model);
    assert.equal(cost.cumulativeFlops(h.name), 4608 + 256);
    assert.equal(cost.cumulativeFlops('a'), 4608 + 256 + 64 + 1280);
    assert.equal(cost.cumulativeFlops('b'), 4608 + 256 + 4);
    assert.equal(cumulativeFlops(model, 'x'), 0);
    assert.throws(() => cost.cumulativeFlops('nope'), (e) => isExitwiseError(e, 'EXW_SURGERY') && e.message.includes('"nope"'));
  });

  it('scales with the batch when symbols give it a value', () => {
    assert.equal(analyzeCost(network().model, { symbols: { N: 4 } }).totalFlops, 4 * (4608 + 256 + 2 * (64 + 1280) + 4));
  });
});

describe('a PyTorch export (tiny-cnn fixture)', () => {
  const model = loadModel(new URL('./fixtures/tiny-cnn.onnx', import.meta.url).pathname);
  const expected = JSON.parse(readFileSync(new URL('./fixtures/tiny-cnn.json', import.meta.url), 'utf8')) as {
    params: number; buffers: number; matmulFlopsPerSample: Record<string, number>;
  };
  const cost = analyzeCost(model);

  it("counts PyTorch's sum(p.numel()), leaving out BatchNorm running statistics", () => {
    assert.deepEqual(cost.warnings, []);
    assert.equal(cost.totalParams, expected.params);
    const initializerElements = model.graph!.initializer.reduce((n, t) => n + t.dims.reduce((a, d) => a * Number(d), 1), 0);
    assert.equal(initializerElements, expected.params + expected.buffers, 'the fixture does hold the buffers');
  });

  it("matches PyTorch forward-hook MACs for every Conv2d and Linear", () => {
    for (const [module, flops] of Object.entries(expected.matmulFlopsPerSample)) {
      const node = cost.nodes.find((n) => n.name === `/${module}/Conv` || n.name === `/${module}/Gemm`);
      assert.ok(node !== undefined, module);
      assert.equal(node.flops, flops, module);
    }
  });
});
