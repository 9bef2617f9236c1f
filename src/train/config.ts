/**
 * JSON configs told apart by `kind` (optimizers, schedules, clipping): each kind has a zod schema
 * that refuses unknown fields (a typo must not fall back to a default silently) and fills in the
 * defaults, so a resolved config written to a checkpoint or a report is complete.
 */
import type { z } from 'zod';
import { ExitwiseError } from '../errors.ts';

/** What a registry needs of a kind to read its configs. */
export interface KindSchema<C> {
  schema: z.ZodType<C>;
  /** A valid config with every field, for error hints. */
  example: string;
}

/**
 * Checks `config` against the schema of its kind; `EXW_USAGE` naming the field at fault, the
 * known kinds or an example otherwise.
 */
export function resolveKindConfig<C>(what: string, registry: Readonly<Record<string, KindSchema<C>>>, config: unknown): C {
  const kinds = Object.keys(registry).join(', ');
  const kind = typeof config === 'object' && config !== null ? (config as { kind?: unknown }).kind : undefined;
  const entry = typeof kind === 'string' && Object.hasOwn(registry, kind) ? registry[kind] : undefined;
  if (entry === undefined) {
    throw new ExitwiseError('EXW_USAGE', `${what} config needs a "kind" among ${kinds}; got ${JSON.stringify(kind ?? null)}`, {
      hint: `For example ${Object.values(registry)[0]!.example}`,
    });
  }
  const checked = entry.schema.safeParse(config);
  if (!checked.success) {
    const issues = checked.error.issues.map((i) => (i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message));
    throw new ExitwiseError('EXW_USAGE', `bad ${kind} ${what} config: ${issues.join('; ')}`, { hint: `For example ${entry.example}` });
  }
  return checked.data;
}
