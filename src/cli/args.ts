/**
 * Parsers of numeric command-line values, shared by every command: commander reports their
 * `InvalidArgumentError` as a usage error naming the option.
 */
import { InvalidArgumentError } from 'commander';

/** Parses the whole text as a number (`Number('')` is 0, which no option means). */
function number(value: string): number {
  return value.trim() === '' ? NaN : Number(value);
}

export function positiveInt(value: string): number {
  const n = number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected an integer ≥ 1.');
  return n;
}

export function nonNegativeInt(value: string): number {
  const n = number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected an integer ≥ 0.');
  return n;
}

export function positiveNumber(value: string): number {
  const n = number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a number > 0.');
  return n;
}

export function nonNegativeNumber(value: string): number {
  const n = number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a number ≥ 0.');
  return n;
}
