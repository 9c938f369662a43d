/**
 * `promise`, or a rejection once `ms` passed without it settling. For the reads behind health and
 * metrics: a scrape or a readiness probe must answer promptly even while Redis does not. The
 * promise itself is not cancelled (a command on a fail-fast connection settles soon anyway).
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    timer.unref();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
