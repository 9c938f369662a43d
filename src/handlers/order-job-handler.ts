import { DelayedError, RateLimitError, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { VoodooClient } from '../api/voodoo-client.js';
import type { BalanceGate } from '../balance/balance-gate.js';
import type { Catalog } from '../catalog/catalog.js';
import type { OrderLedger, LedgerRecord } from '../ledger/order-ledger.js';
import { classifyFailure } from '../lifecycle/failure-classification.js';
import { parseIntent } from '../lifecycle/intent.js';
import { checkIntent } from '../lifecycle/intent-check.js';
import { decide, initialState } from '../lifecycle/order-machine.js';
import type { ApiCall, FleetPauseReason, Intent, LifecyclePolicy, OrderEvent, OrderResult } from '../lifecycle/order-state.js';
import { rerunAfterUnexpectedError } from '../lifecycle/order-timing.js';
import type { Logger } from '../logging/logger.js';
import { lazyChild } from '../logging/lazy-child.js';
import type { PipelineMetrics } from '../metrics/pipeline-metrics.js';
import type { ResultEmitter } from '../queue/result-emitter.js';
import { performEffects, reportEmitted, type NoticeReporter } from './order-effects.js';

/** Dependencies of the order job handler: everything it does I/O with. */
export interface OrderJobHandlerDeps {
  ledger: OrderLedger;
  client: VoodooClient;
  gate: BalanceGate;
  /** Enables local validation and prices; null without CATALOG_PATH. */
  catalog: Catalog | null;
  emitter: ResultEmitter;
  policy: LifecyclePolicy;
  /** Whether a webhook receiver is alive (cached by the caller). */
  webhookAlive: () => Promise<boolean>;
  /**
   * Pause the whole queue for every worker of the fleet, in ms (BullMQ's global limiter); `reason`
   * is the machine's, for whoever must see why the fleet is paused.
   */
  pauseFleet: (ms: number, reason: FleetPauseReason) => Promise<void>;
  metrics: PipelineMetrics;
  report: NoticeReporter;
  logger: Logger;
  /**
   * Before a create is sent: make the saved attempt record survive a Redis failover (see
   * redis/replication-wait.ts); throws a retryable error when it cannot, and the create is not sent.
   * None: no wait. Given the order's merchant_order_id (on a cluster, its record's primary is waited on).
   */
  awaitReplication?: (merchantOrderId: string) => Promise<void>;
  /** Clock, epoch ms. */
  now?: () => number;
  /** Source of jitter in [0, 1). */
  random?: () => number;
}

/** What an intent job returns when it completes (kept small: never the codes). */
export type OrderJobOutcome =
  | { merchant_order_id: string; status: OrderResult['status']; order_id: string | null }
  /** The order is placed and handed to its webhook; the ledger's reminder runs the job again if no result comes first. */
  | { merchant_order_id: string; handed_off: true; order_id: string | null }
  | { merchant_order_id: string; duplicate_of: string };

/** Bound on decisions per job run; a run normally takes three to seven. */
const MAX_STEPS = 24;

/**
 * The processor of `order-intents` jobs: a small interpreter of the lifecycle machine. One job
 * drives one order for its whole life: it claims the ledger record, then loops — decide (pure),
 * persist the new state with compare-and-set, perform the effects and the one action the machine
 * chose, feed its outcome back as the next event. Waits park the job as a delayed job, so no slot is
 * held while funds, the API or the order are not ready. Every decision is the machine's.
 */
export function createOrderJobHandler(deps: OrderJobHandlerDeps): (job: Job, token?: string) => Promise<OrderJobOutcome> {
  const now = deps.now ?? Date.now;
  const random = deps.random ?? Math.random;
  const { ledger } = deps;

  const handleOrderJob = async (job: Job, token?: string): Promise<OrderJobOutcome> => {
    const parsed = parseIntent(job.data);
    // No usable merchant_order_id: no result can be addressed, so the job itself fails, kept for inspection.
    if (parsed.kind === 'garbage') throw new UnrecoverableError(`invalid intent: ${parsed.reason}`);
    const mid = parsed.kind === 'ok' ? parsed.intent.merchantOrderId : parsed.merchantOrderId;
    const log = lazyChild(deps.logger, { merchant_order_id: mid, job_id: job.id });
    const intent: Intent = parsed.kind === 'ok' ? parsed.intent : { merchantOrderId: mid, itemId: itemIdOf(job.data) };

    const claim = await ledger.claim(mid, job.id ?? '', initialState(intent, now(), job.timestamp));
    if (claim.kind !== 'claimed' && claim.kind !== 'owner') {
      const owner = claim.kind === 'duplicate' ? claim.owner : 'finished';
      log.info({ owner }, 'duplicate intent: another job drives (or drove) this merchant_order_id');
      return { merchant_order_id: mid, duplicate_of: owner };
    }
    let record: LedgerRecord = claim.record;
    const started = (): OrderEvent => ({ type: 'job_started', atMs: now(), check: checkIntent(parsed, deps.catalog) });
    let event = started();

    for (let step = 0; step < MAX_STEPS; step++) {
      const ctx = { policy: deps.policy, webhookAlive: await deps.webhookAlive(), webhookOrder: record.webhookOrder, random: random() };
      const decision = decide(record.state, event, ctx);
      if (decision.state !== record.state) {
        const saved = await ledger.save(mid, record.version, decision.state, record.owner, record.state);
        if (saved === null) {
          // Another writer (the webhook receiver) moved the order: decide the same event on its state.
          record = await reload(mid);
          continue;
        }
        record = saved;
      }
      await performEffects(decision.effects, mid, log, deps);
      const action = decision.action;
      switch (action.kind) {
        case 'reserve_funds':
          event = await call('balance', () => deps.gate.reserve(mid, action.cost), (outcome) =>
            outcome === 'ok'
              ? { type: 'funds_reserved', atMs: now(), cost: action.cost }
              : { type: 'funds_short', atMs: now(), limit: outcome === 'capped' ? 'spend_limit' : 'balance', cost: action.cost },
          );
          break;
        case 'create':
          event = await call(
            'create',
            async () => {
              await deps.awaitReplication?.(mid);
              return deps.client.createOrder(action.request);
            },
            (order) => ({ type: 'create_succeeded', atMs: now(), order }),
          );
          break;
        case 'lookup':
          event = await call('lookup', () => deps.client.getOrder(action.orderId), (order) => ({ type: 'order_observed', atMs: now(), order }));
          break;
        case 'emit':
          await deps.emitter.emit(action.result);
          reportEmitted(log, deps.metrics, action.result, 'worker', { enqueuedAtMs: record.state.enqueuedAtMs, emittedAtMs: now() });
          event = { type: 'result_emitted', atMs: now() };
          break;
        case 'finish':
          return { merchant_order_id: mid, status: action.result.status, order_id: action.result.order_id };
        case 'wait':
          log.debug({ until: new Date(action.untilMs).toISOString(), reason: action.reason }, 'parking the job');
          // Come back ahead of fresh intents (enqueueOrder gives them priority 1; BullMQ serves 0 first).
          if (job.priority > 0) await job.changePriority({ priority: 0 });
          await job.moveToDelayed(action.untilMs, token);
          throw new DelayedError();
        case 'hand_off':
          // The job completes; the state just saved holds the reminder (the ledger's reminder set).
          log.debug({ remind_at: new Date(action.untilMs).toISOString() }, 'handing the order to its webhook');
          return { merchant_order_id: mid, handed_off: true, order_id: record.state.orderId };
        case 'pause_fleet':
          await deps.pauseFleet(action.ms, action.reason);
          throw Worker.RateLimitError();
        case 'restart':
          log.debug({ reason: action.reason }, 'starting over from the stored state');
          event = started();
          break;
        case 'refuse_resolution':
          // Only a resolve request is refused, and an intent job never asks for one.
          throw new Error(`order ${mid}: a resolution was refused (${action.reason}) to an intent job`);
      }
    }
    throw new Error(`order ${mid} did not settle within ${MAX_STEPS} decisions (phase ${record.state.phase})`);
  };

  /** Run an API call; its answer or its failure (classified in one place) is the next event. */
  async function call<T>(name: ApiCall, run: () => Promise<T>, answered: (answer: T) => OrderEvent): Promise<OrderEvent> {
    try {
      return answered(await run());
    } catch (err) {
      return classifyFailure(name, err, now());
    }
  }

  async function reload(mid: string): Promise<LedgerRecord> {
    const fresh = await ledger.load(mid);
    if (fresh === null) throw new Error(`ledger record of ${mid} vanished`);
    return fresh;
  }

  // Anything unexpected (a Redis hiccup, a bug) must not fail the job for good: a failed intent job
  // would leave its order without a result. Park it and run it again; the ledger makes that safe.
  return async function handleOrderJobSafely(job, token) {
    try {
      return await handleOrderJob(job, token);
    } catch (err) {
      if (err instanceof DelayedError || err instanceof UnrecoverableError || err instanceof RateLimitError) throw err;
      deps.logger.error({ err, job_id: job.id }, 'unexpected error: the job will run again');
      try {
        await job.moveToDelayed(rerunAfterUnexpectedError(deps.policy, now(), random()), token);
      } catch {
        // Lost the lock (another worker owns the job now) or Redis is away: BullMQ's stall
        // recovery hands the job back, so the original error is what to report.
        throw err;
      }
      throw new DelayedError();
    }
  };
}

function itemIdOf(data: unknown): number | null {
  const value = (data as { item_id?: unknown }).item_id;
  return typeof value === 'number' && Number.isInteger(value) ? value : null;
}
