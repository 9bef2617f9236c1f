/**
 * How commands speak: human text on a terminal, one JSON document with `--json`, and errors as
 * `error EXW_…: message` plus a hint, with the exit status of the error's class.
 */
import type { z } from 'zod';
import { ExitwiseError } from '../errors.ts';

/** Prints `value` as JSON after checking it against the command's published schema. */
export function printJson<S extends z.ZodType>(schema: S, value: z.input<S>): void {
  const checked = schema.safeParse(value);
  if (!checked.success) {
    // A schema mismatch is our bug, not the user's: fail loudly rather than print a lie.
    throw new Error(`internal: JSON output does not match its schema: ${checked.error.message}`);
  }
  process.stdout.write(`${JSON.stringify(checked.data, null, 2)}\n`);
}

/** Reports an error and returns the exit status to use. */
export function reportError(error: unknown, json: boolean): number {
  if (error instanceof ExitwiseError) {
    if (json) process.stdout.write(`${JSON.stringify({ error: error.toJSON() }, null, 2)}\n`);
    process.stderr.write(`error ${error.code}: ${error.message}\n`);
    if (error.hint !== undefined) process.stderr.write(`hint: ${error.hint}\n`);
    return error.exitStatus;
  }
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  if (json) process.stdout.write(`${JSON.stringify({ error: { code: 'EXW_INTERNAL', message: String(error) } }, null, 2)}\n`);
  process.stderr.write(`internal error (please report it): ${message}\n`);
  return 70;
}

/** Formats a count with SI suffixes: 1.23M, 45.6k. */
export function formatCount(n: number): string {
  const abs = Math.abs(n);
  if (abs >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (abs >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (abs >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(n);
}

/** A plain text table with right-aligned numeric columns. */
export function formatTable(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? '').length)));
  const numeric = header.map((_, c) => rows.length > 0 && rows.every((r) => typeof r[c] === 'number' || /^[\d.,%+-]+[kMG]?$/.test(String(r[c]))));
  const line = (r: string[]): string =>
    r.map((cell, c) => (numeric[c] ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd();
  return [line(cells[0]!), line(widths.map((w) => '-'.repeat(w))), ...cells.slice(1).map(line)].join('\n');
}
