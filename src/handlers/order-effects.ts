import type { BalanceGate } from '../balance/balance-gate.js';
import type { Effect, Notice, OrderResult } from '../lifecycle/order-state.js';
import { LOG_EVENT } from '../logging/log-events.js';
import type { Logger } from '../logging/logger.js';
import { lazyChild } from '../logging/lazy-child.js';
import type { PipelineMetrics } from '../metrics/pipeline-metrics.js';
import { repeatGate } from '../logging/repeat-throttle.js';

/**
 * How often a fleet-wide condition (a refused key, the spend limit) is written at error level by
 * one process: every order meets it, so one line per window says enough; the metric counts them all.
 */
const FLEET_CONDITION_LOG_WINDOW_MS = 10 * 60 * 1000;

/**
 * How often one kind of failed API call (same code and message, e.g. the API unreachable) is written
 * at warn level by one process, in ms: in an outage every intent retries it; the rest go to debug
 * and the next warn line counts them (`repeated`).
 */
const CALL_FAILURE_LOG_WINDOW_MS = 60_000;

/** Turns the machine's notices into log lines and metrics. One per process. */
export type NoticeReporter = (log: Logger, notice: Notice) => void;

/** Options of {@link createNoticeReporter}. */
export interface NoticeReporterOptions {
  metrics: PipelineMetrics;
  /** Clock, epoch ms (tests pass their own). */
  now?: () => number;
}

export function createNoticeReporter(options: NoticeReporterOptions): NoticeReporter {
  const { metrics } = options;
  const now = options.now ?? Date.now;
  const lastLoud = new Map<string, number>();
  /** True at most once per window for `kind` in this process. */
  const loud = (kind: string): boolean => {
    const at = now();
    const last = lastLoud.get(kind);
    if (last !== undefined && at - last < FLEET_CONDITION_LOG_WINDOW_MS) return false;
    lastLoud.set(kind, at);
    return true;
  };
  const callFailure = repeatGate(CALL_FAILURE_LOG_WINDOW_MS, now);

  return (parent, n) => {
    // Every notice's line carries its kind as a stable `event` (see logging/log-events.ts).
    const log = lazyChild(parent, { event: n.kind });
    switch (n.kind) {
      case 'funds_short':
        metrics.fundsShort(n.limit);
        if (n.limit === 'balance') {
          log.warn({ cost: n.cost }, 'balance cannot cover the order: waiting for funds');
        } else if (loud('spend_limit')) {
          log.error({ cost: n.cost }, 'the fleet reached SPEND_LIMIT: intents wait for room in the window (none is rejected before BALANCE_WAIT_MAX_MS)');
        } else {
          log.debug({ cost: n.cost }, 'spend limit reached: waiting for room');
        }
        return;
      case 'order_placed':
        log.info({ order_id: n.orderId }, 'order placed');
        return;
      case 'create_ambiguous':
        log.warn({ attempt: n.attempt, problem: n.message }, 'create outcome unknown: retrying with the same merchant_order_id');
        return;
      case 'awaiting_webhook':
        log.warn({ code: n.code }, 'an earlier attempt may have landed but its order id is unknown: waiting for the webhook');
        return;
      case 'call_failed': {
        const fields = { call: n.call, code: n.code, problem: n.message, failures: n.failures };
        const repeated = callFailure(`${n.code} ${n.message}`);
        if (repeated === null) log.debug(fields, 'API call failed again: retrying later');
        else log.warn(repeated > 0 ? { ...fields, repeated } : fields, 'API call failed: retrying later');
        return;
      }
      case 'rate_limited':
        metrics.rateLimited();
        log.warn({ call: n.call, retry_after_ms: n.pauseMs }, 'rate limited: the fleet backs off');
        return;
      case 'key_refused':
        metrics.fatalAuth();
        if (loud('key_refused')) {
          log.error({ code: n.code, problem: n.message }, 'the API key was refused: the fleet stops placing until it is fixed (intents wait, nothing is lost)');
        } else {
          log.debug({ code: n.code }, 'the API key is still refused');
        }
        return;
      case 'order_stuck':
        metrics.stuck();
        log.warn(
          { order_id: n.orderId, placed_at: new Date(n.placedAtMs).toISOString() },
          'order stuck: no terminal status after ORDER_STUCK_AFTER_MS; it is still polled (look it up in the Voodoo Center dashboard)',
        );
        return;
      case 'price_above_max':
        metrics.priceAboveMax();
        log.warn({ price: n.price, max_price: n.maxPrice }, 'the API charged more than max_price (is the catalog stale?)');
        return;
      case 'webhook_ignored':
        log.warn({ order_id: n.orderId, reason: n.reason }, 'webhook event ignored');
        return;
    }
  };
}

/** What performing effects needs. */
export interface EffectDeps {
  gate: BalanceGate;
  report: NoticeReporter;
}

/** Perform a decision's side effects, in order, for one merchant_order_id. */
export async function performEffects(effects: readonly Effect[], merchantOrderId: string, log: Logger, deps: EffectDeps): Promise<void> {
  for (const effect of effects) {
    switch (effect.kind) {
      case 'release_funds':
        await deps.gate.release(merchantOrderId, effect.balance, effect.spend);
        break;
      case 'record_charge':
        await deps.gate.recordCharge(merchantOrderId, effect.amount);
        break;
      case 'invalidate_balance':
        await deps.gate.invalidate();
        break;
      case 'notice':
        deps.report(log, effect.notice);
        break;
      case 'close_intent_job':
        // Where the job is closed depends on who runs it: a worker finishes it by returning from the
        // handler; the webhook finalizer removes the parked job itself, after recording the emission.
        break;
    }
  }
}

/** When the order of an emitted result was enqueued and its result emitted, epoch ms. */
export interface EmissionTiming {
  /** The intent job's timestamp (the order state keeps it); null when unknown. */
  enqueuedAtMs: number | null;
  emittedAtMs: number;
}

/** Count and log a result (or a resolution) that was just added to `order-results` (counted here, when emitted). */
export function reportEmitted(log: Logger, metrics: PipelineMetrics, result: OrderResult, by: 'worker' | 'webhook receiver', timing: EmissionTiming): void {
  const fields = { status: result.status, order_id: result.order_id, source: result.source, by };
  if (result.resolves !== null) {
    metrics.resolution(result.status, result.source);
    log.info({ event: LOG_EVENT.resolutionEmitted, ...fields, resolves: result.resolves }, 'resolution emitted: the unresolved result’s real outcome');
    return;
  }
  metrics.result(result, timing.enqueuedAtMs, timing.emittedAtMs);
  log.info({ event: LOG_EVENT.resultEmitted, ...fields }, 'result emitted');
}
