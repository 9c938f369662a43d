import type { Order } from '../api/order.js';
import type { BalanceGate } from '../balance/balance-gate.js';
import type { LedgerRecord, OrderLedger } from '../ledger/order-ledger.js';
import { decide } from '../lifecycle/order-machine.js';
import type { LifecyclePolicy, OrderEvent } from '../lifecycle/order-state.js';
import type { Logger } from '../logging/logger.js';
import { lazyChild } from '../logging/lazy-child.js';
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
 * (saves a round trip); it is reloaded when omitted or after a conflict. Resolves once the result is
 * emitted; the bookkeeping after it (recording the emission, releasing funds, removing the parked
 * job) goes on in the background — `drain()` waits for it (call it before closing connections).
 */
export interface WebhookFinalizer {
  (merchantOrderId: string, order: Order, known?: LedgerRecord | null): Promise<FinalizeOutcome>;
  /** Wait for the bookkeeping of every finalization so far. */
  drain(): Promise<void>;
}

/** Decisions before the finalizer leaves the event to the order's job (two conflicts, typically). */
const MAX_STEPS = 6;

/**
 * The webhook fast path: the same decision function and compare-and-set as the order's job, run
 * for a `webhook_received` event. When the machine settles the order, the result is emitted here at
 * once, the funds reservation released, and the parked intent job removed: each result is emitted
 * once and no job stays delayed for a finished order. A webhook that arrives after its order ended
 * `unresolved` (while the record is kept, RETENTION_SECONDS) is late truth: the machine decides the
 * one resolution and it is emitted here the same way.
 */
export function createWebhookFinalizer(deps: WebhookFinalizerDeps): WebhookFinalizer {
  const now = deps.now ?? Date.now;
  const bookkeeping = new Set<Promise<void>>();
  const finalize = async (merchantOrderId: string, order: Order, known?: LedgerRecord | null): Promise<FinalizeOutcome> => {
    const log = lazyChild(deps.logger, { merchant_order_id: merchantOrderId, order_id: order.id });
    let record = known ?? (await deps.ledger.load(merchantOrderId));
    const event: OrderEvent = { type: 'webhook_received', atMs: now(), order };
    for (let step = 0; step < MAX_STEPS && record !== null; step++) {
      // The receiver never acts on a stored event of its own: the one it applies is the event.
      const ctx = { policy: deps.policy, webhookAlive: true, webhookOrder: null, random: 0.5 };
      const decision = decide(record.state, event, ctx);
      const { action } = decision;
      // Only a result this call decides (a new state to persist) is its business: an order decided
      // before, or any other action, is the job's to do. Such a decision's notices are still told.
      if (action.kind !== 'emit' || decision.state === record.state) {
        await performEffects(decision.effects.filter((e) => e.kind === 'notice'), merchantOrderId, log, deps);
        return 'unchanged';
      }
      const saved = await deps.ledger.save(merchantOrderId, record.version, decision.state, record.owner, record.state);
      if (saved === null) {
        record = await deps.ledger.load(merchantOrderId);
        continue;
      }
      record = saved;
      await performEffects(decision.effects, merchantOrderId, log, deps);
      await deps.emitter.emit(action.result);
      reportEmitted(log, deps.metrics, action.result, 'webhook receiver', { enqueuedAtMs: record.state.enqueuedAtMs, emittedAtMs: now() });
      // The result is out. What is left is bookkeeping — give the funds back, record the emission,
      // remove the parked job — done in the background so the webhook's answer is not held up (a
      // receiver answering sooner takes more deliveries at once), and in that order: until the job is
      // removed it is the fallback, and a job that finds the result decided but not recorded as
      // emitted emits it again (a no-op) and releases again (idempotent).
      const after = decide(record.state, { type: 'result_emitted', atMs: now() }, ctx);
      const { owner, version, state: decided } = record;
      const done: Promise<void> = performEffects(after.effects, merchantOrderId, log, deps)
        // A conflict only means another writer moved the record meanwhile; the result is out either way.
        .then(() => deps.ledger.save(merchantOrderId, version, after.state, owner, decided))
        // The machine says whether the intent job is done (never for a resolution: it finished long ago).
        .then(() => (owner !== '' && after.effects.some((e) => e.kind === 'close_intent_job') ? deps.closeJob(owner) : undefined))
        .then(() => undefined)
        .catch((err: unknown) => log.warn({ err, owner }, 'bookkeeping after the result failed; the parked job finishes it when it wakes'))
        .finally(() => bookkeeping.delete(done));
      bookkeeping.add(done);
      return 'finalized';
    }
    return record === null ? 'unchanged' : 'contended';
  };
  return Object.assign(finalize, {
    async drain(): Promise<void> {
      while (bookkeeping.size > 0) await Promise.allSettled([...bookkeeping]);
    },
  });
}
