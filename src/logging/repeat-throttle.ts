import type { Logger } from './logger.js';

/** Options of {@link throttledWarning}. */
export interface ThrottledWarningOptions {
  /** At most one line per kind of warning per this many ms; the repeats in between are counted, not written. */
  windowMs: number;
  /** Clock, epoch ms (tests pass their own). */
  now?: () => number;
  /**
   * What makes two lines the same kind, throttled together. Default: the `err` message alone (see
   * {@link errorKind}); e.g. the webhook receiver keys its signature failures by remote address.
   */
  kindOf?: (fields: Record<string, unknown>) => string;
}

/** Kinds tracked at once; an outage produces a handful, so more than this means the key is too fine. */
const MAX_KINDS = 64;

interface Kind {
  lastAt: number;
  repeated: number;
}

/**
 * The error message alone: in an outage every queue of a process reports its shared connection's
 * errors too, so keying by source as well would repeat each of them once per queue.
 */
export function errorKind(fields: Record<string, unknown>): string {
  const err = fields.err;
  return err instanceof Error ? err.message : '';
}

/**
 * Decides which occurrences of a repeating kind of line are written: the first at once, then at
 * most one per `windowMs`. Returns null for an occurrence to leave out, or how many were left out
 * since the last one written (0 for the first), to write with it.
 */
export function repeatGate(windowMs: number, now: () => number = Date.now): (kind: string) => number | null {
  const kinds = new Map<string, Kind>();
  return (key) => {
    const at = now();
    const kind = kinds.get(key);
    if (kind !== undefined && at - kind.lastAt < windowMs) {
      kind.repeated += 1;
      return null;
    }
    // Re-inserted so the map's order is least recently written first, for the eviction below.
    kinds.delete(key);
    kinds.set(key, { lastAt: at, repeated: 0 });
    if (kinds.size > MAX_KINDS) {
      const oldest = kinds.keys().next();
      if (oldest.done !== true) kinds.delete(oldest.value);
    }
    return kind?.repeated ?? 0;
  };
}

/**
 * A warning that repeats in bursts (BullMQ emits `error` for every failed blocking call while Redis
 * is away, ~15 per second per worker) written at most once per window for each error message, so
 * an unrelated error in the middle of a burst is still written. The first
 * occurrence of a kind is written at once; its next line after the window says how many were left
 * out (`repeated`). A count left when the burst ends is written with the next occurrence of that kind.
 */
export function throttledWarning(
  logger: Logger,
  message: string,
  options: ThrottledWarningOptions,
): (fields: Record<string, unknown>) => void {
  const kindOf = options.kindOf ?? errorKind;
  const gate = repeatGate(options.windowMs, options.now);
  return (fields) => {
    const repeated = gate(kindOf(fields));
    if (repeated === null) return;
    logger.warn(repeated > 0 ? { ...fields, repeated } : fields, message);
  };
}
