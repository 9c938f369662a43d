import type { Order } from '../api/order.js';
import type { LedgerRecord, OrderLedger } from '../ledger/order-ledger.js';
import { transition } from '../lifecycle/order-machine.js';
import type { LifecyclePolicy } from '../lifecycle/order-state.js';
import type { Logger } from '../logging/logger.js';
import type { ResultEmitter } from '../queue/result-emitter.js';

/** Dependencies of {@link createWebhookFinalizer}. */
export interface WebhookFinalizerDeps {
  ledger: OrderLedger;
  emitter: ResultEmitter;
  policy: LifecyclePolicy;
  logger: Logger;
  now?: () => number;
}

/**
 * Apply a terminal webhook event to its order. `known` is the record as recordEvent returned it
 * (saves a round trip); it is reloaded when omitted or after a conflict.
 */
export type WebhookFinalizer = (merchantOrderId: string, order: Order, known?: LedgerRecord | null) => Promise<boolean>;

/** Compare-and-set retries before the finalizer leaves the event to the order's job. */
const MAX_TRIES = 3;

/**
 * The webhook fast path: apply a stored terminal event through the same state machine and the same
 * compare-and-set as the order's job, and emit the result at once. Resolves true when this call
 * decided the result; false when the machine says the event changes nothing here (unknown order,
 * already done, not terminal) or a concurrent writer kept winning — the job then absorbs the stored
 * event itself. Emitting twice is harmless (the result's jobId is derived from merchant_order_id).
 */
export function createWebhookFinalizer(deps: WebhookFinalizerDeps): WebhookFinalizer {
  const now = deps.now ?? Date.now;
  return async (merchantOrderId, order, known) => {
    for (let i = 0; i < MAX_TRIES; i++) {
      // The record recordEvent returned saves the first load; a conflict reloads.
      const record = i === 0 && known !== undefined ? known : await deps.ledger.load(merchantOrderId);
      if (record === null) return false;
      const t = transition(record.state, { type: 'order_observed', atMs: now(), order, source: 'webhook' }, deps.policy);
      if (t.kind === 'ignored' || t.state.result === null) return false;
      const saved = await deps.ledger.save(merchantOrderId, record.version, t.state);
      if (saved === null) continue;
      await deps.emitter.emit(t.state.result);
      deps.logger.info({ merchant_order_id: merchantOrderId, order_id: order.id, status: t.state.result.status }, 'result emitted from the webhook');
      return true;
    }
    return false;
  };
}
