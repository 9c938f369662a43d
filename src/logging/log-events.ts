import type { Notice } from '../lifecycle/order-state.js';

/**
 * The `event` field of the log lines that other processes and tools read (the fleet harness, the
 * chaos checks, tests, an operator's log pipeline). A message (`msg`) is written for people and may
 * be reworded; an event name is an interface: readers key on it, never on the message text.
 *
 * Every line of the order lifecycle's notices also carries its notice kind as its event
 * (`order_placed`, `funds_short`, `rate_limited`…); the two a tool reads are named here.
 */
export const LOG_EVENT = {
  /** A worker consumes intents (`worker started`). */
  workerStarted: 'worker_started',
  /** A webhook receiver accepts events (`webhook receiver listening`). */
  webhookListening: 'webhook_listening',
  /** The dashboard serves its page (`dashboard listening`). */
  dashboardListening: 'dashboard_listening',
  /** The sandbox answers API calls (`sandbox listening`). */
  sandboxListening: 'sandbox_listening',
  /** A result was added to order-results; `merchant_order_id`, `status`, `order_id`, `by`. */
  resultEmitted: 'result_emitted',
  /** A resolution of an `unresolved` result was added to order-results; `merchant_order_id`, `status`, `order_id`, `source`, `by`. */
  resolutionEmitted: 'resolution_emitted',
  /** An operator's resolve request ended; `merchant_order_id`, `outcome` (resolved, already_resolved, refused), `reason`. */
  resolveAnswered: 'resolve_answered',
  /** The receiver stored (or recognised) a signed webhook event; `merchant_order_id`, `outcome`. */
  webhookAccepted: 'webhook_accepted',
  /** A create's outcome is unknown (timeout, reset, 5xx): retried with the same merchant_order_id. */
  createAmbiguous: 'create_ambiguous' satisfies Notice['kind'],
  /** An earlier create may have landed but its order id is unknown: only the webhook can tell. */
  awaitingWebhook: 'awaiting_webhook' satisfies Notice['kind'],
  /**
   * A Redis connection failed (`connection`, `redis` = host:port); throttled per kind of error
   * across a process's connections, `repeated` counts the rest.
   */
  redisError: 'redis_error',
  /** A Redis connection is back after an error (`connection` names it). */
  redisRestored: 'redis_restored',
  /** A BullMQ queue or worker reported an error (throttled per kind of error; `repeated` counts the rest). */
  bullmqError: 'bullmq_error',
  /** A worker's periodic removal of aged finished jobs failed (throttled per kind of error; `repeated` counts the rest). */
  jobCleanupFailed: 'job_cleanup_failed',
  /** One Voodoo Center API call answered (debug level); `endpoint`, `status`, `durationMs`. */
  apiCall: 'api_call',
} as const;

/** One of the event names above, or a notice kind. */
export type LogEvent = (typeof LOG_EVENT)[keyof typeof LOG_EVENT] | Notice['kind'];

/** A JSON log line that carries an `event`: the event and all of the line's fields. */
export interface EventLine {
  event: string;
  fields: Readonly<Record<string, unknown>>;
}

/** The fields of a JSON log line, or null when it is not a JSON object (a stack trace, a node warning). */
export function parseLogLine(line: string): Record<string, unknown> | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return null;
  }
  return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : null;
}

/**
 * The event and fields of a JSON log line, or null when the line carries no event (or is not JSON).
 * Lines without `"event":` are not parsed at all: most lines are none a tool reads.
 */
export function readEventLine(line: string): EventLine | null {
  if (!line.startsWith('{') || !line.includes('"event":')) return null;
  const fields = parseLogLine(line);
  return fields !== null && typeof fields.event === 'string' ? { event: fields.event, fields } : null;
}
