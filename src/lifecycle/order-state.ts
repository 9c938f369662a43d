import type { Order, TerminalStatus } from '../api/order.js';
import type { ErrorCode } from '../errors/errors.js';

/**
 * Where one `merchant_order_id` stands. Persisted in the ledger; changed only by `decide`
 * (order-machine.ts).
 *
 * - `received`: intent accepted, nothing sent.
 * - `waiting_funds`: nothing sent; the balance (or the fleet's spend limit) cannot cover it yet.
 * - `placing`: a POST attempt is recorded and may be in flight (or its worker died mid-flight).
 * - `ambiguous`: an attempt may have created the order; the POST is being retried with the same id.
 * - `placed`: the order id is known; waiting for a terminal status (poll or webhook).
 * - `awaiting_webhook`: an earlier attempt may have landed but its id is unknown; only the webhook
 *   can tell the outcome.
 * - `done`: the result is decided and stored; emitting it again is idempotent. Once an `unresolved`
 *   result is emitted, at most one resolution may follow ({@link OrderState.resolution}).
 */
export type Phase = 'received' | 'waiting_funds' | 'placing' | 'ambiguous' | 'placed' | 'awaiting_webhook' | 'done';

/** Statuses of a result in `order-results`. */
export type ResultStatus = TerminalStatus | 'rejected' | 'unresolved';

/** Who learned the outcome. */
export type ResultSource = 'poll' | 'webhook' | 'worker';

/**
 * Something a consumer should know about a result besides its status.
 * - `price_above_max`: the API charged more than the intent's `max_price` (a stale catalog priced it lower).
 */
export type ResultWarning = 'price_above_max';

/**
 * Codes a `rejected` result carries in `error`: the API's own rejection codes, and the rules this
 * system applies before anything is sent.
 */
export type RejectionCode =
  /** The intent job's data failed validation (a field's type or range). */
  | 'invalid_intent'
  /** The catalog or the API says the request itself is wrong (unknown item, quantity, fields, stock). */
  | 'validation_error'
  /** An order with this merchant_order_id existed before this system placed one. */
  | 'duplicate_merchant_order_id'
  /** The balance did not cover the order within BALANCE_WAIT_MAX_MS. */
  | 'insufficient_balance'
  /** The fleet's SPEND_LIMIT did not leave room for the order within BALANCE_WAIT_MAX_MS. */
  | 'spend_limit_reached'
  /** The catalog prices the order above its max_price. */
  | 'price_exceeds_max'
  /** The intent carries max_price but no catalog price is known for its item (CATALOG_PATH unset). */
  | 'price_unverifiable'
  /** The API refused the create with an answer this system does not classify (its text is in error_message). */
  | 'api_rejected';

/** A validated order intent (the public `order-intents` job data, normalised). */
export interface Intent {
  merchantOrderId: string;
  /** Null only for an invalid intent, which is rejected before anything is sent. */
  itemId: number | null;
  quantity?: number;
  fields?: Record<string, string | number>;
  /** The most the merchant will pay for this order, major units. */
  maxPrice?: number;
}

/** The public result job data in `order-results` (snake_case: other systems read it). */
export interface OrderResult {
  merchant_order_id: string;
  order_id: string | null;
  status: ResultStatus;
  item_id: number | null;
  quantity: number | null;
  price: number | null;
  delivered_quantity: number;
  refund_amount: number;
  codes: string[];
  fields: Record<string, unknown>;
  error: string | null;
  error_message: string | null;
  created_at: string | null;
  completed_at: string | null;
  resolved_at: string;
  source: ResultSource;
  /** Empty for most results; see {@link ResultWarning}. */
  warnings: ResultWarning[];
  /**
   * Null on a merchant_order_id's first result. On a *resolution* — the one result that may follow
   * an `unresolved` one, when a late webhook or an operator's `resolve` learns the real outcome —
   * the status it resolves (`unresolved`). A resolution has its own job id (job-ids.ts).
   */
  resolves: 'unresolved' | null;
}

/**
 * Why an operator's request to resolve an order was refused (nothing is emitted):
 * - `not_finished`: the order has no emitted result yet (its job still drives it).
 * - `not_unresolved`: its result was not `unresolved`: the outcome is known, nothing to resolve.
 * - `other_order`: the order looked up carries another merchant_order_id.
 * - `order_not_found`: the API does not know the order id.
 * - `timed_out`: the order was still not terminal (or could not be looked up) RESOLVE_TIMEOUT_MS after
 *   the request: the request is dropped, so a wrong order id cannot hold the merchant_order_id; ask again.
 */
export type ResolutionRefusal = 'not_finished' | 'not_unresolved' | 'other_order' | 'order_not_found' | 'timed_out';

/**
 * What follows an `unresolved` result (null until an operator asks or a late webhook arrives).
 * - `requested`: an operator named the order id; it is looked up until its status is terminal.
 * - `resolved`: the resolution is decided (at most one per merchant_order_id, never changed after);
 *   `emitted` once it is in `order-results`.
 */
export type Resolution =
  | {
      kind: 'requested';
      orderId: string;
      /** When the operator asked, epoch ms; the lookups back off from here. */
      requestedAtMs: number;
      /** Lookups that failed in a row; drives the backoff. */
      failures: number;
    }
  | { kind: 'resolved'; result: OrderResult; emitted: boolean };

/** Which limit keeps an order waiting before it is sent. */
export type FundsLimit = 'balance' | 'spend_limit';

/** The ledger's record of one order. */
export interface OrderState {
  phase: Phase;
  intent: Intent;
  /** POST attempts recorded (each recorded before it is sent). */
  attempts: number;
  /** True once any attempt may have created the order (ambiguous answer, or a worker died mid-POST). */
  maybeLanded: boolean;
  orderId: string | null;
  /** When the intent was accepted, epoch ms. */
  receivedAtMs: number;
  /**
   * When the intent was added to `order-intents`, epoch ms (its job's timestamp), for the
   * enqueue → result histogram; null in records written before it was kept.
   */
  enqueuedAtMs: number | null;
  /** When the first POST attempt was recorded, epoch ms. */
  firstAttemptAtMs: number | null;
  /**
   * When an attempt first may have landed, epoch ms. The resolve deadline counts from here, not from
   * the first attempt: attempts that provably did not land (429, insufficient balance) must not eat
   * into the time the webhook has to arrive.
   */
  maybeLandedAtMs: number | null;
  /**
   * When the latest attempt that may have landed was last heard of (its ambiguous answer, or the
   * restart after its worker died), epoch ms. Each such attempt gets RESOLVE_TIMEOUT_MS for its webhook.
   */
  lastMaybeLandedAtMs: number | null;
  /** When the order id became known, epoch ms; poll backoff and the stuck flag count from here. */
  placedAtMs: number | null;
  /** When the order started waiting for funds, epoch ms. */
  fundsWaitSinceMs: number | null;
  /** The limit the order last waited for (null when it never waited). */
  fundsLimit: FundsLimit | null;
  /** What the catalog says the order costs, major units (null = unknown); reserved against the balance. */
  cost: number | null;
  /** Calls for this order that failed in a row (balance, create not processed, lookup); drives the backoff. */
  failures: number;
  /** When the order was flagged as stuck (placed, no terminal status after ORDER_STUCK_AFTER_MS), epoch ms. */
  stuckSinceMs: number | null;
  /** Set exactly when phase is `done`. */
  result: OrderResult | null;
  /** The result was added to `order-results` (phase `done` only). */
  emitted: boolean;
  /** After an emitted `unresolved` result only: its resolution, asked for or decided. */
  resolution: Resolution | null;
  /**
   * Set when the intent job handed the placed order to its webhook and completed (a `hand_off`),
   * epoch ms: unless the order's result is emitted first, the ledger's reminder runs the job again
   * then (the safety-net poll). Cleared once the result is emitted. Null otherwise, and in records
   * written before hand-offs existed.
   */
  remindAtMs: number | null;
}

/** Limits and timings the machine applies. Every duration in ms. */
export interface LifecyclePolicy {
  /** How long an order may wait for funds (balance or spend limit) before it is rejected. */
  balanceWaitMaxMs: number;
  /**
   * How long an unknown outcome may stay unknown: no create is retried later than this after the first
   * attempt that may have landed, and the order ends `unresolved` this long after the latest one.
   */
  resolveTimeoutMs: number;
  /** First poll after placement when no webhook receiver is alive. */
  pollInitialDelayMs: number;
  /** First poll after placement while a webhook receiver is alive (the webhook is the fast path). */
  pollWebhookDelayMs: number;
  /**
   * Whether a placed order is handed to its webhook (the job completes, a ledger reminder is the
   * safety net) rather than parked while a receiver is alive. Off on a Redis Cluster: after a
   * primary failover, a partition's BullMQ worker was seen to stop fetching (see the README), and a
   * handed-off order whose webhook was lost then depends on that fetch.
   */
  handOff: boolean;
  /** Longest gap between polls, and between two deadline checks of an order awaiting its webhook. */
  pollMaxDelayMs: number;
  /** First retry delay after a failed call; doubles per consecutive failure of the order. */
  retryBaseDelayMs: number;
  /** Cap of the doubling retry delay, before ±25 % jitter. */
  retryMaxDelayMs: number;
  /** How long the fleet pauses after the API key was refused. */
  authFailurePauseMs: number;
  /** How long a placed order may go without a terminal status before it is flagged as stuck. */
  orderStuckAfterMs: number;
}

/**
 * The catalog's verdict on an intent, computed by the handler before the first decision (the
 * catalog is in memory; see intent-check.ts).
 * - `invalid`: the intent cannot be placed (bad job data, or the catalog rejects it).
 * - `priced`: the catalog accepts it and says what it costs.
 * - `unpriced`: no catalog is loaded, so nothing is known about it.
 */
export type IntentCheck =
  | { kind: 'invalid'; code: 'invalid_intent' | 'validation_error'; message: string }
  | { kind: 'priced'; cost: number }
  | { kind: 'unpriced' };

/** The API calls the machine asks for (and that can fail). */
export type ApiCall = 'balance' | 'create' | 'lookup';

/** Error codes of a refused API key (the token exchange answered 401 or 403). */
export type KeyRefusalCode = Extract<ErrorCode, 'invalid_credentials' | 'auth_forbidden'>;

/** Error codes of a call that was not processed: anything but a 429 or a refused key. */
export type CallFailureCode = Exclude<ErrorCode, 'rate_limited' | KeyRefusalCode>;

/**
 * How the API rejected a create: its validation, a duplicate merchant_order_id, the balance, or
 * `unclassified` (a final answer this system does not know).
 */
export type CreateRejectionCode = 'validation_error' | 'duplicate_merchant_order_id' | 'insufficient_balance' | 'unclassified';

/**
 * Why an order waits for its webhook only: the create's rejection (an earlier attempt may explain
 * it), or `retry_cutoff` (no retry is sent past RESOLVE_TIMEOUT_MS after the first attempt that may
 * have landed).
 */
export type AwaitingWebhookCode = CreateRejectionCode | 'retry_cutoff';

/**
 * What happened. Every event carries the time it was observed (epoch ms): the machine has no clock.
 * API failures become events in one place (failure-classification.ts).
 */
export type OrderEvent =
  /** The order's job runs (first run, or after a wait, a wake, a pause or a crash). */
  | { type: 'job_started'; atMs: number; check: IntentCheck }
  /**
   * The fleet's balance gate reserved the order's cost (`cost`: what `reserve_funds` asked for, null =
   * unknown). The cost travels with the event rather than in a state saved before the reservation:
   * a reservation is idempotent per merchant_order_id, so a crash before the attempt record simply
   * asks again, and the order is spared one ledger write.
   */
  | { type: 'funds_reserved'; atMs: number; cost: number | null }
  /** The balance (or the spend limit) cannot cover the order now (`cost`: what was asked for). */
  | { type: 'funds_short'; atMs: number; limit: FundsLimit; cost: number | null }
  /** The create answered 2xx with an order. */
  | { type: 'create_succeeded'; atMs: number; order: Order }
  /**
   * The create answered with a rejection. `provable`: an identical earlier request would have met it
   * too (unknown item, quantity, a bad field), so no earlier attempt can have landed.
   */
  | { type: 'create_rejected'; atMs: number; code: CreateRejectionCode; message: string; provable: boolean }
  /** The create may or may not have been processed (5xx, reset, timeout after sending, unreadable 2xx). */
  | { type: 'create_ambiguous'; atMs: number; message: string }
  /** A lookup answered with the order. */
  | { type: 'order_observed'; atMs: number; order: Order }
  /** A lookup answered 404 (right after a create it may, briefly). */
  | { type: 'order_not_found'; atMs: number }
  /** A call was not processed (refused connection, 5xx on a read, a transient fault): retry later. */
  | { type: 'call_failed'; atMs: number; call: ApiCall; code: CallFailureCode; message: string }
  /** The API answered 429: the whole fleet backs off. Nothing was processed. */
  | { type: 'rate_limited'; atMs: number; call: ApiCall; retryAfterMs: number | null }
  /** The API key was refused (invalid or not enabled): the whole fleet pauses. Nothing was processed. */
  | { type: 'key_refused'; atMs: number; call: ApiCall; code: KeyRefusalCode; message: string }
  /** A signed webhook event for this merchant_order_id was stored (from the receiver, or found by the job). */
  | { type: 'webhook_received'; atMs: number; order: Order }
  /** The result (or, once it is emitted, the resolution) was added to `order-results`. */
  | { type: 'result_emitted'; atMs: number }
  /** An operator asks to resolve an `unresolved` result with the order id found in the Voodoo Center dashboard. */
  | { type: 'resolve_requested'; atMs: number; orderId: string };

export type OrderEventType = OrderEvent['type'];

/** Why the whole fleet pauses: the API answered 429, or refused the API key. */
export type FleetPauseReason = 'rate_limited' | 'key_refused';

/** Why an order's job waits. */
export type WaitReason =
  | 'funds'
  | 'retry_after_failure'
  | 'retry_ambiguous_create'
  | 'order_in_progress'
  | 'awaiting_webhook'
  | 'result_being_emitted'
  | 'resolution_in_progress';

/** What to create: the order request, exactly as it is sent. */
export interface CreateRequest {
  itemId: number;
  merchantOrderId: string;
  quantity?: number;
  fields?: Record<string, string | number>;
}

/**
 * The one thing to do next. The handler performs it and feeds its outcome back as the next event
 * (`reserve_funds`, `create`, `lookup`, `emit`), or ends the job's run (`wait`, `pause_fleet`, `finish`).
 */
export type Action =
  /** Reserve the order's cost against the fleet's balance and spend limit (null = unknown cost). */
  | { kind: 'reserve_funds'; cost: number | null }
  /** Send the create (the attempt is recorded in the state persisted before it). */
  | { kind: 'create'; request: CreateRequest }
  /** Look the order up. */
  | { kind: 'lookup'; orderId: string }
  /** Add the result to `order-results` (idempotent by job id). */
  | { kind: 'emit'; result: OrderResult }
  /**
   * Park the job until `untilMs` (epoch ms); a webhook may finish the order sooner. A parked job comes
   * back ahead of fresh intents: its order is in flight.
   */
  | { kind: 'wait'; untilMs: number; reason: WaitReason }
  /**
   * The order is placed and a live receiver will settle it from its webhook: the intent job ends its
   * run now (it completes) instead of parking. The state persisted with this action carries
   * `remindAtMs` (= `untilMs`, epoch ms): if no result is emitted by then, the ledger's reminder runs
   * the job again — the safety-net poll, materialised only when no webhook settled the order. This
   * spares a parked job's move to delayed and its removal by the receiver (about 30 Redis commands).
   */
  | { kind: 'hand_off'; untilMs: number }
  /** Pause every worker of the fleet for `ms`, then run this job again. */
  | { kind: 'pause_fleet'; ms: number; reason: FleetPauseReason }
  /** Nothing is left to do: the result (or, when there is one, the resolution) is emitted. */
  | { kind: 'finish'; result: OrderResult }
  /** The operator's resolve request is refused; nothing changes and nothing is emitted. */
  | { kind: 'refuse_resolution'; reason: ResolutionRefusal }
  /**
   * The event does not fit the state (another writer moved the order meanwhile, or a webhook that
   * changes nothing): whoever drives the order starts over from the stored state.
   */
  | { kind: 'restart'; reason: string };

/**
 * Things worth telling an operator (a log line and a metric each); the handler maps them to words.
 * They describe what the machine decided, never ask for a decision.
 */
export type Notice =
  | { kind: 'funds_short'; limit: FundsLimit; cost: number | null }
  | { kind: 'order_placed'; orderId: string }
  | { kind: 'create_ambiguous'; attempt: number; message: string }
  | { kind: 'awaiting_webhook'; code: AwaitingWebhookCode }
  | { kind: 'call_failed'; call: ApiCall; code: CallFailureCode; message: string; failures: number }
  | { kind: 'rate_limited'; call: ApiCall; pauseMs: number }
  | { kind: 'key_refused'; call: ApiCall; code: KeyRefusalCode; message: string }
  | { kind: 'order_stuck'; orderId: string; placedAtMs: number }
  | { kind: 'price_above_max'; price: number; maxPrice: number }
  | { kind: 'webhook_ignored'; orderId: string; reason: string };

/** Side effects performed after the state is persisted, before the action. */
export type Effect =
  /**
   * Give back what the fleet's funds view holds for the order: `balance` and `spend` each 'all'
   * (nothing was charged) or an amount (a refund; 0 closes the reservation and keeps the charge).
   */
  | { kind: 'release_funds'; balance: number | 'all'; spend: number | 'all' }
  /** Record what the API actually charged when it differs from the reserved cost. */
  | { kind: 'record_charge'; amount: number }
  /** Forget the fleet's balance reading (the API says it is short, or funds may have arrived). */
  | { kind: 'invalidate_balance' }
  /**
   * The order's intent job has nothing left to do: its result is out and recorded. The worker running
   * that job finishes it by returning; a process that decided the result for a parked job (the webhook
   * receiver) removes the job, after persisting the state. Never for a resolution: its intent job
   * finished long before; nor after a hand-off: the job completed then.
   */
  | { kind: 'close_intent_job' }
  | { kind: 'notice'; notice: Notice };

/** What `decide` returns. */
export interface Decision {
  /** The state to persist (compare-and-set). The same object as the input when nothing changed. */
  state: OrderState;
  /** Performed in order, after `state` is persisted. */
  effects: Effect[];
  /** The one thing to do next. */
  action: Action;
}

/** What the machine sees besides the state and the event. */
export interface DecisionContext {
  policy: LifecyclePolicy;
  /** Whether a webhook receiver is alive (the webhook is then the fast path and polls can wait). */
  webhookAlive: boolean;
  /** The order as the terminal webhook event stored for this merchant_order_id tells it, if any (the ledger keeps it). */
  webhookOrder: Order | null;
  /** A number in [0, 1) for jitter; the caller draws it (Math.random in production). */
  random: number;
}
