import { LOG_EVENT } from '../logging/log-events.js';
import type { Logger } from '../logging/logger.js';
import { throttledWarning } from '../logging/repeat-throttle.js';

/** At most one "bullmq error" line per error message per this many ms; the rest are counted. */
const BULLMQ_ERROR_WINDOW_MS = 10_000;

/** Something BullMQ that emits `error` events (a Queue or a Worker). */
interface ErrorEmitter {
  on(event: 'error', listener: (err: Error) => void): unknown;
}

/**
 * Send the `error` events of a process's BullMQ queues and workers to one throttled warning.
 * Without a listener they would be printed raw to stderr, past the logger; while Redis is away they
 * all fail at once, repeatedly, so one line per kind of error per window says enough.
 */
export function logBullmqErrors(logger: Logger, sources: Readonly<Record<string, ErrorEmitter>>): void {
  const warn = throttledWarning(logger, 'bullmq error', { windowMs: BULLMQ_ERROR_WINDOW_MS });
  for (const [source, emitter] of Object.entries(sources)) emitter.on('error', (err) => warn({ event: LOG_EVENT.bullmqError, err, source }));
}
