import Fastify, { LogController, type FastifyError, type FastifyReply, type FastifyRequest } from 'fastify';
import type { RedisClient } from '../redis/connect.js';
import { orderFromWebhook, type Order } from '../api/order.js';
import type { FinalizeOutcome, WebhookFinalizer } from '../handlers/webhook-finalizer.js';
import type { OrderLedger, RecordEventOutcome } from '../ledger/order-ledger.js';
import type { Logger } from '../logging/logger.js';
import { SIGNATURE_HEADER, verifyWebhookSignature } from './signature.js';
import { startWebhookHeartbeat, type WebhookHeartbeat } from './webhook-heartbeat.js';
import { listenUrl } from '../http/listen-url.js';
import { LOG_EVENT } from '../logging/log-events.js';
import { throttledWarning } from '../logging/repeat-throttle.js';
import { MAX_MERCHANT_ORDER_ID_LENGTH, MAX_ORDER_ID_LENGTH } from '../api/api-limits.js';
import { OPS_PATHS, opsHandler, type OpsDeps } from '../health/ops-routes.js';
import type { WebhookCounter } from '../metrics/webhook-metrics.js';

/** Path the Voodoo Center API posts events to (configure it on the dashboard). */
export const WEBHOOK_PATH = '/webhooks/voodoo';

/** Dependencies of {@link startWebhookReceiver}. */
export interface WebhookReceiverDeps {
  /** Interface to bind (WEBHOOK_HOST). */
  host: string;
  /** Port to bind (WEBHOOK_PORT); 0 picks a free one. */
  port: number;
  /** HMAC secret the events are signed with (VOODOO_WEBHOOK_SECRET). Never logged. */
  secret: string;
  /** Largest accepted body, in bytes (WEBHOOK_BODY_LIMIT_BYTES); larger ones get 413. */
  bodyLimitBytes: number;
  /**
   * Most connections open at once (WEBHOOK_MAX_CONNECTIONS); a connection beyond it is closed as
   * soon as it is accepted, and the API redelivers. Bounds memory at about this × bodyLimitBytes.
   */
  maxConnections: number;
  /** Timeouts and keep-alive limits; production values ({@link WEBHOOK_TIMEOUTS}) unless set (tests shorten them). */
  timeouts?: Partial<WebhookTimeouts>;
  /** Clock, epoch ms, of the throttled log lines (tests pass their own). */
  now?: () => number;
  /** Where events are stored. */
  ledger: OrderLedger;
  /**
   * Wakes the intent job that owns an order (see createJobWaker), in the partition of
   * `merchantOrderId`. Its failure never fails the delivery: the job polls anyway.
   */
  wake: (jobId: string, merchantOrderId: string) => Promise<void>;
  /**
   * The fast path: decide the order's result from the stored event right away (see
   * createWebhookFinalizer), emit it and close the owning job. When it is contended (or absent, or
   * fails) the owning job is woken to apply the stored event itself.
   */
  finalize?: WebhookFinalizer;
  logger: Logger;
  /** Serve /readyz and /metrics besides /healthz (the receiver process passes them). */
  ops?: OpsDeps;
  /** Counts each delivery by outcome (voodoo_webhooks_total). */
  countWebhook?: WebhookCounter;
  /** Keep the "a receiver is alive" key set while running, so workers poll less often. */
  heartbeat?: {
    /** Not owned: the caller closes it after the receiver. */
    redis: RedisClient;
    /** Prefix of the fleet-wide keys: QUEUE_PREFIX, or with QUEUE_PARTITIONS > 1 the global area's (`partitionLayout(…).global.prefix`). */
    prefix: string;
    /** Lifetime of one beat, in ms. Default 10 000. */
    ttlMs?: number;
  };
}

/** How long the receiver waits for a client, in ms. */
export interface WebhookTimeouts {
  /** From a request's first byte until its whole body has arrived; then 408 and the connection closes. */
  requestMs: number;
  /** From a request's first byte (or the connection's start) until its headers are complete. */
  headersMs: number;
  /** How long an idle keep-alive connection stays open between two requests. */
  keepAliveMs: number;
}

/**
 * Production timeouts. The API gives up on a delivery after 30 s, so a request not received by
 * then only holds a connection; headers come in one packet from a real sender.
 */
export const WEBHOOK_TIMEOUTS: Readonly<WebhookTimeouts> = Object.freeze({ requestMs: 30_000, headersMs: 10_000, keepAliveMs: 5_000 });

/** Requests served on one keep-alive connection before it is closed, so senders spread over fresh ones. */
const MAX_REQUESTS_PER_SOCKET = 1_000;

/** At most one "signature failure" line per remote address, and one "connection refused" line, per this many ms. */
const REJECTION_LOG_WINDOW_MS = 60_000;

/**
 * Node's http server enforces `requestTimeout` and `headersTimeout` only when it sweeps its
 * connections, every `connectionsCheckingInterval` (default 30 s): a 30 s limit really cut a slow
 * body after 60-90 s. Sweeping every tenth of the limit (at most each second) and expiring that much
 * earlier makes a request be cut within its limit, never later.
 */
function nodeTimeouts(timeouts: WebhookTimeouts): { checkEveryMs: number; requestMs: number; headersMs: number } {
  const checkEveryMs = Math.max(10, Math.min(1_000, Math.floor(Math.min(timeouts.requestMs, timeouts.headersMs) / 10)));
  const requestMs = Math.max(1, timeouts.requestMs - checkEveryMs);
  // Node refuses a headers timeout longer than the request timeout.
  const headersMs = Math.min(requestMs, Math.max(1, timeouts.headersMs - checkEveryMs));
  return { checkEveryMs, requestMs, headersMs };
}

/** A listening receiver. */
export interface WebhookReceiver {
  /** Base URL it listens on, e.g. `http://127.0.0.1:8080` (the webhook is at `${url}/webhooks/voodoo`). */
  url: string;
  /** Whether the event store takes writes: the heartbeat's last beat was written (true without a heartbeat). */
  eventStoreWritable(): boolean;
  /**
   * Stop the heartbeat, stop accepting connections and wait for requests in flight. Close the
   * waker, queue and Redis connections after this.
   */
  close(): Promise<void>;
}


function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function send(reply: FastifyReply, status: number, body: Record<string, unknown>): FastifyReply {
  return reply.code(status).header('cache-control', 'no-store').send(body);
}

/**
 * Start the webhook receiver: verifies each event's signature over the raw bytes, stores it durably
 * in the ledger, then either decides the result at once (`finalize`, the same state machine and
 * compare-and-set the jobs use) or wakes the owning job to do it. Answers 200 only once the event is
 * stored, so the API redelivers anything not recorded. Resolves once it listens.
 */
export async function startWebhookReceiver(deps: WebhookReceiverDeps): Promise<WebhookReceiver> {
  const logger = deps.logger.child({ component: 'webhook-receiver' });
  const timeouts: WebhookTimeouts = { ...WEBHOOK_TIMEOUTS, ...deps.timeouts };
  const swept = nodeTimeouts(timeouts);
  const count = deps.countWebhook ?? (() => undefined);
  const app = Fastify({
    loggerInstance: logger,
    // pino child loggers cost real CPU at ~1000 events/s (a profile of the bench showed ~8 % of the
    // receiver in child creation): requests log through the receiver's logger, with ids inline.
    childLoggerFactory: (parent) => parent,
    // Per-request lines at ~1000 events/s are noise; each event gets one line of its own below.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: deps.bodyLimitBytes,
    // Fastify sets this on the server after creating it, so it must match the one given to node.
    requestTimeout: swept.requestMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    maxRequestsPerSocket: MAX_REQUESTS_PER_SOCKET,
    http: { requestTimeout: swept.requestMs, headersTimeout: swept.headersMs, connectionsCheckingInterval: swept.checkEveryMs },
  });
  app.server.maxConnections = deps.maxConnections;
  const warnRefused = throttledWarning(logger, 'connection refused: WEBHOOK_MAX_CONNECTIONS reached', { windowMs: REJECTION_LOG_WINDOW_MS, now: deps.now });
  app.server.on('drop', (data?: { remoteAddress?: string }) => warnRefused({ remoteAddress: data?.remoteAddress, maxConnections: deps.maxConnections }));
  // A flood of forged events would otherwise write a line each: one per sender per window, with a count.
  const warnBadSignature = throttledWarning(logger, 'webhook rejected: missing or invalid signature', {
    windowMs: REJECTION_LOG_WINDOW_MS,
    now: deps.now,
    kindOf: (fields) => String(fields.remoteAddress),
  });

  // The signature covers the bytes exactly as sent, so no parser may touch them first: every
  // content type (and none) arrives as a Buffer.
  app.removeAllContentTypeParsers();
  const keepRaw = (_req: FastifyRequest, body: Buffer, done: (err: null, body: Buffer) => void): void => done(null, body);
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, keepRaw);
  app.addContentTypeParser('*', { parseAs: 'buffer' }, keepRaw);

  app.setErrorHandler(async (err: FastifyError, request, reply) => {
    const status = err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status < 500 && request.routeOptions.url === WEBHOOK_PATH) count(status === 413 ? 'too_large' : 'malformed');
    if (status === 413) {
      request.log.warn({ limitBytes: deps.bodyLimitBytes }, 'webhook rejected: body too large');
      return send(reply, 413, { error: 'body too large' });
    }
    if (status < 500) {
      // Fastify's own 4xx messages describe the request framing, never its content.
      request.log.warn({ status, code: err.code }, 'webhook request rejected');
      return send(reply, status, { error: err.message });
    }
    request.log.error({ err }, 'webhook receiver failed');
    return send(reply, 500, { error: 'internal error' });
  });
  app.setNotFoundHandler(async (_request, reply) => send(reply, 404, { error: 'not found' }));

  const { ops } = deps;
  if (ops) for (const path of OPS_PATHS) app.get(path, opsHandler(path, ops));
  else app.get('/healthz', async (_request, reply) => send(reply, 200, { ok: true }));

  app.post(WEBHOOK_PATH, async (request, reply) => {
    const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const signature = request.headers[SIGNATURE_HEADER];
    if (!verifyWebhookSignature(deps.secret, raw, typeof signature === 'string' ? signature : undefined)) {
      count('bad_signature');
      // Never the body nor the signature: who sent it is what an operator needs.
      warnBadSignature({ remoteAddress: request.socket.remoteAddress ?? 'unknown' });
      return send(reply, 401, { error: 'invalid signature' });
    }

    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      // The parser's message quotes the body, which may hold codes: it is not logged.
      count('malformed');
      request.log.warn('webhook rejected: malformed JSON');
      return send(reply, 400, { error: 'malformed JSON' });
    }
    if (!isPlainObject(body)) {
      count('malformed');
      request.log.warn('webhook rejected: not a JSON object');
      return send(reply, 400, { error: 'unusable webhook event: not a JSON object' });
    }
    let order: Order;
    try {
      order = orderFromWebhook(body);
    } catch (err) {
      const problem = err instanceof Error ? err.message : 'unusable webhook event';
      count('malformed');
      request.log.warn({ problem }, 'webhook rejected: unusable event');
      return send(reply, 400, { error: problem });
    }

    const mid = order.merchantOrderId;
    if (mid !== null && mid.length > MAX_MERCHANT_ORDER_ID_LENGTH) {
      // The API never sends one (it refuses them on create); storing it would make a key that large.
      count('refused');
      logger.warn({ order_id: order.id.slice(0, MAX_ORDER_ID_LENGTH), merchantOrderIdLength: mid.length }, 'webhook refused: merchant_order_id too long');
      return send(reply, 400, { error: `unusable webhook event: merchant_order_id longer than ${MAX_MERCHANT_ORDER_ID_LENGTH} characters` });
    }
    if (order.id.length > MAX_ORDER_ID_LENGTH) {
      // Order ids are the API's UUIDs; one this long is not the API's, and it would name a Redis key.
      count('refused');
      logger.warn({ orderIdLength: order.id.length }, 'webhook refused: order_id too long');
      return send(reply, 400, { error: `unusable webhook event: order_id longer than ${MAX_ORDER_ID_LENGTH} characters` });
    }
    const ids = { merchant_order_id: order.merchantOrderId, order_id: order.id, status: order.status };
    if (mid === null) {
      let outcome: 'stored' | 'duplicate';
      try {
        outcome = await deps.ledger.recordEventWithoutMerchantOrderId(order.id, raw.toString('utf8'));
      } catch (err) {
        count('store_failed');
        logger.error({ ...ids, err }, 'webhook event not stored; the API will redeliver');
        return send(reply, 503, { error: 'temporarily unavailable' });
      }
      count(outcome);
      logger.info({ ...ids, outcome }, 'webhook event without merchant_order_id stored');
      return send(reply, 200, { ok: true });
    }

    let stored: RecordEventOutcome;
    try {
      stored = await deps.ledger.recordEvent(mid, order);
    } catch (err) {
      count('store_failed');
      logger.error({ ...ids, err }, 'webhook event not stored; the API will redeliver');
      return send(reply, 503, { error: 'temporarily unavailable' });
    }
    count(stored.outcome);
    if (stored.outcome === 'conflict') {
      logger.warn({ ...ids }, 'webhook event for another order id than this merchant_order_id’s: kept aside for inspection');
      return send(reply, 200, { ok: true });
    }
    let woke = false;
    let finalized: FinalizeOutcome | 'failed' | 'skipped' = 'skipped';
    if (stored.outcome === 'stored' && stored.record !== null && deps.finalize) {
      try {
        finalized = await deps.finalize(mid, order, stored.record);
      } catch (err) {
        finalized = 'failed';
        // The event is stored: the owning job applies it when woken (below) or at its next poll.
        logger.warn({ ...ids, err }, 'webhook event stored but not applied; the owning job will apply it');
      }
    }
    const leftToJob = finalized === 'contended' || finalized === 'failed' || (finalized === 'skipped' && deps.finalize === undefined);
    if (leftToJob && stored.outcome === 'stored' && stored.owner !== '') {
      try {
        await deps.wake(stored.owner, mid);
        woke = true;
      } catch (err) {
        logger.debug({ ...ids, err, owner: stored.owner }, 'owning job not woken; it polls anyway');
      }
    }
    logger.info({ event: LOG_EVENT.webhookAccepted, ...ids, outcome: stored.outcome, known: stored.known, owner: stored.owner, finalized, woke }, 'webhook event accepted');
    return send(reply, 200, { ok: true });
  });

  await app.listen({ host: deps.host, port: deps.port });
  let heartbeat: WebhookHeartbeat | null = null;
  try {
    if (deps.heartbeat) {
      heartbeat = await startWebhookHeartbeat({ ...deps.heartbeat, logger });
    }
  } catch (err) {
    await app.close();
    throw err;
  }
  const address = app.server.address();
  if (address === null || typeof address === 'string') {
    await heartbeat?.stop();
    await app.close();
    throw new Error('invariant: a listening fastify server has a TCP address');
  }
  let closing: Promise<void> | null = null;

  return {
    url: listenUrl(deps.host, address.port),
    eventStoreWritable: () => heartbeat?.writable() ?? true,
    close(): Promise<void> {
      closing ??= (async () => {
        try {
          // Workers go back to polling at their own pace before the last events are drained.
          await heartbeat?.stop();
        } finally {
          await app.close();
          // Finalizations answered already may still be recording their bookkeeping.
          await deps.finalize?.drain();
        }
      })();
      return closing;
    },
  };
}
