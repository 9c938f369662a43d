import type { Logger } from './logger.js';

/** Options of {@link throttledWarning}. */
export interface ThrottledWarningOptions {
  /** At most one line per this many ms; the repeats in between are counted, not written. */
  windowMs: number;
  /** Clock, epoch ms (tests pass their own). */
  now?: () => number;
}

/**
 * A warning that repeats in bursts (BullMQ emits `error` for every failed blocking call while Redis
 * is away, ~15 per second per worker) written at most once per window. The first occurrence is
 * written at once; the next line after the window says how many were left out (`repeated`).
 */
export function throttledWarning(
  logger: Logger,
  message: string,
  options: ThrottledWarningOptions,
): (fields: Record<string, unknown>) => void {
  const now = options.now ?? Date.now;
  let lastAt = Number.NEGATIVE_INFINITY;
  let repeated = 0;
  return (fields) => {
    const at = now();
    if (at - lastAt < options.windowMs) {
      repeated += 1;
      return;
    }
    logger.warn(repeated > 0 ? { ...fields, repeated } : fields, message);
    lastAt = at;
    repeated = 0;
  };
}
