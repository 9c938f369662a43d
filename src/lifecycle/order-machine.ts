import { isTerminalStatus, type Order } from '../api/order.js';
import { resolutionFromOrder, resultFromOrder, workerResult } from './order-results.js';
import {
  DEFAULT_RATE_LIMIT_PAUSE_MS,
  EMIT_GRACE_MS,
  fundsRecheckDelay,
  pollDelay,
  resolutionRequestDeadline,
  resolveDeadline,
  retryCutoff,
  retryDelay,
} from './order-timing.js';
import type {
  Action,
  ApiCall,
  CallFailureCode,
  Decision,
  DecisionContext,
  Effect,
  FundsLimit,
  Intent,
  IntentCheck,
  LifecyclePolicy,
  Notice,
  OrderEvent,
  OrderResult,
  OrderState,
  RejectionCode,
  Resolution,
  ResolutionRefusal,
  ResultSource,
  WaitReason,
} from './order-state.js';

/** The state a freshly accepted intent starts in (`enqueuedAtMs`: its job's timestamp, epoch ms). */
export function initialState(intent: Intent, atMs: number, enqueuedAtMs: number | null = null): OrderState {
  return {
    phase: 'received',
    intent,
    attempts: 0,
    maybeLanded: false,
    orderId: null,
    receivedAtMs: atMs,
    enqueuedAtMs,
    firstAttemptAtMs: null,
    maybeLandedAtMs: null,
    lastMaybeLandedAtMs: null,
    placedAtMs: null,
    fundsWaitSinceMs: null,
    fundsLimit: null,
    cost: null,
    failures: 0,
    stuckSinceMs: null,
    result: null,
    emitted: false,
    resolution: null,
    remindAtMs: null,
  };
}

/**
 * The order lifecycle's one decision function: for a state, an event and what the caller sees
 * (policy, a live receiver, a stored webhook, a random number), the next state, the side effects
 * and the one action to perform. Pure: no I/O, no clock. Every (phase, event) pair is defined; an
 * event that does not fit the state asks the caller to start over (`restart`).
 *
 * A stored terminal webhook event is considered after every event: it settles the order as soon
 * as anyone who drives it looks, whatever they were doing — and it beats the machine's own verdict:
 * an order the event would end `unresolved` (or `rejected` after an attempt that may have landed) is
 * settled by the stored webhook instead. Once an `unresolved` result is emitted, the stored webhook
 * resolves it (see {@link applyDone}).
 */
export function decide(state: OrderState, event: OrderEvent, ctx: DecisionContext): Decision {
  const step = apply(state, event, ctx);
  if (ctx.webhookOrder === null || event.type === 'webhook_received') return step;
  const webhook: OrderEvent = { type: 'webhook_received', atMs: event.atMs, order: ctx.webhookOrder };
  if (state.phase === 'done') {
    // A webhook stored while the `unresolved` result was being emitted (the receiver then left it):
    // once the result is out, it resolves it.
    if (!resolvable(step.state)) return step;
    const resolved = apply(step.state, webhook, ctx);
    return resolved.state.resolution?.kind === 'resolved' ? { ...resolved, effects: [...step.effects, ...resolved.effects] } : step;
  }
  // A resolve request for an order still being driven is only answered (refused); its job settles it.
  if (event.type === 'resolve_requested') return step;
  if (step.state.phase !== 'done') {
    const settled = apply(step.state, webhook, ctx);
    return settled.state.phase === 'done' ? { ...settled, effects: [...step.effects, ...settled.effects] } : step;
  }
  // The machine's own verdict (unresolved, or a rejection of a retry after an attempt that may have
  // landed) yields to a stored webhook that settles the order: the webhook is the API's word.
  const result = step.state.result;
  if (result !== null && result.source === 'worker' && (result.status === 'unresolved' || state.maybeLanded)) {
    const settled = apply(state, webhook, ctx);
    if (settled.state.phase === 'done') return settled;
  }
  return step;
}

const restart = (state: OrderState, reason: string): Decision => ({ state, effects: [], action: { kind: 'restart', reason } });
const notice = (n: Notice): Effect => ({ kind: 'notice', notice: n });
const wait = (untilMs: number, reason: WaitReason): Action => ({ kind: 'wait', untilMs, reason });
/**
 * A placed order still in progress, next looked at `untilMs`. Without a receiver the job parks: its
 * poll is how the order advances. With one, the webhook is expected to settle it: the job hands the
 * order off (completes) and the ledger's reminder is the safety-net poll.
 */
function inProgress(state: OrderState, untilMs: number, effects: Effect[], ctx: DecisionContext): Decision {
  if (!ctx.webhookAlive || !ctx.policy.handOff) return { state, effects, action: wait(untilMs, 'order_in_progress') };
  return { state: { ...state, remindAtMs: untilMs }, effects, action: { kind: 'hand_off', untilMs } };
}
/** No more retries after RESOLVE_TIMEOUT_MS: what is left is the webhook of an attempt that may have landed. */
const cutoffNotice: Effect = notice({ kind: 'awaiting_webhook', code: 'retry_cutoff' });

function apply(state: OrderState, event: OrderEvent, ctx: DecisionContext): Decision {
  const { policy } = ctx;
  if (state.phase === 'done') return applyDone(state, event, ctx);

  switch (event.type) {
    case 'job_started':
      switch (state.phase) {
        case 'received':
        case 'waiting_funds':
          return checkIntent(state, event.check, event.atMs);
        case 'placing': {
          // The previous run died between recording its attempt and recording the answer: the POST
          // may have landed, so a retry is protected only by the merchant_order_id.
          const landed = mayHaveLanded(state, event.atMs);
          return event.atMs >= retryCutoff(landed, policy) ? awaitWebhook({ ...landed, phase: 'awaiting_webhook' }, event.atMs, ctx, [cutoffNotice]) : attempt(landed, event.atMs);
        }
        case 'ambiguous':
          // Past the cutoff no new attempt is sent: the last one's webhook gets its window, then unresolved.
          return event.atMs >= retryCutoff(state, policy) ? awaitWebhook({ ...state, phase: 'awaiting_webhook' }, event.atMs, ctx, [cutoffNotice]) : attempt(state, event.atMs);
        case 'placed':
          return lookup(state);
        case 'awaiting_webhook':
          return awaitWebhook(state, event.atMs, ctx, []);
      }
      break;

    case 'funds_reserved':
      if (!sendable(state)) return restart(state, 'funds only gate an order that was never sent');
      return attempt(withCost(state, event.cost), event.atMs);

    case 'funds_short':
      if (!sendable(state)) return restart(state, 'funds only gate an order that was never sent');
      return waitForFunds(withCost(state, event.cost), event.atMs, event.limit, policy, []);

    case 'create_succeeded': {
      if (state.phase !== 'placing') return restart(state, 'no attempt is in flight');
      const effects = charged(state, event.order);
      const next: OrderState = { ...state, orderId: event.order.id, failures: 0, placedAtMs: state.placedAtMs ?? event.atMs };
      if (isTerminalStatus(event.order.status)) return finish(next, resultFromOrder(next, event.order, 'poll', event.atMs), effects);
      effects.push(notice({ kind: 'order_placed', orderId: event.order.id }));
      return inProgress({ ...next, phase: 'placed' }, event.atMs + pollDelay(policy, ctx.webhookAlive, 0), effects, ctx);
    }

    case 'create_rejected':
      if (state.phase !== 'placing') return restart(state, 'no attempt is in flight');
      return createRejected(state, event, ctx);

    case 'create_ambiguous': {
      if (state.phase !== 'placing') return restart(state, 'no attempt is in flight');
      const next: OrderState = { ...mayHaveLanded(state, event.atMs), phase: 'ambiguous', failures: state.failures + 1 };
      // Past the cutoff no retry is sent; this attempt's webhook still gets its whole window.
      if (event.atMs >= retryCutoff(next, policy)) return awaitWebhook({ ...next, phase: 'awaiting_webhook' }, event.atMs, ctx, [cutoffNotice]);
      return {
        state: next,
        effects: [notice({ kind: 'create_ambiguous', attempt: next.attempts, message: event.message })],
        action: wait(event.atMs + retryDelay(policy, next.failures, ctx.random), 'retry_ambiguous_create'),
      };
    }

    case 'order_observed':
      if (state.phase !== 'placed') return restart(state, 'no lookup was asked for');
      return observed(state, event.order, event.atMs, ctx);

    case 'order_not_found':
      if (state.phase !== 'placed') return restart(state, 'no lookup was asked for');
      // Right after a create the lookup may briefly answer 404: back off like any failure, and flag
      // the order as stuck if it never appears.
      return failed(state, event.atMs, ctx, 'lookup', 'not_found', 'the lookup answered 404 for a placed order');

    case 'call_failed':
      if (!expects(state, event.call)) return restart(state, `no ${event.call} call was asked for`);
      return failed(state, event.atMs, ctx, event.call, event.code, event.message);

    case 'rate_limited': {
      if (!expects(state, event.call)) return restart(state, `no ${event.call} call was asked for`);
      const ms = event.retryAfterMs ?? DEFAULT_RATE_LIMIT_PAUSE_MS;
      return {
        state: notSent(state, event.call),
        effects: [notice({ kind: 'rate_limited', call: event.call, pauseMs: ms })],
        action: { kind: 'pause_fleet', ms, reason: 'rate_limited' },
      };
    }

    case 'key_refused':
      if (!expects(state, event.call)) return restart(state, `no ${event.call} call was asked for`);
      return {
        state: notSent(state, event.call),
        effects: [notice({ kind: 'key_refused', call: event.call, code: event.code, message: event.message })],
        action: { kind: 'pause_fleet', ms: policy.authFailurePauseMs, reason: 'key_refused' },
      };

    case 'webhook_received':
      return webhookReceived(state, event.order, event.atMs);

    case 'result_emitted':
      return restart(state, 'no result was decided');

    case 'resolve_requested':
      return refuse(state, 'not_finished');
  }
  return restart(state, 'unreachable');
}

const refuse = (state: OrderState, reason: ResolutionRefusal): Decision => ({ state, effects: [], action: { kind: 'refuse_resolution', reason } });

/**
 * Whether a late truth may still resolve the order: its `unresolved` result is emitted and no
 * resolution is decided yet. At most one ever is: once decided, it never changes.
 */
function resolvable(state: OrderState): boolean {
  return state.phase === 'done' && state.emitted && state.result?.status === 'unresolved' && state.resolution?.kind !== 'resolved';
}

/**
 * A done order. Its result never changes; what is left is emitting it, and — for an `unresolved`
 * one, once it is emitted — at most one resolution: from a terminal webhook for this
 * merchant_order_id that arrives late, or from an operator's resolve request, which looks the named
 * order up until its status is terminal. Any other event settles the order (see {@link settle}).
 */
function applyDone(state: OrderState, event: OrderEvent, ctx: DecisionContext): Decision {
  const { resolution } = state;
  switch (event.type) {
    case 'result_emitted':
      if (!state.emitted) return emitted(state);
      if (resolution?.kind === 'resolved' && !resolution.emitted) {
        const next: Resolution = { ...resolution, emitted: true };
        return { state: { ...state, resolution: next }, effects: [], action: { kind: 'finish', result: resolution.result } };
      }
      return settle(state, event.atMs);
    case 'resolve_requested':
      return resolveRequested(state, event.orderId, event.atMs);
    case 'webhook_received': {
      const { order } = event;
      const ours = order.merchantOrderId === null || order.merchantOrderId === state.intent.merchantOrderId;
      if (resolvable(state) && ours && isTerminalStatus(order.status)) return resolve(state, order, 'webhook', event.atMs);
      return settle(state, event.atMs);
    }
    default:
  }
  if (resolution?.kind !== 'requested' || !resolvable(state)) return settle(state, event.atMs);
  const givenUp = event.atMs >= resolutionRequestDeadline(resolution.requestedAtMs, ctx.policy);
  // The outcomes of the lookup an operator's request asked for.
  const lookupBackoff = (message: string, code: CallFailureCode): Decision => {
    if (givenUp) return refuse({ ...state, resolution: null }, 'timed_out');
    const failures = resolution.failures + 1;
    return {
      state: { ...state, resolution: { ...resolution, failures } },
      effects: [notice({ kind: 'call_failed', call: 'lookup', code, message, failures })],
      action: wait(event.atMs + retryDelay(ctx.policy, failures, ctx.random), 'retry_after_failure'),
    };
  };
  switch (event.type) {
    case 'order_observed': {
      const { order } = event;
      if (order.id !== resolution.orderId) return lookupBackoff(`the lookup of ${resolution.orderId} answered another order`, 'unexpected_response');
      // The order the operator named is another merchant_order_id's: never adopt it.
      if (order.merchantOrderId !== null && order.merchantOrderId !== state.intent.merchantOrderId) {
        return refuse({ ...state, resolution: null }, 'other_order');
      }
      if (isTerminalStatus(order.status)) return resolve(state, order, 'poll', event.atMs);
      if (givenUp) return refuse({ ...state, resolution: null }, 'timed_out');
      const next: OrderState = resolution.failures === 0 ? state : { ...state, resolution: { ...resolution, failures: 0 } };
      const delay = pollDelay(ctx.policy, ctx.webhookAlive, event.atMs - resolution.requestedAtMs);
      return { state: next, effects: [], action: wait(event.atMs + delay, 'resolution_in_progress') };
    }
    case 'order_not_found':
      return refuse({ ...state, resolution: null }, 'order_not_found');
    case 'call_failed':
      if (event.call !== 'lookup') break;
      return lookupBackoff(event.message, event.code);
    case 'rate_limited': {
      if (event.call !== 'lookup') break;
      const ms = event.retryAfterMs ?? DEFAULT_RATE_LIMIT_PAUSE_MS;
      return { state, effects: [notice({ kind: 'rate_limited', call: 'lookup', pauseMs: ms })], action: { kind: 'pause_fleet', ms, reason: 'rate_limited' } };
    }
    case 'key_refused':
      if (event.call !== 'lookup') break;
      return {
        state,
        effects: [notice({ kind: 'key_refused', call: 'lookup', code: event.code, message: event.message })],
        action: { kind: 'pause_fleet', ms: ctx.policy.authFailurePauseMs, reason: 'key_refused' },
      };
    default:
  }
  return settle(state, event.atMs);
}

/** An operator asks to resolve the order with `orderId`. */
function resolveRequested(state: OrderState, orderId: string, atMs: number): Decision {
  const { resolution } = state;
  if (state.result?.status !== 'unresolved') return refuse(state, 'not_unresolved');
  if (!state.emitted) return refuse(state, 'not_finished');
  // Already resolved: nothing more is emitted (the decided resolution is, if its decider died first).
  if (resolution?.kind === 'resolved') return settle(state, atMs);
  const lookupAction: Action = { kind: 'lookup', orderId };
  if (resolution?.kind === 'requested' && resolution.orderId === orderId) return { state, effects: [], action: lookupAction };
  const next: Resolution = { kind: 'requested', orderId, requestedAtMs: atMs, failures: 0 };
  return { state: { ...state, resolution: next }, effects: [], action: lookupAction };
}

/** The one resolution of an `unresolved` result: the order's real outcome, decided once. */
function resolve(state: OrderState, order: Order, source: ResultSource, atMs: number): Decision {
  const result = resolutionFromOrder(state, order, source, atMs);
  const max = state.intent.maxPrice;
  const effects = result.warnings.includes('price_above_max') && max !== undefined ? [notice({ kind: 'price_above_max', price: order.price, maxPrice: max })] : [];
  return {
    state: { ...state, orderId: order.id, resolution: { kind: 'resolved', result, emitted: false } },
    effects,
    action: { kind: 'emit', result },
  };
}

/** Nothing was sent for this order yet (funds are checked only then). */
function sendable(state: OrderState): boolean {
  return state.phase === 'received' || state.phase === 'waiting_funds';
}

/** Whether the state asked for this call (its outcome fits). */
function expects(state: OrderState, call: ApiCall): boolean {
  switch (call) {
    case 'balance':
      return sendable(state);
    case 'create':
      return state.phase === 'placing';
    case 'lookup':
      return state.phase === 'placed';
  }
}

/**
 * A create that was not processed (429, refused key, connection refused) leaves the order where it
 * was before the attempt. Funds were enough to try, so a later shortage starts its own wait.
 */
function notSent(state: OrderState, call: ApiCall): OrderState {
  if (call !== 'create') return state;
  return state.maybeLanded ? { ...state, phase: 'ambiguous' } : { ...state, phase: 'received', fundsWaitSinceMs: null };
}

/** The money rules and the catalog's verdict, before anything is reserved or sent. */
function checkIntent(state: OrderState, check: IntentCheck, atMs: number): Decision {
  if (check.kind === 'invalid') return reject(state, check.code, check.message, atMs);
  const max = state.intent.maxPrice;
  if (max !== undefined) {
    if (check.kind === 'unpriced') {
      return reject(
        state,
        'price_unverifiable',
        `max_price ${max} cannot be enforced: no catalog price is known for item ${String(state.intent.itemId)} (set CATALOG_PATH)`,
        atMs,
      );
    }
    if (check.cost > max) return reject(state, 'price_exceeds_max', `the order costs ${check.cost}, more than max_price ${max}`, atMs);
  }
  // The state is left as it is: the cost is recorded with the reservation's outcome (see
  // `funds_reserved`), so checking an intent costs no ledger write.
  return { state, effects: [], action: { kind: 'reserve_funds', cost: check.kind === 'priced' ? check.cost : null } };
}

/** The state with the cost the reservation was asked for (the same object when it is already there). */
function withCost(state: OrderState, cost: number | null): OrderState {
  return cost === state.cost ? state : { ...state, cost };
}

/** The attempt in flight may have created the order (heard of at `atMs`). */
function mayHaveLanded(state: OrderState, atMs: number): OrderState {
  return { ...state, maybeLanded: true, maybeLandedAtMs: state.maybeLandedAtMs ?? atMs, lastMaybeLandedAtMs: atMs };
}

/** Record an attempt (persisted before the POST is sent) and send the create. */
function attempt(state: OrderState, atMs: number): Decision {
  const { intent } = state;
  if (intent.itemId === null) return reject(state, 'invalid_intent', 'item_id: expected an integer item id', atMs);
  const next: OrderState = {
    ...state,
    phase: 'placing',
    attempts: state.attempts + 1,
    firstAttemptAtMs: state.firstAttemptAtMs ?? atMs,
  };
  const request = {
    itemId: intent.itemId,
    merchantOrderId: intent.merchantOrderId,
    ...(intent.quantity === undefined ? {} : { quantity: intent.quantity }),
    ...(intent.fields === undefined ? {} : { fields: intent.fields }),
  };
  return { state: next, effects: [], action: { kind: 'create', request } };
}

function lookup(state: OrderState): Decision {
  if (state.orderId === null) return restart(state, 'a placed order has no id');
  return { state, effects: [], action: { kind: 'lookup', orderId: state.orderId } };
}

/** Wait for funds, or give up once the wait (counted from when it first began) reaches the limit. */
function waitForFunds(state: OrderState, atMs: number, limit: FundsLimit, policy: LifecyclePolicy, effects: Effect[]): Decision {
  const since = state.fundsWaitSinceMs ?? atMs;
  if (atMs - since >= policy.balanceWaitMaxMs) {
    return limit === 'spend_limit'
      ? reject(state, 'spend_limit_reached', 'the fleet’s SPEND_LIMIT left no room for the order before BALANCE_WAIT_MAX_MS', atMs, effects)
      : reject(state, 'insufficient_balance', 'the balance did not cover the order before BALANCE_WAIT_MAX_MS', atMs, effects);
  }
  const news = state.fundsWaitSinceMs === null || state.fundsLimit !== limit ? [notice({ kind: 'funds_short', limit, cost: state.cost })] : [];
  return {
    state: { ...state, phase: 'waiting_funds', fundsWaitSinceMs: since, fundsLimit: limit, failures: 0 },
    effects: [...effects, ...news],
    action: wait(atMs + fundsRecheckDelay(atMs - since), 'funds'),
  };
}

function createRejected(state: OrderState, event: Extract<OrderEvent, { type: 'create_rejected' }>, ctx: DecisionContext): Decision {
  const { atMs, code, message } = event;
  if (state.maybeLanded) {
    // A rejection that an identical earlier request would have met too proves that none landed.
    if (event.provable) return reject(state, 'validation_error', message, atMs);
    // Otherwise an earlier attempt may have created the order (and taken the last stock, the id,
    // the money): only the webhook can tell.
    const next: OrderState = { ...state, phase: 'awaiting_webhook' };
    return awaitWebhook(next, atMs, ctx, [notice({ kind: 'awaiting_webhook', code })]);
  }
  switch (code) {
    case 'duplicate_merchant_order_id':
      return reject(state, 'duplicate_merchant_order_id', 'an order with this merchant_order_id existed before this system placed one', atMs);
    case 'insufficient_balance':
      // The fleet's reading was stale: give the reservation back and read the balance again.
      return waitForFunds(state, atMs, 'balance', ctx.policy, [{ kind: 'release_funds', balance: 'all', spend: 'all' }, { kind: 'invalidate_balance' }]);
    case 'validation_error':
      return reject(state, 'validation_error', message, atMs);
    case 'unclassified':
      return reject(state, 'api_rejected', message, atMs);
  }
}

/** A call that was not processed: back off by the order's consecutive failures. */
function failed(state: OrderState, atMs: number, ctx: DecisionContext, call: ApiCall, code: CallFailureCode, message: string): Decision {
  const base = { ...notSent(state, call), failures: state.failures + 1 };
  // Not sent, so nothing new may have landed; past the cutoff the earlier attempts' webhook is all that is left.
  if (call === 'create' && base.maybeLanded && atMs >= retryCutoff(base, ctx.policy)) {
    return awaitWebhook({ ...base, phase: 'awaiting_webhook' }, atMs, ctx, [cutoffNotice]);
  }
  const { state: next, effects } = flagIfStuck(base, atMs, ctx);
  effects.unshift(notice({ kind: 'call_failed', call, code, message, failures: next.failures }));
  return { state: next, effects, action: wait(atMs + retryDelay(ctx.policy, next.failures, ctx.random), 'retry_after_failure') };
}

/** A lookup answered. */
function observed(state: OrderState, order: Order, atMs: number, ctx: DecisionContext): Decision {
  if (order.id !== state.orderId || (order.merchantOrderId !== null && order.merchantOrderId !== state.intent.merchantOrderId)) {
    return failed(state, atMs, ctx, 'lookup', 'unexpected_response', `the lookup of ${String(state.orderId)} answered another order`);
  }
  if (isTerminalStatus(order.status)) return finish(state, resultFromOrder(state, order, 'poll', atMs), []);
  const { state: next, effects } = flagIfStuck({ ...state, failures: 0 }, atMs, ctx);
  const placedFor = atMs - (state.placedAtMs ?? atMs);
  return inProgress(next, atMs + pollDelay(ctx.policy, ctx.webhookAlive, placedFor), effects, ctx);
}

/** Flag a placed order that has had no terminal status for ORDER_STUCK_AFTER_MS (once). */
function flagIfStuck(state: OrderState, atMs: number, ctx: DecisionContext): { state: OrderState; effects: Effect[] } {
  const placedAt = state.placedAtMs;
  if (state.phase !== 'placed' || state.stuckSinceMs !== null || placedAt === null || state.orderId === null) return { state, effects: [] };
  if (atMs - placedAt < ctx.policy.orderStuckAfterMs) return { state, effects: [] };
  return {
    state: { ...state, stuckSinceMs: atMs },
    effects: [notice({ kind: 'order_stuck', orderId: state.orderId, placedAtMs: placedAt })],
  };
}

/** Nothing to send: wait for the webhook until the deadline, then give up as `unresolved`. */
function awaitWebhook(state: OrderState, atMs: number, ctx: DecisionContext, effects: Effect[]): Decision {
  const deadline = resolveDeadline(state, ctx.policy);
  if (atMs >= deadline) return unresolved(state, atMs, effects);
  return { state, effects, action: wait(Math.min(deadline, atMs + ctx.policy.pollMaxDelayMs), 'awaiting_webhook') };
}

/** A signed terminal webhook event for this merchant_order_id. */
function webhookReceived(state: OrderState, order: Order, atMs: number): Decision {
  const ignore = (reason: string): Decision => ({
    state,
    effects: [notice({ kind: 'webhook_ignored', orderId: order.id, reason })],
    action: { kind: 'restart', reason },
  });
  if (!isTerminalStatus(order.status)) return ignore('the event is not terminal');
  if (state.orderId !== null && order.id !== state.orderId) return ignore('the event is for another order id');
  if (order.merchantOrderId !== null && order.merchantOrderId !== state.intent.merchantOrderId) {
    return ignore('the event is for another merchant_order_id');
  }
  if (sendable(state)) {
    // Nothing that may have landed was sent, yet an order with this id exists: someone else used
    // the merchant_order_id, and a create would be refused as a duplicate. Never adopt it.
    return reject(state, 'duplicate_merchant_order_id', `an order with this merchant_order_id (${order.id}) existed before this system placed one`, atMs);
  }
  // Without a known id the create's answer never arrived, so only this event tells what was charged.
  return finish({ ...state, orderId: order.id }, resultFromOrder(state, order, 'webhook', atMs), state.orderId === null ? charged(state, order) : []);
}

/** Record what the API charged for the order when it is not the reserved cost (an unknown cost reserved nothing to compare). */
function charged(state: OrderState, order: Order): Effect[] {
  return state.cost !== null && order.price !== state.cost ? [{ kind: 'record_charge', amount: order.price }] : [];
}

function reject(state: OrderState, code: RejectionCode, message: string, atMs: number, effects: Effect[] = []): Decision {
  return finish(state, workerResult(state, 'rejected', code, message, atMs), effects);
}

function unresolved(state: OrderState, atMs: number, effects: Effect[] = []): Decision {
  const message =
    `an order may exist for merchant_order_id "${state.intent.merchantOrderId}" but its outcome could not be learned ` +
    'before the deadline: look it up in the Voodoo Center dashboard';
  return finish(state, workerResult(state, 'unresolved', 'unresolved', message, atMs), effects);
}

/** The result is decided: persist it, then emit it. */
function finish(state: OrderState, result: OrderResult, effects: Effect[]): Decision {
  const done: OrderState = { ...state, phase: 'done', result, emitted: false, orderId: result.order_id ?? state.orderId };
  const notices: Effect[] = [];
  const max = state.intent.maxPrice;
  if (result.warnings.includes('price_above_max') && result.price !== null && max !== undefined) {
    notices.push(notice({ kind: 'price_above_max', price: result.price, maxPrice: max }));
  }
  return { state: done, effects: [...effects, ...notices], action: { kind: 'emit', result } };
}

/**
 * For a done order found by someone other than its decider: finish if the result is emitted; emit it
 * if its decider had time enough and did not (it died in between); else give the decider that time,
 * so a worker and the webhook receiver racing on one order do not both add the result.
 */
function settle(state: OrderState, atMs: number): Decision {
  const { result, resolution } = state;
  if (result === null) throw new Error('invariant: a done order has a result');
  if (state.emitted) {
    // A decided resolution is settled the same way: emitted by its decider, or by whoever finds it after the grace.
    if (resolution?.kind !== 'resolved') return { state, effects: [], action: { kind: 'finish', result } };
    if (resolution.emitted) return { state, effects: [], action: { kind: 'finish', result: resolution.result } };
    const resolutionEmitBy = Date.parse(resolution.result.resolved_at) + EMIT_GRACE_MS;
    if (atMs < resolutionEmitBy) return { state, effects: [], action: wait(resolutionEmitBy, 'result_being_emitted') };
    return { state, effects: [], action: { kind: 'emit', result: resolution.result } };
  }
  const emitBy = Date.parse(result.resolved_at) + EMIT_GRACE_MS;
  if (atMs < emitBy) return { state, effects: [], action: wait(emitBy, 'result_being_emitted') };
  return { state, effects: [], action: { kind: 'emit', result } };
}

/**
 * The result is in `order-results`: give back what the fleet's funds view holds for the order.
 * Nothing was charged for a rejection; a refund comes back; an unresolved order may have been
 * charged, so its money stays counted (fail closed) until the next balance reading.
 */
function emitted(state: OrderState): Decision {
  const result = state.result;
  if (result === null) throw new Error('invariant: a done order has a result');
  let release: Effect;
  switch (result.status) {
    case 'rejected':
      release = { kind: 'release_funds', balance: 'all', spend: 'all' };
      break;
    case 'unresolved':
      release = { kind: 'release_funds', balance: 0, spend: 0 };
      break;
    default:
      release = { kind: 'release_funds', balance: result.refund_amount, spend: result.refund_amount };
  }
  // After a hand-off the intent job completed: nothing to close, and the reminder goes with the
  // cleared `remindAtMs`. Otherwise the job may be parked (or be the caller, which finishes it).
  if (state.remindAtMs !== null) return { state: { ...state, emitted: true, remindAtMs: null }, effects: [release], action: { kind: 'finish', result } };
  return { state: { ...state, emitted: true }, effects: [release, { kind: 'close_intent_job' }], action: { kind: 'finish', result } };
}
