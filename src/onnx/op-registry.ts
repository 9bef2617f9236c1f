/**
 * Which operators exist: the standard ONNX ops with the opsets that introduced them (generated
 * from ONNX's own schemas, see scripts/gen-op-registry.py), the domains exitwise knows, and the
 * highest opset ONNX Runtime 1.30 accepts per domain. Validation uses it to turn "ORT will refuse
 * this model" into a typed error that names the op, before a session is ever created.
 */
import { OP_SINCE_VERSIONS, ORT_EXTRA_OPS } from './op-schemas.generated.ts';

/**
 * Highest opset ONNX Runtime 1.30 loads per domain (measured: ORT refuses one more with
 * "Opset N is under development"). Domains missing here have no ORT limit.
 */
export const ORT_MAX_OPSET: Readonly<Record<string, number>> = {
  '': 26,
  'ai.onnx.ml': 5,
  'ai.onnx.preview.training': 1,
  'ai.onnx.training': 1,
  'com.microsoft': 1,
};

/** Domains whose ops ORT runs. '' and 'ai.onnx' are the same domain. */
export const KNOWN_DOMAINS: readonly string[] = Object.keys(ORT_MAX_OPSET);

/** The highest opset ORT 1.30 runs for a domain; undefined for domains it does not know. */
export function ortMaxOpset(domain: string): number | undefined {
  const d = canonicalDomain(domain);
  return Object.hasOwn(ORT_MAX_OPSET, d) ? ORT_MAX_OPSET[d] : undefined;
}

/** `'ai.onnx'` → `''`: ONNX treats the two spellings of the default domain as one. */
export function canonicalDomain(domain: string): string {
  return domain === 'ai.onnx' ? '' : domain;
}

/** A domain for messages: the default domain is shown as `ai.onnx`. */
export function domainLabel(domain: string): string {
  return canonicalDomain(domain) === '' ? 'ai.onnx' : domain;
}

/** What the registry knows about one op at one opset. */
export type OpLookup =
  /** A standard op that exists at this opset; `version` is the revision that applies. */
  | { status: 'standard'; version: number }
  /** Not an ONNX op at this opset, but ORT registers it (old experimental ops, ORT's early LayerNormalization). */
  | { status: 'legacy' }
  /** A standard op, but introduced after the imported opset. */
  | { status: 'too-new'; since: number }
  /** No such op in this domain. */
  | { status: 'unknown' }
  /** A domain whose op list exitwise does not hold (com.microsoft contrib ops): ORT decides. */
  | { status: 'unchecked' };

/**
 * Looks up an op type in a domain at the given opset version.
 * @example
 * lookupOp('', 'Gelu', 17); // { status: 'too-new', since: 20 }
 * lookupOp('', 'Conv', 17); // { status: 'standard', version: 11 }
 */
export function lookupOp(domain: string, opType: string, opset: number): OpLookup {
  const d = canonicalDomain(domain);
  const ops = Object.hasOwn(OP_SINCE_VERSIONS, d) ? OP_SINCE_VERSIONS[d] : undefined;
  if (ops === undefined) return { status: 'unchecked' };
  const versions = Object.hasOwn(ops, opType) ? ops[opType] : undefined;
  let version: number | undefined;
  for (const v of versions ?? []) if (v <= opset) version = v;
  if (version !== undefined) return { status: 'standard', version };
  const extra = Object.hasOwn(ORT_EXTRA_OPS, d) ? ORT_EXTRA_OPS[d] : undefined;
  const ortSince = extra !== undefined && Object.hasOwn(extra, opType) ? extra[opType] : undefined;
  if (ortSince !== undefined && ortSince <= opset) return { status: 'legacy' };
  return versions === undefined ? { status: 'unknown' } : { status: 'too-new', since: versions[0]! };
}

/** Standard op types of a domain, sorted: for "did you mean" hints and tests. */
export function standardOps(domain: string): string[] {
  const d = canonicalDomain(domain);
  return Object.hasOwn(OP_SINCE_VERSIONS, d) ? Object.keys(OP_SINCE_VERSIONS[d]!).sort() : [];
}

/** The standard op whose name is closest to `opType` (case-insensitive edit distance ≤ 2), if any. */
export function closestOp(domain: string, opType: string): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const name of standardOps(domain)) {
    const d = editDistance(name.toLowerCase(), opType.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [name, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
