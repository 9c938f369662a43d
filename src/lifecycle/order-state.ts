import type { Order, TerminalStatus } from '../api/order.js';

/**
 * Where one `merchant_order_id` stands. Persisted in the ledger; changed only through
 * `transition` (order-machine.ts).
 *
 * - `received`: intent accepted, nothing sent.
 * - `waiting_funds`: nothing sent; the balance cannot cover it yet.
 * - `placing`: a POST attempt is recorded and may be in flight (or its worker died mid-flight).
 * - `ambiguous`: an attempt may have created the order; the POST is being retried with the same id.
 * - `placed`: the order id is known; waiting for a terminal status (poll or webhook).
 * - `awaiting_webhook`: an earlier attempt landed (the retry answered "duplicate") but its id is
 *   unknown; only the webhook can tell the outcome.
 * - `done`: the result is decided and stored; emitting it again is idempotent.
 */
export type Phase = 'received' | 'waiting_funds' | 'placing' | 'ambiguous' | 'placed' | 'awaiting_webhook' | 'done';

/** Statuses of a result in `order-results`. */
export type ResultStatus = TerminalStatus | 'rejected' | 'unresolved';

/** Who learned the outcome. */
export type ResultSource = 'poll' | 'webhook' | 'worker';

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
}

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
  /** When the first POST attempt was recorded, epoch ms; poll backoff counts from here. */
  firstAttemptAtMs: number | null;
  /**
   * When an attempt first may have landed, epoch ms. The resolve deadline counts from here, not from
   * the first attempt: attempts that provably did not land (429, insufficient balance) must not eat
   * into the time the webhook has to arrive.
   */
  maybeLandedAtMs: number | null;
  /** When the order started waiting for funds, epoch ms. */
  fundsWaitSinceMs: number | null;
  /** Set exactly when phase is `done`. */
  result: OrderResult | null;
}

/** Limits the machine applies (durations in ms). */
export interface LifecyclePolicy {
  /** How long an order may wait for funds before it is rejected. */
  balanceWaitMaxMs: number;
  /** How long after an attempt first may have landed an unknown outcome may stay unknown before `unresolved`. */
  resolveTimeoutMs: number;
}

/** What happened. Every event carries the time it was observed (epoch ms): the machine has no clock. */
export type OrderEvent =
  | { type: 'intent_rejected'; atMs: number; code: string; message: string }
  | { type: 'funds_short'; atMs: number }
  | { type: 'attempt_started'; atMs: number }
  | { type: 'create_succeeded'; atMs: number; order: Order }
  | { type: 'create_rejected'; atMs: number; code: string; message: string }
  | { type: 'create_ambiguous'; atMs: number }
  | { type: 'create_not_sent'; atMs: number }
  | { type: 'order_observed'; atMs: number; order: Order; source: 'poll' | 'webhook' }
  | { type: 'deadline_check'; atMs: number };

export type OrderEventType = OrderEvent['type'];

/** What the handler should do next for a record. */
export type NextStep =
  /** Check the fleet balance, then record an attempt and POST. */
  | { kind: 'place'; gateFunds: boolean }
  /** Look the order up (or use a stored webhook event). */
  | { kind: 'poll'; orderId: string }
  /** Nothing to send: wait for the webhook until the deadline. */
  | { kind: 'await_webhook'; deadlineMs: number }
  /** The result is decided: emit it (idempotently). */
  | { kind: 'emit'; result: OrderResult };
