import { DelayedError, RateLimitError, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Order } from '../api/order.js';
import type { VoodooClient } from '../api/voodoo-client.js';
import type { BalanceGate } from '../balance/balance-gate.js';
import type { Catalog } from '../catalog/catalog.js';
import { checkOrder } from '../catalog/order-rules.js';
import { FulfillmentError } from '../errors/errors.js';
import type { OrderLedger, LedgerRecord } from '../ledger/order-ledger.js';
import { parseIntent } from '../lifecycle/intent.js';
import { initialState, nextStep, transition } from '../lifecycle/order-machine.js';
import type { Intent, LifecyclePolicy, OrderEvent, OrderResult, OrderState, Phase } from '../lifecycle/order-state.js';
import type { Logger } from '../logging/logger.js';
import type { PipelineMetrics } from '../metrics/pipeline-metrics.js';
import type { ResultEmitter } from '../queue/result-emitter.js';

/** Poll timing, in ms. */
export interface PollTiming {
  /** First poll after placement when no webhook receiver is alive. */
  initialDelayMs: number;
  /** First poll after placement while a webhook receiver is alive (the webhook is the fast path). */
  webhookDelayMs: number;
  /** Longest gap between polls. */
  maxDelayMs: number;
}

/** Exponential backoff of one order's retries: `baseDelayMs * 2^(attempt-1)`, capped, with ±25 % jitter. */
export interface RetryTiming {
  /** Delay before the first retry, in ms. */
  baseDelayMs: number;
  /** Longest delay, in ms. */
  maxDelayMs: number;
}

/** Dependencies of the order job handler: everything it does I/O with. */
export interface OrderJobHandlerDeps {
  ledger: OrderLedger;
  client: VoodooClient;
  gate: BalanceGate;
  /** Enables local validation and cost checks; null without CATALOG_PATH. */
  catalog: Catalog | null;
  emitter: ResultEmitter;
  policy: LifecyclePolicy;
  polling: PollTiming;
  /** Whether a webhook receiver is alive (cached by the caller). */
  webhookAlive: () => Promise<boolean>;
  /** Pause the whole queue for every worker of the fleet, in ms (BullMQ's global limiter). */
  pauseFleet: (ms: number) => Promise<void>;
  /** How long the fleet pauses after the API key was refused, in ms. */
  authFailurePauseMs: number;
  /** Backoff of retries after a failed or ambiguous API call. */
  retry: RetryTiming;
  metrics: PipelineMetrics;
  logger: Logger;
  now?: () => number;
}

/** What an intent job returns when it completes (kept small: never the codes). */
export type OrderJobOutcome =
  | { merchant_order_id: string; status: OrderResult['status']; order_id: string | null }
  | { merchant_order_id: string; duplicate_of: string };

/** Longest gap between two balance checks of an order waiting for funds, in ms. */
const FUNDS_RECHECK_MAX_MS = 30_000;
/** Backoff step used after an unexpected error (about 4 s with jitter at the default timing). */
const UNEXPECTED_RETRY_ATTEMPT = 4;
/** Bound on decisions per job run; each run normally takes two or three. */
const MAX_STEPS = 12;

/** A concurrent writer moved the record: reload it and decide again. */
class LedgerConflict extends Error {}

/** The delay before retry number `attempt` (1-based), in ms. */
export function retryDelay(timing: RetryTiming, attempt: number): number {
  const base = Math.min(timing.maxDelayMs, timing.baseDelayMs * 2 ** Math.min(30, Math.max(0, attempt - 1)));
  // Jitter spreads a fleet's retries so they do not arrive as one burst.
  return Math.round(base * (0.75 + Math.random() * 0.5));
}

/**
 * The processor of `order-intents` jobs. One job drives one order for its whole life: it claims
 * the ledger record, asks the lifecycle machine what to do, does the I/O, persists the transition
 * (compare-and-set), and parks itself as a delayed job whenever it has to wait — no job slot is held
 * while funds, the API or the order are not ready. It completes when the result is emitted.
 */
export function createOrderJobHandler(deps: OrderJobHandlerDeps): (job: Job, token?: string) => Promise<OrderJobOutcome> {
  const now = deps.now ?? Date.now;
  const { ledger, policy } = deps;
  // A refused key fails every job that tries the API at once: say so loudly once per process, not
  // once per job, until a call succeeds again.
  let keyRefusalReported = false;

  const handleOrderJob = async (job: Job, token?: string): Promise<OrderJobOutcome> => {
    const parsed = parseIntent(job.data);
    if (parsed.kind === 'garbage') {
      // No usable merchant_order_id: no result can be addressed, so the job itself fails, kept for inspection.
      throw new UnrecoverableError(`invalid intent: ${parsed.reason}`);
    }
    const mid = parsed.kind === 'ok' ? parsed.intent.merchantOrderId : parsed.merchantOrderId;
    const log = deps.logger.child({ merchant_order_id: mid, job_id: job.id });
    const jobId = job.id ?? '';
    const intent: Intent =
      parsed.kind === 'ok' ? parsed.intent : { merchantOrderId: mid, itemId: itemIdOf(job.data) };

    const claim = await ledger.claim(mid, jobId, initialState(intent, now()));
    if (claim.kind === 'duplicate') {
      log.info({ owner: claim.owner }, 'duplicate intent: another job drives this merchant_order_id');
      return { merchant_order_id: mid, duplicate_of: claim.owner };
    }
    if (claim.kind === 'finished') {
      log.info({ status: claim.status }, 'duplicate intent: this merchant_order_id finished long ago');
      return { merchant_order_id: mid, duplicate_of: 'finished' };
    }

    let record = claim.record;
    /** Apply an event, persist the move (compare-and-set), and return the phase it leaves the order in. */
    const apply = async (event: OrderEvent): Promise<Phase> => {
      const t = transition(record.state, event, policy);
      if (t.kind === 'ignored') {
        log.debug({ event: event.type, phase: record.state.phase, reason: t.reason }, 'event changes nothing');
        return record.state.phase;
      }
      const saved = await ledger.save(mid, record.version, t.state);
      if (saved === null) throw new LedgerConflict();
      log.debug({ event: event.type, from: record.state.phase, to: t.state.phase }, 'transition');
      record = saved;
      return record.state.phase;
    };
    const park = async (delayMs: number, why: string): Promise<never> => {
      log.debug({ delay_ms: delayMs, why }, 'parking the job');
      // Come back ahead of fresh intents (enqueueOrder gives them priority 1; BullMQ serves
      // priority 0 first), so a due poll or retry never waits behind a backlog. Once per job.
      if (job.priority > 0) await job.changePriority({ priority: 0 });
      await job.moveToDelayed(now() + Math.max(1, Math.round(delayMs)), token);
      throw new DelayedError();
    };

    if (parsed.kind === 'invalid') {
      await apply({ type: 'intent_rejected', atMs: now(), code: 'invalid_intent', message: parsed.message });
    }

    for (let step = 0; step < MAX_STEPS; step++) {
      try {
        await absorbWebhookEvent(record, apply, now());
        const next = nextStep(record.state, policy);
        switch (next.kind) {
          case 'emit':
            await emit(next.result, record.state);
            return { merchant_order_id: mid, status: next.result.status, order_id: next.result.order_id };
          case 'place':
            await place(next.gateFunds);
            break;
          case 'poll':
            await poll(next.orderId);
            break;
          case 'await_webhook':
            await apply({ type: 'deadline_check', atMs: now() });
            if (record.state.phase !== 'done') {
              await park(Math.min(next.deadlineMs - now(), deps.polling.maxDelayMs), 'waiting for the webhook');
            }
            break;
        }
      } catch (err) {
        if (!(err instanceof LedgerConflict)) throw err;
        const fresh = await ledger.load(mid);
        if (fresh === null) throw new Error(`ledger record of ${mid} vanished`);
        record = fresh;
      }
    }
    throw new Error(`order ${mid} did not settle within ${MAX_STEPS} steps (phase ${record.state.phase})`);

    async function emit(result: OrderResult, state: OrderState): Promise<void> {
      await deps.emitter.emit(result);
      // Give back what the fleet's balance view holds for this order: all of it when nothing
      // was charged, the refund when the API refunded part or all.
      const refund = result.status === 'rejected' || result.status === 'unresolved' ? undefined : result.refund_amount;
      await deps.gate.release(mid, refund);
      deps.metrics.result(result.status);
      log.info({ status: result.status, order_id: result.order_id, source: result.source, attempts: state.attempts }, 'result emitted');
    }

    async function place(gateFunds: boolean): Promise<void> {
      const state = record.state;
      const itemId = state.intent.itemId;
      if (itemId === null) throw new Error('invariant: a valid intent has an item id');
      if (gateFunds) {
        const cost = localCheck(state.intent);
        if (cost !== null && typeof cost === 'object') {
          await apply({ type: 'intent_rejected', atMs: now(), code: cost.code, message: cost.message });
          return;
        }
        const outcome = await guardApi(() => deps.gate.reserve(mid, cost));
        if (outcome === 'short') {
          const since = state.fundsWaitSinceMs;
          if (since === null) {
            deps.metrics.fundsShort();
            log.warn({ cost }, 'balance cannot cover the order: waiting for funds');
          }
          await apply({ type: 'funds_short', atMs: now() });
          if (record.state.phase === 'done') return;
          const waited = now() - (record.state.fundsWaitSinceMs ?? now());
          await park(Math.min(FUNDS_RECHECK_MAX_MS, Math.max(1_000, waited)), 'waiting for funds');
        }
      }
      await apply({ type: 'attempt_started', atMs: now() });
      const request = { itemId, merchantOrderId: mid, ...optional(state.intent) };
      let order: Order;
      try {
        order = await deps.client.createOrder(request);
      } catch (err) {
        await onCreateFailure(err);
        return;
      }
      keyRefusalReported = false;
      await apply({ type: 'create_succeeded', atMs: now(), order });
      if (record.state.phase === 'placed') {
        log.info({ order_id: order.id }, 'order placed');
        if (record.event === null) await park(await pollDelay(0), 'waiting for the order to settle');
      }
    }

    async function onCreateFailure(err: unknown): Promise<void> {
      if (!(err instanceof FulfillmentError)) throw err;
      switch (err.code) {
        case 'duplicate_merchant_order_id':
        case 'validation_error':
        case 'insufficient_balance':
          await apply({ type: 'create_rejected', atMs: now(), code: err.code, message: err.detail ?? err.message });
          if (err.code === 'insufficient_balance' && record.state.phase === 'waiting_funds') {
            await deps.gate.release(mid);
            await deps.gate.invalidate();
            await park(1_000, 'the API says the balance is short');
          }
          if (record.state.phase === 'awaiting_webhook') {
            log.warn({ code: err.code }, 'an earlier attempt landed but its order id is unknown: waiting for the webhook');
          }
          return;
        // A 2xx we cannot read means the order was created but we cannot see it: as unknown as a timeout.
        case 'unexpected_response':
        case 'ambiguous':
          log.warn({ err, attempt: record.state.attempts }, 'create outcome unknown: retrying with the same merchant_order_id');
          await apply({ type: 'create_ambiguous', atMs: now() });
          // The deadline is checked only after a retry was sent and failed again, so a retry that
          // waited behind a backlog still gets its chance to learn the truth ("duplicate" or 201).
          if ((await apply({ type: 'deadline_check', atMs: now() })) === 'done') return;
          await park(retryDelay(deps.retry, record.state.attempts), 'retrying an ambiguous create');
          return;
        default:
          await apply({ type: 'create_not_sent', atMs: now() });
          await handleNotProcessed(err, record.state.attempts);
      }
    }

    /** A request the API did not process (429, 5xx on reads, refused key…): back off by code. */
    async function handleNotProcessed(err: FulfillmentError, attempt: number): Promise<never> {
      switch (err.code) {
        case 'rate_limited': {
          const ms = err.retryAfterMs ?? 1_000;
          deps.metrics.rateLimited();
          log.warn({ retry_after_ms: ms }, 'rate limited: the fleet backs off');
          await deps.pauseFleet(ms);
          throw Worker.RateLimitError();
        }
        case 'invalid_credentials':
        case 'auth_forbidden':
          deps.metrics.fatalAuth();
          if (keyRefusalReported) {
            log.debug({ code: err.code }, 'the API key is still refused');
          } else {
            keyRefusalReported = true;
            log.error({ err }, 'the API key was refused: the fleet stops placing until it is fixed (intents wait, nothing is lost)');
          }
          await deps.pauseFleet(deps.authFailurePauseMs);
          throw Worker.RateLimitError();
        default:
          log.warn({ err, attempt }, 'API call failed: retrying later');
          return park(retryDelay(deps.retry, Math.max(1, attempt)), `retrying after ${err.code}`);
      }
    }

    /** Run a call whose failures mean "not processed" (balance reads, lookups). */
    async function guardApi<T>(call: () => Promise<T>): Promise<T> {
      try {
        return await call();
      } catch (err) {
        if (!(err instanceof FulfillmentError)) throw err;
        return handleNotProcessed(err, 1);
      }
    }

    async function poll(orderId: string): Promise<void> {
      let order: Order;
      try {
        order = await deps.client.getOrder(orderId);
      } catch (err) {
        if (!(err instanceof FulfillmentError)) throw err;
        if (err.code === 'not_found') {
          // Right after create a lookup may briefly answer 404 (API contract §9): look again soon.
          await park(deps.polling.initialDelayMs, 'lookup answered 404 right after create');
        }
        return handleNotProcessed(err, 1);
      }
      keyRefusalReported = false;
      await apply({ type: 'order_observed', atMs: now(), order, source: 'poll' });
      if (record.state.phase === 'placed') {
        const placedFor = now() - (record.state.firstAttemptAtMs ?? now());
        await park(await pollDelay(placedFor), 'order still in progress');
      }
    }

    /**
     * Wait before the next poll: as long as the order has been in progress (backoff), at least the
     * first-poll delay (later while a receiver is alive: the webhook is the fast path), at most the max.
     */
    async function pollDelay(placedForMs: number): Promise<number> {
      const base = (await deps.webhookAlive()) ? deps.polling.webhookDelayMs : deps.polling.initialDelayMs;
      return Math.min(deps.polling.maxDelayMs, Math.max(base, placedForMs));
    }
  };

  // Anything unexpected (a Redis hiccup, a bug) must not fail the job for good: a failed intent job
  // would leave its order without a result. Park it and try again; the ledger makes that safe.
  return async function handleOrderJobSafely(job, token) {
    try {
      return await handleOrderJob(job, token);
    } catch (err) {
      if (err instanceof DelayedError || err instanceof UnrecoverableError || err instanceof RateLimitError) throw err;
      deps.logger.error({ err, job_id: job.id }, 'unexpected error: the job will run again');
      try {
        await job.moveToDelayed(now() + retryDelay(deps.retry, UNEXPECTED_RETRY_ATTEMPT), token);
      } catch {
        // Lost the lock (another worker owns the job now) or Redis is away: BullMQ's stall
        // recovery hands the job back, so the original error is what to report.
        throw err;
      }
      throw new DelayedError();
    }
  };

  /** Catalog and max_price checks: the cost to reserve (null = unknown), or why the intent is rejected. */
  function localCheck(intent: Intent): number | null | { code: string; message: string } {
    let cost: number | null = intent.maxPrice ?? null;
    if (deps.catalog !== null && intent.itemId !== null) {
      const check = checkOrder(deps.catalog.get(intent.itemId), { quantity: intent.quantity, fields: intent.fields });
      if (!check.ok) return { code: 'validation_error', message: `${check.field}: ${check.message}` };
      cost = check.cost;
      if (intent.maxPrice !== undefined && cost > intent.maxPrice) {
        return { code: 'price_exceeds_max', message: `the order costs ${cost}, more than max_price ${intent.maxPrice}` };
      }
    }
    return cost;
  }
}

/** Apply a stored webhook event once the order was attempted (a webhook can beat the create response). */
async function absorbWebhookEvent(record: LedgerRecord, apply: (e: OrderEvent) => Promise<Phase>, atMs: number): Promise<void> {
  const event = record.event;
  if (event === null || record.state.phase === 'done') return;
  if (record.state.phase === 'received' || record.state.phase === 'waiting_funds') {
    if (record.state.attempts === 0) {
      await apply({
        type: 'intent_rejected',
        atMs,
        code: 'duplicate_merchant_order_id',
        message: 'this merchant_order_id was used before this system saw it (a webhook for it arrived before any attempt)',
      });
    }
    return;
  }
  await apply({ type: 'order_observed', atMs, order: event, source: 'webhook' });
}

function optional(intent: Intent): { quantity?: number; fields?: Record<string, string | number> } {
  const out: { quantity?: number; fields?: Record<string, string | number> } = {};
  if (intent.quantity !== undefined) out.quantity = intent.quantity;
  if (intent.fields !== undefined) out.fields = intent.fields;
  return out;
}

function itemIdOf(data: unknown): number | null {
  const value = (data as { item_id?: unknown }).item_id;
  return typeof value === 'number' && Number.isInteger(value) ? value : null;
}
