/**
 * Resolve after `ms`, or as soon as `signal` aborts — never rejects, unlike node:timers/promises,
 * because the orchestration loops that use it check the signal themselves and then clean up.
 */
export function abortableSleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
