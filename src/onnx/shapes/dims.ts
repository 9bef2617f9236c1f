/**
 * Arithmetic on symbolic dimensions. A symbolic dim is a product of symbol names and a positive
 * integer (`'N'`, `'N*64'`, `'N*seq*8'`; symbols sorted so equal products print equally), or `'?'`.
 * Products are all that Reshape, Flatten and shape subgraphs need to keep a batch symbol alive.
 */
import type { Dim } from './types.ts';

/** The dim nothing is known about. */
export const UNKNOWN_DIM = '?';

interface Product {
  coef: number;
  syms: string[];
}

function parse(d: Dim): Product | undefined {
  if (typeof d === 'number') return { coef: d, syms: [] };
  if (d === UNKNOWN_DIM) return undefined;
  const syms: string[] = [];
  let coef = 1;
  for (const part of d.split('*')) {
    if (/^\d+$/.test(part)) coef *= Number(part);
    else syms.push(part);
  }
  return { coef, syms: syms.sort() };
}

function format(p: Product): Dim {
  if (p.syms.length === 0 || p.coef === 0) return p.coef;
  return p.coef === 1 ? p.syms.join('*') : `${p.syms.join('*')}*${p.coef}`;
}

/** Canonical form of a dim (symbols sorted, sizes multiplied out). */
export function normalizeDim(d: Dim): Dim {
  const p = parse(d);
  return p === undefined ? UNKNOWN_DIM : format(p);
}

/** a × b. */
export function mulDims(a: Dim, b: Dim): Dim {
  if (a === 0 || b === 0) return 0;
  const pa = parse(a);
  const pb = parse(b);
  if (pa === undefined || pb === undefined) return UNKNOWN_DIM;
  return format({ coef: pa.coef * pb.coef, syms: [...pa.syms, ...pb.syms].sort() });
}

/** The product of several dims (1 for none). */
export function productOf(dims: readonly Dim[]): Dim {
  return dims.reduce<Dim>((acc, d) => mulDims(acc, d), 1);
}

/** a ÷ b when it divides exactly (symbols cancel), else `'?'`. */
export function divDims(a: Dim, b: Dim): Dim {
  const pa = parse(a);
  const pb = parse(b);
  if (pa === undefined || pb === undefined || pb.coef === 0 || pa.coef % pb.coef !== 0) return UNKNOWN_DIM;
  const syms = [...pa.syms];
  for (const s of pb.syms) {
    const i = syms.indexOf(s);
    if (i < 0) return UNKNOWN_DIM;
    syms.splice(i, 1);
  }
  return format({ coef: pa.coef / pb.coef, syms });
}

/** a + b when both are sizes or equal symbols, else `'?'` (sums of symbols are not tracked). */
export function addDims(a: Dim, b: Dim): Dim {
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  if (a === 0) return b;
  if (b === 0) return a;
  return dimsEqual(a, b) ? mulDims(a, 2) : UNKNOWN_DIM;
}

/** True when two dims are certainly equal. `'?'` equals nothing, not even itself. */
export function dimsEqual(a: Dim, b: Dim): boolean {
  if (a === UNKNOWN_DIM || b === UNKNOWN_DIM) return false;
  return normalizeDim(a) === normalizeDim(b);
}

/** True when two dims may be equal (either is not a plain size, or both are the same size). */
export function dimsCompatible(a: Dim, b: Dim): boolean {
  return typeof a !== 'number' || typeof b !== 'number' || a === b;
}

/**
 * Numpy-style broadcast of two shapes (right-aligned; a 1 stretches). Two different symbols give
 * `'?'`; two different sizes, neither 1, give `undefined`: the caller reports the mismatch.
 */
export function broadcastShapes(a: readonly Dim[], b: readonly Dim[]): Dim[] | undefined {
  const rank = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const x = a[a.length - rank + i] ?? 1;
    const y = b[b.length - rank + i] ?? 1;
    if (x === 1) out.push(y);
    else if (y === 1) out.push(x);
    else if (typeof x === 'number' && typeof y === 'number') {
      if (x !== y) return undefined;
      out.push(x);
    } else if (dimsEqual(x, y)) out.push(x);
    // A symbol against a size > 1: the symbol must be that size (or 1) for the graph to run.
    else if (typeof x === 'number') out.push(x);
    else if (typeof y === 'number') out.push(y);
    else out.push(UNKNOWN_DIM);
  }
  return out;
}

/** A dim's value with symbols substituted (`undefined` when a symbol has no value or it is `'?'`). */
export function evaluateDim(d: Dim, symbols: (name: string) => number | undefined): number | undefined {
  const p = parse(d);
  if (p === undefined) return undefined;
  let v = p.coef;
  for (const s of p.syms) {
    const x = symbols(s);
    if (x === undefined) return undefined;
    v *= x;
  }
  return v;
}

/** The symbol names a dim mentions. */
export function dimSymbols(d: Dim): string[] {
  return parse(d)?.syms ?? [];
}

/** `[N, 1, 28, 28]`, for messages. */
export function formatShape(dims: readonly Dim[] | 'unknown'): string {
  return dims === 'unknown' ? '[unknown]' : `[${dims.join(', ')}]`;
}
