/** How exits-only training stops when asked to: nothing is written, so running again starts over. */
import { ExitwiseError } from '../../errors.ts';

/** The `EXW_INTERRUPTED` error of a stop requested through an `AbortSignal` while `what` ran. */
export function interrupted(what: string): ExitwiseError {
  return new ExitwiseError('EXW_INTERRUPTED', `exits-only training stopped while ${what}; nothing was written`, {
    hint: 'Run the command again to start over (exits-only training keeps no checkpoints: the heads train in minutes).',
  });
}
