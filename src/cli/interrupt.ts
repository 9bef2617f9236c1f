/**
 * Ctrl-C and SIGTERM for long commands: the first signal aborts the work's AbortSignal (the
 * command stops at its next safe point and says what it kept); the listeners are removed when
 * the work ends, so a second signal then quits at once as usual.
 */
export async function withStopSignal<T>(notice: string | null, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const stop = () => {
    controller.abort();
    if (notice !== null) process.stderr.write(`\n${notice}\n`);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    return await work(controller.signal);
  } finally {
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
  }
}
