/**
 * Every Redis key name this project uses, built in one place. This project's own keys live under
 * `<prefix>:vf:` (prefix = QUEUE_PREFIX); BullMQ's live under `<prefix>:<queue>:`.
 *
 * The names are stored data: a running fleet, and the records and tombstones it left, depend on
 * them. Renaming one is a data migration, not a refactoring (test/unit/redis-keys.test.ts pins them).
 */

/**
 * The keys this project owns under `<prefix>:vf:`. Every one is bounded: by a TTL, by a trim in the
 * script that writes it, or by what is in flight (reservations, locks, balance, token). `legacy…` keys are what
 * older releases wrote unbounded: read-only or unused now, dropped by the operator (README, "Memory
 * and retention").
 */
export interface ProjectKeys {
  /**
   * Hash: one order's ledger record (state, version, event, owner), by merchant_order_id. Expires
   * RETENTION_SECONDS after its result, or UNMATCHED_EVENT_TTL_SECONDS after an event no intent claimed.
   */
  order(merchantOrderId: string): string;
  /**
   * String: a finished merchant_order_id's tombstone = its final status, kept TOMBSTONE_TTL_SECONDS
   * (≥ RETENTION_SECONDS) so the id cannot produce a second result once its record has expired.
   */
  tombstone(merchantOrderId: string): string;
  /** Hash: tombstones of older releases, merchant_order_id → final status, never expiring. Read-only fallback. */
  readonly legacyTombstones: string;
  /**
   * Sorted set: merchant_order_ids that have a webhook event but no intent, scored by when the event
   * was stored (ms); pruned past UNMATCHED_EVENT_TTL_SECONDS by the script that adds to it.
   */
  readonly unmatchedEvents: string;
  /** Set: the unmatched index of older releases (never expiring). Nothing reads it. */
  readonly legacyUnmatchedEvents: string;
  /** List: webhook events whose order id conflicts with their order's (newest first, bounded). */
  readonly conflictingEvents: string;
  /**
   * String: a webhook event that carries no merchant_order_id, by its order_id = the event's raw JSON,
   * kept UNMATCHED_EVENT_TTL_SECONDS.
   */
  eventWithoutMerchantOrderId(orderId: string): string;
  /** Hash: id-less events of older releases, order_id → raw JSON, never expiring. Nothing reads it. */
  readonly legacyEventsWithoutMerchantOrderId: string;
  /** Hash: the fleet's last balance reading (value, readAtMs, epoch). */
  readonly balance: string;
  /** Hash: merchant_order_id → "epoch:cost" reserved against the balance reading. */
  readonly reservations: string;
  /** Sorted set: merchant_order_ids counted against the spend limit, scored by when they were reserved. */
  readonly spendLog: string;
  /** Hash: merchant_order_id → amount counted against the spend limit. */
  readonly spendAmounts: string;
  /** String (an owned lock): held by the one process reading the balance for the fleet. */
  readonly balanceLock: string;
  /** String: the shared access token, JSON `{token, expiresAtMs, refreshAtMs}`. */
  readonly token: string;
  /** String (an owned lock): held by the one process exchanging the API key for the fleet. */
  readonly tokenLock: string;
  /** String (an owned key): exists while at least one webhook receiver is alive. */
  readonly webhookAlive: string;
  /**
   * String (an owned key, PX a little over AUTH_FAILURE_PAUSE_MS): exists while the fleet is paused
   * because the API refused its key, so every process (readiness, the fleet-paused gauge) sees it.
   */
  readonly keyRefused: string;
  /**
   * Sorted set: merchant_order_ids whose order waits for funds (balance or SPEND_LIMIT), scored by
   * when it started waiting. Kept by the ledger's state writes; bounded by the orders in flight, and
   * expires RETENTION_SECONDS after the last order started waiting.
   */
  readonly fundsWaiting: string;
  /**
   * Sorted set: merchant_order_ids whose intent job handed the placed order to its webhook and
   * completed, scored by when to run the job again if no result is emitted first (epoch ms; the
   * safety-net poll, see the machine's `hand_off`). Kept by the ledger's state writes: an entry
   * leaves with its order's emission (or the poller drops it when its order is gone), so the set is
   * bounded by the orders in flight and needs no TTL.
   */
  readonly reminders: string;
}

/** The keys this project owns for one key prefix (QUEUE_PREFIX). */
export function projectKeys(prefix: string): ProjectKeys {
  const vf = `${prefix}:vf:`;
  return {
    order: (merchantOrderId) => `${vf}order:${merchantOrderId}`,
    tombstone: (merchantOrderId) => `${vf}done:${merchantOrderId}`,
    legacyTombstones: `${vf}done`,
    unmatchedEvents: `${vf}unmatched-events-by-time`,
    legacyUnmatchedEvents: `${vf}unmatched-events`,
    conflictingEvents: `${vf}conflicting-events`,
    eventWithoutMerchantOrderId: (orderId) => `${vf}event-without-merchant-order-id:${orderId}`,
    legacyEventsWithoutMerchantOrderId: `${vf}events-without-merchant-order-id`,
    balance: `${vf}balance`,
    reservations: `${vf}reservations`,
    spendLog: `${vf}spend:log`,
    spendAmounts: `${vf}spend:amounts`,
    balanceLock: `${vf}balance:lock`,
    token: `${vf}token`,
    tokenLock: `${vf}token:lock`,
    webhookAlive: `${vf}webhook:alive`,
    keyRefused: `${vf}fleet:key-refused`,
    fundsWaiting: `${vf}funds:waiting`,
    reminders: `${vf}reminders`,
  };
}

/**
 * A key of BullMQ's own under `prefix` for `queue`: a job hash (`part` = the job id) or one of the
 * queue's structures (`delayed`, `events`…). BullMQ writes these; this project only reads them
 * (bench, tests).
 */
export function bullmqKey(prefix: string, queue: string, part: string): string {
  return `${prefix}:${queue}:${part}`;
}

