/** Number and text formatting shared by the page, its tables and its charts. */

/** Escapes text for HTML element content and double-quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** `x` in [0, 1] as a percentage. */
export function percent(x: number, digits = 1): string {
  return `${(100 * x).toFixed(digits)}%`;
}

/** A FLOPs count with an SI prefix: 7.48 M, 228.7 k. */
export function flops(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return n.toFixed(0);
}

/** A count with thousands separators. */
export function count(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** Milliseconds: three decimals below 10 ms (MNIST-size segments take fractions of one), one above. */
export function ms(x: number | null | undefined): string {
  return x === null || x === undefined ? '—' : x < 10 ? x.toFixed(3) : x.toFixed(1);
}
