// Every GraphBuilder op: the built model runs in ONNX Runtime, matches a float64 reference written
// from the ONNX definitions (reference-ops.ts), and ORT's output shape equals the builder's
// inferred shape with the symbolic batch N = 2.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { isExitwiseError } from '../../src/errors.ts';
import { GraphBuilder, type Tensor } from '../../src/onnx/builder/index.ts';
import { encodeModel } from '../../src/onnx/model-io.ts';
import { shapeFromValueInfo } from '../../src/onnx/shapes/index.ts';
import { conv2d, convTranspose2d, erf, map, type Nd, nd, pool2d, reduceAxes, remap, seeded, zip } from './reference-ops.ts';

const N = 2;

/** A float32 weight initializer and the same values as a float64 array. */
function param(b: GraphBuilder, name: string, dims: number[], seed: number, offset = 0): [Tensor, Nd] {
  const rnd = seeded(seed);
  const data = Float32Array.from({ length: dims.reduce((a, c) => a * c, 1) }, () => rnd() + offset);
  return [b.initializer(name, data, dims), { dims, data: Float64Array.from(data) }];
}

interface Case {
  name: string;
  opset?: number;
  /** Input dims after the batch. */
  dims: number[];
  build(b: GraphBuilder, x: Tensor): { y: Tensor; ref: (x: Nd) => Nd };
  tolerance?: number;
}

const win = (s: number, p: number, d = 1) => ({ stride: [s, s] as [number, number], pads: [p, p, p, p] as [number, number, number, number], dilation: [d, d] as [number, number] });
const gelu = (v: number) => 0.5 * v * (1 + erf(v / Math.SQRT2));
const softmaxLast = (x: Nd, log: boolean): Nd => {
  const last = x.dims[x.dims.length - 1]!;
  return nd(x.dims, (i) => {
    const row = x.data.subarray(i - (i % last), i - (i % last) + last);
    const m = Math.max(...row);
    const z = row.reduce((s, v) => s + Math.exp(v - m), 0);
    return log ? x.data[i]! - m - Math.log(z) : Math.exp(x.data[i]! - m) / z;
  });
};

const CASES: Case[] = [
  { name: 'conv (grouped, strided, padded, dilated, bias)', dims: [4, 9, 9], build: (b, x) => {
    const [w, wr] = param(b, 'w', [6, 2, 3, 3], 1);
    const [c, cr] = param(b, 'c', [6], 2);
    const y = b.conv(x, w, c, { strides: [2, 2], pads: [1, 1, 1, 1], dilations: [2, 2], group: 2 });
    return { y, ref: (xr) => conv2d(xr, wr, cr, 2, win(2, 1, 2)) };
  } },
  { name: 'convTranspose (grouped, strided, output_padding)', dims: [4, 4, 4], build: (b, x) => {
    const [w, wr] = param(b, 'w', [4, 3, 3, 3], 3);
    const y = b.convTranspose(x, w, undefined, { strides: [2, 2], pads: [1, 1, 1, 1], group: 2, outputPadding: [1, 1] });
    return { y, ref: (xr) => convTranspose2d(xr, wr, 2, [2, 2], [1, 1, 1, 1], [1, 1]) };
  } },
  { name: 'batchNorm', dims: [3, 4, 4], build: (b, x) => {
    const [s, sr] = param(b, 's', [3], 4);
    const [o, or] = param(b, 'o', [3], 5);
    const [m, mr] = param(b, 'm', [3], 6);
    const [v, vr] = param(b, 'v', [3], 7, 1.5);
    const y = b.batchNorm(x, s, o, m, v, { epsilon: 1e-3 });
    const ch = (t: Nd) => ({ dims: [1, 3, 1, 1], data: t.data });
    return { y, ref: (xr) => zip(zip(zip(zip(xr, ch(mr), (a, c) => a - c), ch(vr), (a, c) => a / Math.sqrt(c + 1e-3)), ch(sr), (a, c) => a * c), ch(or), (a, c) => a + c) };
  } },
  { name: 'relu', dims: [5], build: (b, x) => ({ y: b.relu(x), ref: (xr) => map(xr, (v) => Math.max(v, 0)) }) },
  { name: 'sigmoid', dims: [5], build: (b, x) => ({ y: b.sigmoid(x), ref: (xr) => map(xr, (v) => 1 / (1 + Math.exp(-v))) }) },
  { name: 'tanh', dims: [5], build: (b, x) => ({ y: b.tanh(x), ref: (xr) => map(xr, Math.tanh) }) },
  { name: 'gelu at opset 17 (erf formulation)', dims: [7], build: (b, x) => ({ y: b.gelu(b.mul(x, b.constant(Float32Array.of(3), []))), ref: (xr) => map(xr, (v) => gelu(3 * v)) }) },
  { name: 'gelu at opset 20 (Gelu op)', opset: 20, dims: [7], build: (b, x) => ({ y: b.gelu(b.mul(x, b.constant(Float32Array.of(3), []))), ref: (xr) => map(xr, (v) => gelu(3 * v)) }) },
  { name: 'maxPool', dims: [2, 7, 7], build: (b, x) => ({ y: b.maxPool(x, { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }), ref: (xr) => pool2d(xr, 'max', [3, 3], win(2, 1)) }) },
  { name: 'averagePool (padding excluded)', dims: [2, 6, 6], build: (b, x) => ({ y: b.averagePool(x, { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }), ref: (xr) => pool2d(xr, 'avg', [3, 3], win(2, 1)) }) },
  { name: 'globalAveragePool', dims: [3, 4, 5], build: (b, x) => ({ y: b.globalAveragePool(x), ref: (xr) => reduceAxes(xr, [2, 3], (v) => v.reduce((a, c) => a + c, 0) / v.length) }) },
  { name: 'gemm (transB, bias, alpha, beta)', dims: [6], build: (b, x) => {
    const [w, wr] = param(b, 'w', [4, 6], 8);
    const [c, cr] = param(b, 'c', [4], 9);
    const y = b.gemm(x, w, c, { transB: true, alpha: 0.5, beta: 2 });
    return { y, ref: (xr) => zip(nd([N, 4], (i) => { const [r, o] = [Math.floor(i / 4), i % 4]; let s = 0; for (let k = 0; k < 6; k++) s += xr.data[r * 6 + k]! * wr.data[o * 6 + k]!; return 0.5 * s; }), cr, (a, v) => a + 2 * v) };
  } },
  { name: 'matMul (batched)', dims: [3, 4], build: (b, x) => {
    const [w, wr] = param(b, 'w', [4, 5], 10);
    return { y: b.matMul(x, w), ref: (xr) => nd([N, 3, 5], (i) => { const [r, o] = [Math.floor(i / 5), i % 5]; let s = 0; for (let k = 0; k < 4; k++) s += xr.data[r * 4 + k]! * wr.data[k * 5 + o]!; return s; }) };
  } },
  { name: 'add, sub, mul, div (broadcast per channel)', dims: [3, 2, 2], build: (b, x) => {
    const [p, pr] = param(b, 'p', [3, 1, 1], 11, 2);
    const y = b.div(b.mul(b.sub(b.add(x, p), p), p), p);
    return { y, ref: (xr) => zip(zip(zip(zip(xr, pr, (a, c) => a + c), pr, (a, c) => a - c), pr, (a, c) => a * c), pr, (a, c) => a / c) };
  } },
  { name: 'reshape with 0 and -1', dims: [3, 4], build: (b, x) => ({ y: b.reshape(x, [0, -1]), ref: (xr) => ({ dims: [N, 12], data: xr.data }) }) },
  { name: 'flatten', dims: [3, 2, 2], build: (b, x) => ({ y: b.flatten(x), ref: (xr) => ({ dims: [N, 12], data: xr.data }) }) },
  { name: 'transpose', dims: [3, 4], build: (b, x) => ({ y: b.transpose(x, [0, 2, 1]), ref: (xr) => remap(xr, [N, 4, 3], ([n, i, j]) => [n!, j!, i!]) }) },
  { name: 'concat', dims: [2, 3], build: (b, x) => ({ y: b.concat([x, b.neg(x)], 1), ref: (xr) => remap({ dims: [N, 4, 3], data: Float64Array.from({ length: N * 12 }, (_, i) => { const [n, r, c] = [Math.floor(i / 12), Math.floor(i / 3) % 4, i % 3]; const v = xr.data[n * 6 + (r % 2) * 3 + c]!; return r < 2 ? v : -v; }) }, [N, 4, 3], (c) => c) }) },
  { name: 'slice (negative start, step 2)', dims: [4, 6], build: (b, x) => ({ y: b.slice(x, [1, -5], [3, 6], [1, 2], [1, 2]), ref: (xr) => remap(xr, [N, 2, 3], ([n, i, j]) => [n!, 1 + i!, 1 + 2 * j!]) }) },
  { name: 'gather (list along axis 1)', dims: [4, 3], build: (b, x) => ({ y: b.gather(x, [3, 0, 3], 1), ref: (xr) => remap(xr, [N, 3, 3], ([n, i, j]) => [n!, [3, 0, 3][i!]!, j!]) }) },
  { name: 'gather (scalar index drops the axis)', dims: [4, 3], build: (b, x) => ({ y: b.gather(x, -1, 2), ref: (xr) => remap(xr, [N, 4], ([n, i]) => [n!, i!, 2]) }) },
  { name: 'softmax', dims: [3, 5], build: (b, x) => ({ y: b.softmax(x), ref: (xr) => softmaxLast(xr, false) }) },
  { name: 'logSoftmax', dims: [3, 5], build: (b, x) => ({ y: b.logSoftmax(x), ref: (xr) => softmaxLast(xr, true) }) },
  { name: 'layerNorm', dims: [3, 6], build: (b, x) => {
    const [s, sr] = param(b, 's', [6], 12);
    const [o, or] = param(b, 'o', [6], 13);
    const mean = (v: number[]) => v.reduce((a, c) => a + c, 0) / v.length;
    const ref = (xr: Nd) => {
      const mu = reduceAxes(xr, [2], mean);
      const centered = zip(xr, mu, (a, m) => a - m);
      const sd = map(reduceAxes(map(centered, (v) => v * v), [2], mean), (v) => Math.sqrt(v + 1e-5));
      return zip(zip(zip(centered, sd, (a, d) => a / d), sr, (a, c) => a * c), or, (a, c) => a + c);
    };
    return { y: b.layerNorm(x, s, o, { epsilon: 1e-5 }), ref };
  } },
  { name: 'dropout (inference: identity)', dims: [4], build: (b, x) => ({ y: b.dropout(x), ref: (xr) => xr }) },
  { name: 'reduceMean (keepdims)', dims: [3, 4], build: (b, x) => ({ y: b.reduceMean(x, [2]), ref: (xr) => reduceAxes(xr, [2], (v) => v.reduce((a, c) => a + c, 0) / v.length) }) },
  { name: 'reduceMean at opset 18 (axes input)', opset: 18, dims: [3, 4], build: (b, x) => ({ y: b.reduceMean(x, [1], { keepDims: false }), ref: (xr) => ({ dims: [N, 4], data: reduceAxes(xr, [1], (v) => v.reduce((a, c) => a + c, 0) / v.length).data }) }) },
  { name: 'reduceSum (no keepdims)', dims: [3, 4], build: (b, x) => ({ y: b.reduceSum(x, [1, 2], { keepDims: false }), ref: (xr) => ({ dims: [N], data: reduceAxes(xr, [1, 2], (v) => v.reduce((a, c) => a + c, 0)).data }) }) },
  { name: 'where with greater', dims: [6], build: (b, x) => {
    const zero = b.constant(Float32Array.of(0), []);
    const y = b.where(b.greater(x, zero), x, b.mul(x, b.constant(Float32Array.of(0.25), [])));
    return { y, ref: (xr) => map(xr, (v) => (v > 0 ? v : 0.25 * v)) };
  } },
  { name: 'expand', dims: [1, 3], build: (b, x) => ({ y: b.expand(x, [1, 4, 1]), ref: (xr) => remap(xr, [N, 4, 3], ([n, , j]) => [n!, 0, j!]) }) },
  { name: 'identity', dims: [3], build: (b, x) => ({ y: b.identity(x), ref: (xr) => xr }) },
  { name: 'cast to float64 and unsqueeze/squeeze', dims: [3], build: (b, x) => ({ y: b.squeeze(b.unsqueeze(b.cast(x, 'float64'), [1]), [1]), ref: (xr) => xr }) },
  { name: 'reshape by a shape subgraph (Shape, Gather, Concat)', dims: [3, 4], build: (b, x) => {
    const batch = b.unsqueeze(b.gather(b.shape(x), 0), [0]);
    const y = b.reshape(x, b.concat([batch, b.constant(BigInt64Array.of(-1n), [1])], 0));
    return { y, ref: (xr) => ({ dims: [N, 12], data: xr.data }) };
  } },
];

async function runModel(model: Uint8Array, x: Float32Array, dims: number[]): Promise<ort.Tensor> {
  const session = await ort.InferenceSession.create(model);
  try {
    const out = await session.run({ x: new ort.Tensor('float32', x, dims) });
    return out[session.outputNames[0]!]!;
  } finally {
    await session.release();
  }
}

describe('GraphBuilder ops match a float64 reference in ONNX Runtime', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const b = new GraphBuilder(c.opset === undefined ? {} : { opset: c.opset });
      const x = b.input('x', 'float32', ['N', ...c.dims]);
      const { y, ref } = c.build(b, x);
      b.output(y, 'y');
      const model = b.build();
      const dims = [N, ...c.dims];
      const rnd = seeded(99);
      const xData = Float32Array.from({ length: dims.reduce((a, d) => a * d, 1) }, () => 2 * rnd());
      const got = await runModel(encodeModel(model), xData, dims);
      const inferred = y.dims.map((d) => (d === 'N' ? N : d));
      assert.deepEqual(got.dims, inferred, 'ORT output shape equals the inferred shape');
      assert.deepEqual(shapeFromValueInfo(model.graph!.output[0]!)?.dims, y.dims, 'the graph output declares the inferred shape');
      const want = ref({ dims, data: Float64Array.from(xData) });
      assert.deepEqual(want.dims, inferred, 'reference shape');
      const data = got.data as Float32Array;
      for (let i = 0; i < want.data.length; i++) {
        const tol = (c.tolerance ?? 1e-5) * Math.max(1, Math.abs(want.data[i]!));
        assert.ok(Math.abs(data[i]! - want.data[i]!) <= tol, `element ${i}: ORT ${data[i]} vs reference ${want.data[i]}`);
      }
    });
  }
});

describe('GraphBuilder checks shapes when nodes are added', () => {
  const expectBuildError = (f: () => unknown, ...parts: string[]) =>
    assert.throws(f, (e) => isExitwiseError(e, 'EXW_BUILD') && parts.every((p) => e.message.includes(p)), `EXW_BUILD mentioning ${parts.join(', ')}`);

  it('rejects a channel mismatch in Conv, naming the op and the shapes', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', ['N', 3, 8, 8]);
    const w = b.initializer('w', new Float32Array(8 * 4 * 9), [8, 4, 3, 3]);
    expectBuildError(() => b.conv(x, w), 'Conv', '3 channels', '[8, 4, 3, 3]');
  });

  it('rejects Gemm inner-dimension, Reshape size and broadcast mismatches', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', ['N', 6]);
    const w = b.initializer('w', new Float32Array(20), [4, 5]);
    expectBuildError(() => b.gemm(x, w, undefined, { transB: true }), 'Gemm', 'inner dimension');
    const y = b.input('y', 'float32', [2, 6]);
    expectBuildError(() => b.reshape(y, [5, -1]), 'Reshape', '12 elements');
    expectBuildError(() => b.add(x, w), 'Add', 'do not broadcast');
    expectBuildError(() => b.concat([y, w], 1), 'Concat', 'off the concat axis');
  });

  it('rejects foreign tensors, duplicate names, graphs without outputs and old opsets', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', ['N', 6]);
    const other = new GraphBuilder().input('z', 'float32', [6]);
    expectBuildError(() => b.relu(other), 'not a tensor of this builder');
    expectBuildError(() => b.input('x', 'float32', [1]), 'already exists');
    expectBuildError(() => b.build(), 'no outputs');
    expectBuildError(() => new GraphBuilder({ opset: 11 }), 'opset 11');
    b.output(b.relu(x));
    expectBuildError(() => b.output(b.identity(x), 'Relu_0'), 'already exists');
  });

  it('names nodes and tensors deterministically', () => {
    const make = () => {
      const b = new GraphBuilder();
      const x = b.input('x', 'float32', ['N', 4]);
      b.output(b.gelu(b.relu(b.relu(x))), 'out');
      return b.build();
    };
    const m = make();
    assert.deepEqual(encodeModel(m), encodeModel(make()));
    assert.deepEqual(m.graph!.node.map((n) => n.name), ['Relu_0', 'Relu_1', 'Gelu_0/div', 'Gelu_0/erf', 'Gelu_0/add', 'Gelu_0/mul', 'Gelu_0', 'out']);
  });

  it('keeps the batch symbol through Flatten and Reshape', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', ['batch', 16, 4, 4]);
    assert.deepEqual(b.flatten(x).dims, ['batch', 256]);
    assert.deepEqual(b.reshape(x, [-1, 64]).dims, ['batch*4', 64]);
    assert.deepEqual(b.flatten(x, 2).dims, ['batch*16', 16]);
  });
});
