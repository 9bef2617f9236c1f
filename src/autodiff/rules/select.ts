/**
 * Gradient rules of ops that select parts of tensors: Concat (the gradient is split back),
 * Slice (zero-padded back, or scattered back for steps ≠ 1), Gather (scatter-added back: an
 * index taken twice receives both gradients).
 */
import { intAttr, intsAttr, readInt, stringAttr } from '../attributes.ts';
import type { BackwardContext, GradientRule } from '../rule.ts';

function normalizeAxis(ctx: BackwardContext, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) ctx.fail(`axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/** The extent of `name` along `axis` as a 1-D int64 tensor: a constant when static. */
function extent(ctx: BackwardContext, name: string, axis: number): string {
  const d = ctx.dims(name)[axis];
  if (typeof d === 'number') return ctx.emit.int64s([d]);
  return ctx.emit.op('Gather', [ctx.emit.op('Shape', [name]), ctx.emit.int64s([axis])]);
}

/** One Split of the gradient, sized like the inputs. */
const concat: GradientRule = {
  backward(ctx) {
    const { emit, node } = ctx;
    const axis = normalizeAxis(ctx, readInt(node, 'axis', 0), ctx.dims(node.output[0]!).length);
    const inputs = node.input;
    const staticSizes = inputs.map((x) => ctx.dims(x)[axis]);
    const sizes = staticSizes.every((d) => typeof d === 'number')
      ? emit.int64s(staticSizes as number[])
      : emit.op('Concat', inputs.map((x) => extent(ctx, x, axis)), [intAttr('axis', 0)]);
    return emit.opN('Split', [ctx.dy(0)!, sizes], inputs.length, [intAttr('axis', axis)], 'concat_back');
  },
};

/** Constant unit-step slice over static dims → Pad (fast); anything else → scatter through a sliced index map. */
const slice: GradientRule = {
  backward(ctx) {
    const { emit, node } = ctx;
    const x = node.input[0]!;
    const xDims = ctx.dims(x);
    const [starts, ends] = [ctx.constant(node.input[1]!), ctx.constant(node.input[2]!)];
    const axesIn = node.input[3] ?? '';
    const stepsIn = node.input[4] ?? '';
    const axes = axesIn === '' ? starts?.map((_, i) => i) : ctx.constant(axesIn);
    const steps = stepsIn === '' ? starts?.map(() => 1) : ctx.constant(stepsIn);
    const dy = ctx.dy(0)!;
    if (starts !== undefined && ends !== undefined && axes !== undefined && steps?.every((s) => s === 1)) {
      const pads = Array<number>(2 * xDims.length).fill(0);
      let known = true;
      axes.forEach((axis, i) => {
        const a = axis < 0 ? axis + xDims.length : axis;
        const d = xDims[a];
        if (typeof d !== 'number') { known = false; return; }
        const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + d : v, 0), d);
        const [s, e] = [clamp(starts[i]!), clamp(ends[i]!)];
        pads[a] = s;
        pads[xDims.length + a] = d - Math.max(e, s);
      });
      if (known) return [emit.op('Pad', [dy, emit.int64s(pads)], [stringAttr('mode', 'constant')], 'slice_back')];
    }
    // Slice a map of flat positions with the node's own parameters, then scatter dy to them.
    const flat = emit.int64s([-1]);
    const shape = emit.op('Shape', [x]);
    const size = emit.op('Size', [x]);
    const positions = emit.op('Reshape', [emit.op('Range', [emit.int64s([0]), emit.op('Reshape', [size, flat]), emit.int64s([1])]), shape]);
    const taken = emit.op('Slice', [positions, ...node.input.slice(1)]);
    const zeros = emit.op('ConstantOfShape', [emit.op('Reshape', [size, flat])]);
    const scattered = emit.op('ScatterElements', [zeros, emit.op('Reshape', [taken, flat]), emit.op('Reshape', [dy, flat])], [intAttr('axis', 0)]);
    return [emit.op('Reshape', [scattered, shape], [], 'slice_back')];
  },
};

/**
 * ScatterND with reduction 'add' along axis 0. For another axis the gathered axis is moved to
 * the front (dY's index dims likewise), scattered, and moved back.
 */
const gather: GradientRule = {
  backward(ctx) {
    const { emit, node } = ctx;
    const [data, indices] = [node.input[0]!, node.input[1]!];
    const r = ctx.dims(data).length;
    const q = ctx.dims(indices).length;
    const axis = normalizeAxis(ctx, readInt(node, 'axis', 0), r);
    const dy = ctx.dy(0)!;
    const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
    const frontFirst = [axis, ...range(0, axis), ...range(axis + 1, r)]; // data axes, gathered one first
    const shape = axis === 0 ? emit.op('Shape', [data]) : emit.op('Gather', [emit.op('Shape', [data]), emit.int64s(frontFirst)]);
    const zeros = emit.op('ConstantOfShape', [shape]);
    const dyFront = axis === 0 ? dy : emit.op('Transpose', [dy], [intsAttr('perm', [...range(axis, axis + q), ...range(0, axis), ...range(axis + q, q + r - 1)])]);
    const idx = emit.op('Unsqueeze', [indices, emit.int64s([-1])]); // [..., 1]
    const scattered = emit.op('ScatterND', [zeros, idx, dyFront], [stringAttr('reduction', 'add')], 'gather_back');
    if (axis === 0) return [scattered, undefined];
    return [emit.op('Transpose', [scattered], [intsAttr('perm', [...range(1, axis + 1), 0, ...range(axis + 1, r)])], 'gather_back'), undefined];
  },
};

export const selectRules: Record<string, GradientRule> = { Concat: concat, Slice: slice, Gather: gather };
