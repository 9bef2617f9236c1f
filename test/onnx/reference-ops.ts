/**
 * Float64 reference implementations for the builder tests: plain loops, written from the ONNX
 * operator definitions, independent of ORT and of the builder.
 */

/** An n-d array in row-major order. */
export interface Nd {
  dims: number[];
  data: Float64Array;
}

export function nd(dims: number[], fill: (i: number) => number): Nd {
  const n = dims.reduce((a, b) => a * b, 1);
  return { dims, data: Float64Array.from({ length: n }, (_, i) => fill(i)) };
}

/** Deterministic values in [-1, 1). */
export function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  };
}

export function strides(dims: number[]): number[] {
  const out = new Array<number>(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) out[i] = out[i + 1]! * dims[i + 1]!;
  return out;
}

export function map(x: Nd, f: (v: number) => number): Nd {
  return { dims: x.dims, data: x.data.map(f) };
}

/** Numpy broadcasting of two arrays. */
export function zip(a: Nd, b: Nd, f: (x: number, y: number) => number): Nd {
  const rank = Math.max(a.dims.length, b.dims.length);
  const pa = [...new Array(rank - a.dims.length).fill(1), ...a.dims];
  const pb = [...new Array(rank - b.dims.length).fill(1), ...b.dims];
  const dims = pa.map((d, i) => Math.max(d, pb[i]!));
  const [sa, sb, so] = [strides(pa), strides(pb), strides(dims)];
  return nd(dims, (i) => {
    let ia = 0;
    let ib = 0;
    for (let k = 0; k < rank; k++) {
      const c = Math.floor(i / so[k]!) % dims[k]!;
      ia += (pa[k] === 1 ? 0 : c) * sa[k]!;
      ib += (pb[k] === 1 ? 0 : c) * sb[k]!;
    }
    return f(a.data[ia]!, b.data[ib]!);
  });
}

export interface Window2d {
  stride: [number, number];
  pads: [number, number, number, number];
  dilation: [number, number];
}

/** Conv2d: x [N,C,H,W], w [M,C/g,kH,kW]. */
export function conv2d(x: Nd, w: Nd, bias: Nd | undefined, group: number, win: Window2d): Nd {
  const [n, c, h, wd] = x.dims as [number, number, number, number];
  const [m, cg, kh, kw] = w.dims as [number, number, number, number];
  const oh = Math.floor((h + win.pads[0] + win.pads[2] - win.dilation[0] * (kh - 1) - 1) / win.stride[0]) + 1;
  const ow = Math.floor((wd + win.pads[1] + win.pads[3] - win.dilation[1] * (kw - 1) - 1) / win.stride[1]) + 1;
  const out = nd([n, m, oh, ow], () => 0);
  const mg = m / group;
  for (let b = 0; b < n; b++) for (let o = 0; o < m; o++) for (let y = 0; y < oh; y++) for (let xx = 0; xx < ow; xx++) {
    let s = bias?.data[o] ?? 0;
    const g = Math.floor(o / mg);
    for (let ci = 0; ci < cg; ci++) for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) {
      const iy = y * win.stride[0] - win.pads[0] + i * win.dilation[0];
      const ix = xx * win.stride[1] - win.pads[1] + j * win.dilation[1];
      if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
      s += x.data[((b * c + g * cg + ci) * h + iy) * wd + ix]! * w.data[((o * cg + ci) * kh + i) * kw + j]!;
    }
    out.data[((b * m + o) * oh + y) * ow + xx] = s;
  }
  return out;
}

/** ConvTranspose2d: x [N,C,H,W], w [C,M/g,kH,kW]; scatter form. */
export function convTranspose2d(x: Nd, w: Nd, group: number, stride: [number, number], pads: [number, number, number, number], outputPadding: [number, number]): Nd {
  const [n, c, h, wd] = x.dims as [number, number, number, number];
  const [, mg, kh, kw] = w.dims as [number, number, number, number];
  const m = mg * group;
  const oh = stride[0] * (h - 1) + outputPadding[0] + kh - pads[0] - pads[2];
  const ow = stride[1] * (wd - 1) + outputPadding[1] + kw - pads[1] - pads[3];
  const out = nd([n, m, oh, ow], () => 0);
  const cg = c / group;
  for (let b = 0; b < n; b++) for (let ci = 0; ci < c; ci++) for (let y = 0; y < h; y++) for (let xx = 0; xx < wd; xx++) {
    const g = Math.floor(ci / cg);
    for (let o = 0; o < mg; o++) for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) {
      const oy = y * stride[0] - pads[0] + i;
      const ox = xx * stride[1] - pads[1] + j;
      if (oy < 0 || oy >= oh || ox < 0 || ox >= ow) continue;
      out.data[((b * m + g * mg + o) * oh + oy) * ow + ox]! += x.data[((b * c + ci) * h + y) * wd + xx]! * w.data[((ci * mg + o) * kh + i) * kw + j]!;
    }
  }
  return out;
}

/** Max or average pooling (average excludes padding), floor mode. */
export function pool2d(x: Nd, kind: 'max' | 'avg', k: [number, number], win: Window2d): Nd {
  const [n, c, h, wd] = x.dims as [number, number, number, number];
  const oh = Math.floor((h + win.pads[0] + win.pads[2] - k[0]) / win.stride[0]) + 1;
  const ow = Math.floor((wd + win.pads[1] + win.pads[3] - k[1]) / win.stride[1]) + 1;
  return nd([n, c, oh, ow], (idx) => {
    const xx = idx % ow;
    const y = Math.floor(idx / ow) % oh;
    const plane = Math.floor(idx / (ow * oh));
    const vals: number[] = [];
    for (let i = 0; i < k[0]; i++) for (let j = 0; j < k[1]; j++) {
      const iy = y * win.stride[0] - win.pads[0] + i;
      const ix = xx * win.stride[1] - win.pads[1] + j;
      if (iy >= 0 && iy < h && ix >= 0 && ix < wd) vals.push(x.data[(plane * h + iy) * wd + ix]!);
    }
    return kind === 'max' ? Math.max(...vals) : vals.reduce((a, b) => a + b, 0) / vals.length;
  });
}

/** Reduces the given axes (kept as size 1) with `f` over the values of each group. */
export function reduceAxes(x: Nd, axes: number[], f: (vals: number[]) => number): Nd {
  const dims = x.dims.map((d, i) => (axes.includes(i) ? 1 : d));
  const groups = new Map<number, number[]>();
  const [sx, so] = [strides(x.dims), strides(dims)];
  x.data.forEach((v, i) => {
    let o = 0;
    x.dims.forEach((d, k) => {
      if (!axes.includes(k)) o += (Math.floor(i / sx[k]!) % d) * so[k]!;
    });
    (groups.get(o) ?? groups.set(o, []).get(o)!).push(v);
  });
  return nd(dims, (i) => f(groups.get(i)!));
}

/** Generic gather of coordinates: out[coords] = x[source(coords)]. */
export function remap(x: Nd, dims: number[], source: (coords: number[]) => number[]): Nd {
  const [so, sx] = [strides(dims), strides(x.dims)];
  return nd(dims, (i) => {
    const coords = dims.map((d, k) => Math.floor(i / so[k]!) % d);
    return x.data[source(coords).reduce((acc, c, k) => acc + c * sx[k]!, 0)]!;
  });
}

/** erf by Abramowitz–Stegun 7.1.26 would be too coarse; this series/continued fraction is ~1e-15. */
export function erf(x: number): number {
  if (Math.abs(x) > 3) return Math.sign(x) * (1 - erfcLarge(Math.abs(x)));
  let sum = x;
  let term = x;
  for (let n = 1; n < 100; n++) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

function erfcLarge(x: number): number {
  let f = 0;
  for (let n = 60; n >= 1; n--) f = n / 2 / (x + f);
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / (x + f);
}
