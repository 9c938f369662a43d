import type { Order } from '../api/order.js';
import type { BalanceGate } from '../balance/balance-gate.js';
import type { LedgerRecord, OrderLedger } from '../ledger/order-ledger.js';
import { decide } from '../lifecycle/order-machine.js';
import type { LifecyclePolicy, OrderEvent } from '../lifecycle/order-state.js';
import type { Logger } from '../logging/logger.js';
import type { PipelineMetrics } from '../metrics/pipeline-metrics.js';
import type { ResultEmitter } from '../queue/result-emitter.js';
import { performEffects, reportEmitted, type NoticeReporter } from './order-effects.js';

/** Dependencies of {@link createWebhookFinalizer}. */
export interface WebhookFinalizerDeps {
  ledger: OrderLedger;
  emitter: ResultEmitter;
  /** Gives back the order's funds reservation once its result is emitted. */
  gate: BalanceGate;
  policy: LifecyclePolicy;
  /** Removes the parked intent job of an order whose result this finalizer emitted. */
  closeJob: (jobId: string) => Promise<void>;
  metrics: PipelineMetrics;
  report: NoticeReporter;
  logger: Logger;
  /** Clock, epoch ms. */
  now?: () => number;
}

/**
 * What the finalizer did with a stored event:
 * - `finalized`: it decided the result, emitted it and closed the order's parked job.
 * - `unchanged`: the machine says the event changes nothing (unknown order, already done, another
 *   order id): nothing to do.
 * - `contended`: other writers kept moving the record; the owning job applies the stored event.
 */
export type FinalizeOutcome = 'finalized' | 'unchanged' | 'contended';

/**
 * Apply a stored terminal webhook event to its order. `known` is the record as recordEvent returned it
 * (saves a round trip); it is reloaded when omitted or after a conflict.
 */
export type WebhookFinalizer = (merchantOrderId: string, order: Order, known?: LedgerRecord | null) => Promise<FinalizeOutcome>;

/** Decisions before the finalizer leaves the event to the order's job (two conflicts, typically). */
const MAX_STEPS = 6;

/**
 * The webhook fast path: the same decision function and compare-and-set as the order's job, run
 * for a `webhook_received` event. When the machine settles the order, the result is emitted here at
 * once, the funds reservation released, and the parked intent job removed: each result is emitted
 * once and no job stays delayed for a finished order.
 */
export function createWebhookFinalizer(deps: WebhookFinalizerDeps): WebhookFinalizer {
  const now = deps.now ?? Date.now;
  return async (merchantOrderId, order, known) => {
    const log = deps.logger.child({ merchant_order_id: merchantOrderId, order_id: order.id });
    let record = known ?? (await deps.ledger.load(merchantOrderId));
    let event: OrderEvent = { type: 'webhook_received', atMs: now(), order };
    let emitted = false;
    for (let step = 0; step < MAX_STEPS && record !== null; step++) {
      // The receiver never acts on a stored event of its own: the one it applies is the event.
      const decision = decide(record.state, event, { policy: deps.policy, webhookAlive: true, webhook: null, random: 0.5 });
      const { action } = decision;
      // Only a result is this process's business; anything else is the job's to do.
      if (action.kind !== 'emit' && action.kind !== 'finish') {
        await performEffects(decision.effects, merchantOrderId, log, deps);
        return 'unchanged';
      }
      // An order that was already finished before this event is not this finalizer's to close.
      if (action.kind === 'finish' && !emitted) return 'unchanged';
      if (decision.state !== record.state) {
        const saved = await deps.ledger.save(merchantOrderId, record.version, decision.state, record.owner);
        if (saved === null) {
          record = await deps.ledger.load(merchantOrderId);
          continue;
        }
        record = saved;
      }
      await performEffects(decision.effects, merchantOrderId, log, deps);
      if (action.kind === 'finish') {
        try {
          if (record.owner !== '') await deps.closeJob(record.owner);
        } catch (err) {
          // The result is out; a job left parked finds the order finished when it wakes.
          log.debug({ err, owner: record.owner }, 'parked intent job not removed; it completes when it wakes');
        }
        return 'finalized';
      }
      await deps.emitter.emit(action.result);
      reportEmitted(log, deps.metrics, action.result, 'webhook receiver');
      emitted = true;
      event = { type: 'result_emitted', atMs: now() };
    }
    return record === null ? 'unchanged' : 'contended';
  };
}
