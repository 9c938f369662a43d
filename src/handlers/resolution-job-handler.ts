import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { VoodooClient } from '../api/voodoo-client.js';
import type { BalanceGate } from '../balance/balance-gate.js';
import type { LedgerRecord, OrderLedger } from '../ledger/order-ledger.js';
import { classifyFailure } from '../lifecycle/failure-classification.js';
import { decide } from '../lifecycle/order-machine.js';
import type { FleetPauseReason, LifecyclePolicy, OrderEvent, ResolutionRefusal, ResultSource, ResultStatus } from '../lifecycle/order-state.js';
import { LOG_EVENT } from '../logging/log-events.js';
import type { Logger } from '../logging/logger.js';
import { lazyChild } from '../logging/lazy-child.js';
import type { PipelineMetrics } from '../metrics/pipeline-metrics.js';
import type { ResultEmitter } from '../queue/result-emitter.js';
import { performEffects, reportEmitted, type NoticeReporter } from './order-effects.js';

/** The data of a resolve request job in `order-intents` (named `resolve`; see enqueue-resolve.ts). */
export interface ResolveRequest {
  merchant_order_id: string;
  /** The order id the operator found for it (in the Voodoo Center dashboard). */
  order_id: string;
}

/**
 * What a resolve request job returns when it completes (never the codes):
 * - `resolved`: this request emitted the resolution.
 * - `already_resolved`: a resolution was emitted before (by a late webhook or an earlier request): a no-op.
 * - `refused`: nothing was emitted; `reason` says why — the machine's {@link ResolutionRefusal}, or
 *   `unknown` (no intent was ever claimed for this id) or `expired` (its record is gone after
 *   RETENTION_SECONDS; only the tombstone is left).
 */
export type ResolutionJobOutcome =
  | { merchant_order_id: string; outcome: 'resolved' | 'already_resolved'; status: ResultStatus; order_id: string | null; source: ResultSource }
  | { merchant_order_id: string; outcome: 'refused'; reason: ResolutionRefusal | 'unknown' | 'expired'; finished_status?: string };

/** Dependencies of the resolution handler: everything it does I/O with. */
export interface ResolutionJobHandlerDeps {
  ledger: OrderLedger;
  client: VoodooClient;
  /** Performs the machine's funds effects (a resolution decides none today). */
  gate: BalanceGate;
  emitter: ResultEmitter;
  policy: LifecyclePolicy;
  webhookAlive: () => Promise<boolean>;
  /** Pause the whole queue for every worker of the fleet, in ms. */
  pauseFleet: (ms: number, reason: FleetPauseReason) => Promise<void>;
  metrics: PipelineMetrics;
  report: NoticeReporter;
  logger: Logger;
  /** Clock, epoch ms. */
  now?: () => number;
  /** Source of jitter in [0, 1). */
  random?: () => number;
}

/** Bound on decisions per run: request, lookup, emit, emitted — and a few conflicts. */
const MAX_STEPS = 16;

function parseRequest(data: unknown): ResolveRequest | null {
  if (typeof data !== 'object' || data === null) return null;
  const { merchant_order_id: mid, order_id: orderId } = data as Record<string, unknown>;
  if (typeof mid !== 'string' || mid === '' || typeof orderId !== 'string' || orderId === '') return null;
  return { merchant_order_id: mid, order_id: orderId };
}

/**
 * The processor of `resolve` jobs (an operator's `voodoo-fulfillment resolve`): the same loop as an
 * intent job's, started by a `resolve_requested` event instead of `job_started`. The machine decides
 * everything — refuse, look the named order up, wait for a terminal status with its poll delays,
 * emit the one resolution; this only performs it and persists with compare-and-set.
 */
export function createResolutionJobHandler(deps: ResolutionJobHandlerDeps): (job: Job, token?: string) => Promise<ResolutionJobOutcome> {
  const now = deps.now ?? Date.now;
  const random = deps.random ?? Math.random;
  const { ledger } = deps;

  return async (job, token) => {
    const request = parseRequest(job.data);
    if (request === null) throw new UnrecoverableError('invalid resolve request: expected {merchant_order_id, order_id} strings');
    const mid = request.merchant_order_id;
    const log = lazyChild(deps.logger, { merchant_order_id: mid, job_id: job.id, requested_order_id: request.order_id });
    const answer = (outcome: ResolutionJobOutcome): ResolutionJobOutcome => {
      log.info({ event: LOG_EVENT.resolveAnswered, ...outcome }, 'resolve request answered');
      return outcome;
    };

    let record: LedgerRecord | null = await ledger.load(mid);
    if (record === null) {
      const { finishedStatus } = await ledger.view(mid);
      if (finishedStatus === null) return answer({ merchant_order_id: mid, outcome: 'refused', reason: 'unknown' });
      return answer({ merchant_order_id: mid, outcome: 'refused', reason: 'expired', finished_status: finishedStatus });
    }
    const requested = (): OrderEvent => ({ type: 'resolve_requested', atMs: now(), orderId: request.order_id });
    let event = requested();
    let emittedHere = false;

    for (let step = 0; step < MAX_STEPS; step++) {
      const ctx = { policy: deps.policy, webhookAlive: await deps.webhookAlive(), webhookOrder: record.webhookOrder, random: random() };
      const decision = decide(record.state, event, ctx);
      if (decision.state !== record.state) {
        const saved = await ledger.save(mid, record.version, decision.state, record.owner, record.state);
        if (saved === null) {
          // Another writer (a late webhook, the order's job) moved the record: decide again on its state.
          record = await ledger.load(mid);
          if (record === null) throw new Error(`ledger record of ${mid} vanished`);
          continue;
        }
        record = saved;
      }
      await performEffects(decision.effects, mid, log, deps);
      const action = decision.action;
      switch (action.kind) {
        case 'lookup':
          try {
            event = { type: 'order_observed', atMs: now(), order: await deps.client.getOrder(action.orderId) };
          } catch (err) {
            event = classifyFailure('lookup', err, now());
          }
          break;
        case 'emit':
          await deps.emitter.emit(action.result);
          reportEmitted(log, deps.metrics, action.result, 'worker', { enqueuedAtMs: record.state.enqueuedAtMs, emittedAtMs: now() });
          emittedHere ||= action.result.resolves !== null;
          event = { type: 'result_emitted', atMs: now() };
          break;
        case 'finish': {
          const { result } = action;
          if (result.resolves === null) throw new Error(`resolve request for ${mid} finished without a resolution`);
          const outcome = emittedHere ? 'resolved' : 'already_resolved';
          return answer({ merchant_order_id: mid, outcome, status: result.status, order_id: result.order_id, source: result.source });
        }
        case 'refuse_resolution':
          return answer({ merchant_order_id: mid, outcome: 'refused', reason: action.reason });
        case 'wait':
          log.debug({ until: new Date(action.untilMs).toISOString(), reason: action.reason }, 'parking the resolve request');
          await job.moveToDelayed(action.untilMs, token);
          throw new DelayedError();
        case 'pause_fleet':
          await deps.pauseFleet(action.ms, action.reason);
          throw Worker.RateLimitError();
        case 'restart':
          event = requested();
          break;
        case 'reserve_funds':
        case 'create':
        case 'hand_off':
          // The machine never sends anything for (nor hands off) a done order.
          throw new Error(`resolve request for ${mid}: unexpected ${action.kind}`);
      }
    }
    throw new Error(`resolve request for ${mid} did not settle within ${MAX_STEPS} decisions`);
  };
}
