import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { businessCallError, isRequestRejection, transportError, type ApiAnswer } from '../../src/api/error-mapping.js';
import { isTerminalStatus, type Order, type OrderStatus } from '../../src/api/order.js';
import { classifyFailure } from '../../src/lifecycle/failure-classification.js';
import { decide, initialState } from '../../src/lifecycle/order-machine.js';
import { resolutionFromOrder, resultFromOrder, workerResult } from '../../src/lifecycle/order-results.js';
import type {
  Action,
  ApiCall,
  CallFailureCode,
  CreateRejectionCode,
  Decision,
  DecisionContext,
  Effect,
  FundsLimit,
  Intent,
  IntentCheck,
  Notice,
  OrderEvent,
  OrderEventType,
  OrderResult,
  OrderState,
  Phase,
} from '../../src/lifecycle/order-state.js';
import { DEFAULT_RATE_LIMIT_PAUSE_MS, EMIT_GRACE_MS, resolveDeadline, retryCutoff } from '../../src/lifecycle/order-timing.js';
import { apiOrder, testPolicy } from '../support/lifecycle.js';

/** The machine's word that the intent job has nothing left to do (once, with the first result's emission). */
const CLOSE_JOB: Effect = { kind: 'close_intent_job' };

// ---------------------------------------------------------------------------------------------
// Fixtures. Times are fixed epoch ms: the machine has no clock, so nothing here depends on "now".
// ---------------------------------------------------------------------------------------------

const T0 = Date.UTC(2026, 10, 25, 12, 0, 0);
const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * balanceWaitMaxMs and resolveTimeoutMs 1 min, polls 1 s (30 s with a live receiver) up to 1 min,
 * retries 500 ms doubling up to 30 s, key pause 30 s, stuck after 1 h.
 */
const policy = testPolicy();

const MID = 'shop-1001';
const OTHER_MID = 'shop-2002';
const ORDER_ID = '6f1d3a52-8c1e-4d7b-9a51-0d8a3c2e7b11';
const OTHER_ORDER_ID = 'a0b9c8d7-0000-4000-8000-123456789abc';
/** Item 4090 × 2 at 9.00, as the catalog prices it and apiOrder() charges it. */
const COST = 18;
const MAX_PRICE = 20;
const intent: Intent = { merchantOrderId: MID, itemId: 4090, quantity: 2, maxPrice: MAX_PRICE };
const REQUEST = { itemId: 4090, merchantOrderId: MID, quantity: 2 };

/** When the fixture states started waiting for funds / recorded their first attempt / may have landed / were placed. */
const FUNDS_SINCE = T0 + 1 * SECOND;
const FIRST_ATTEMPT_AT = T0 + 2 * SECOND;
const MAYBE_LANDED_AT = T0 + 3 * SECOND;
const PLACED_AT = T0 + 4 * SECOND;
/** When the done fixture's result was decided (a poll of the placed order). */
const DECIDED_AT = T0 + 5 * SECOND;
/** When the awaiting_webhook fixture's latest attempt may have landed (a retry answered ambiguously too). */
const LAST_MAYBE_LANDED_AT = T0 + 6 * SECOND;
/**
 * The time of the table's events: early, so no limit of the policy has passed (the retry cutoff is
 * MAYBE_LANDED_AT + 1 min), yet long after the done fixture was decided (3 × EMIT_GRACE_MS), so its
 * decider had time enough to emit it.
 */
const AT = T0 + 20 * SECOND;

const PRICED: IntentCheck = { kind: 'priced', cost: COST };

/** The order as the API answers it: pending by default. */
const order = (status: OrderStatus = 'pending', overrides: Partial<Order> = {}): Order => apiOrder(MID, ORDER_ID, status, overrides);

/** What the machine sees: no receiver, no stored webhook, jitter 0.5 (so every retry delay is exactly its base). */
function ctxOf(overrides: Partial<DecisionContext> = {}): DecisionContext {
  return { policy, webhookAlive: false, webhookOrder: null, random: 0.5, ...overrides };
}

// Event factories: one per event type, with defaults a test overrides only where it matters.
const ev = {
  started: (atMs: number, check: IntentCheck = PRICED): OrderEvent => ({ type: 'job_started', atMs, check }),
  /** What the balance gate answers `reserve_funds`; the cost it was asked for defaults to the catalog's (PRICED). */
  reserved: (atMs: number, cost: number | null = COST): OrderEvent => ({ type: 'funds_reserved', atMs, cost }),
  short: (atMs: number, limit: FundsLimit = 'balance', cost: number | null = COST): OrderEvent => ({ type: 'funds_short', atMs, limit, cost }),
  created: (atMs: number, o: Order = order()): OrderEvent => ({ type: 'create_succeeded', atMs, order: o }),
  /** A create rejection; `provable` as classifyFailure would say for that message. */
  rejected: (
    atMs: number,
    code: CreateRejectionCode = 'validation_error',
    message = 'quantity: must be between 1 and 10',
  ): OrderEvent => ({ type: 'create_rejected', atMs, code, message, provable: code === 'validation_error' && isRequestRejection(message) }),
  ambiguous: (atMs: number, message = 'create answered 503 service_unavailable (the order may have been placed)'): OrderEvent => ({
    type: 'create_ambiguous',
    atMs,
    message,
  }),
  observed: (atMs: number, o: Order = order('processing')): OrderEvent => ({ type: 'order_observed', atMs, order: o }),
  notFound: (atMs: number): OrderEvent => ({ type: 'order_not_found', atMs }),
  failed: (atMs: number, call: ApiCall, code: CallFailureCode = 'transient', message = `${call} answered 503`): OrderEvent => ({
    type: 'call_failed',
    atMs,
    call,
    code,
    message,
  }),
  rateLimited: (atMs: number, call: ApiCall, retryAfterMs: number | null = 2 * SECOND): OrderEvent => ({ type: 'rate_limited', atMs, call, retryAfterMs }),
  keyRefused: (atMs: number, call: ApiCall): OrderEvent => ({
    type: 'key_refused',
    atMs,
    call,
    code: 'invalid_credentials',
    message: 'API key rejected (token answered 401)',
  }),
  webhook: (atMs: number, o: Order = order('completed')): OrderEvent => ({ type: 'webhook_received', atMs, order: o }),
  emitted: (atMs: number): OrderEvent => ({ type: 'result_emitted', atMs }),
  resolve: (atMs: number, orderId: string = ORDER_ID): OrderEvent => ({ type: 'resolve_requested', atMs, orderId }),
};

// State factories: one per phase, shaped like the states the machine itself produces.
const states: Record<Phase, () => OrderState> = {
  received: () => ({ ...initialState(intent, T0), cost: COST }),
  waiting_funds: () => ({ ...states.received(), phase: 'waiting_funds', fundsWaitSinceMs: FUNDS_SINCE, fundsLimit: 'balance' }),
  placing: () => ({ ...states.received(), phase: 'placing', attempts: 1, firstAttemptAtMs: FIRST_ATTEMPT_AT }),
  ambiguous: () => ({
    ...states.placing(),
    phase: 'ambiguous',
    maybeLanded: true,
    maybeLandedAtMs: MAYBE_LANDED_AT,
    lastMaybeLandedAtMs: MAYBE_LANDED_AT,
    failures: 1,
  }),
  placed: () => ({ ...states.placing(), phase: 'placed', orderId: ORDER_ID, placedAtMs: PLACED_AT }),
  // The first attempt and its retry were both answered ambiguously; a third was answered duplicate.
  awaiting_webhook: () => ({ ...states.ambiguous(), phase: 'awaiting_webhook', attempts: 3, lastMaybeLandedAtMs: LAST_MAYBE_LANDED_AT, failures: 2 }),
  done: () => {
    const placed = states.placed();
    return { ...placed, phase: 'done', result: resultFromOrder(placed, order('completed'), 'poll', DECIDED_AT) };
  },
};

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

/** One decision. Frozen input: a decision that mutated its state or event would throw (ESM is strict mode). */
function step(state: OrderState, event: OrderEvent, ctx: DecisionContext = ctxOf()): Decision {
  return decide(deepFreeze(state), deepFreeze(event), ctx);
}

/** Feeds the events in order; returns every decision. */
function run(start: OrderState, events: readonly OrderEvent[], ctx: DecisionContext = ctxOf()): Decision[] {
  const decisions: Decision[] = [];
  let state = start;
  for (const event of events) {
    const decision = step(state, event, ctx);
    decisions.push(decision);
    state = decision.state;
  }
  return decisions;
}

function lastOf(decisions: readonly Decision[]): Decision {
  const decision = decisions[decisions.length - 1];
  if (decision === undefined) throw new Error('no decision');
  return decision;
}

/** The state reached after the events. */
const reach = (start: OrderState, events: readonly OrderEvent[], ctx?: DecisionContext): OrderState => lastOf(run(start, events, ctx)).state;

function resultOf(decision: Decision): OrderResult {
  expect(decision.state.phase).toBe('done');
  const { result } = decision.state;
  if (result === null) throw new Error('a done state must carry its result');
  return result;
}

/** When a done state's result was decided (its resolved_at), epoch ms. */
function decidedAtOf(state: OrderState): number {
  if (state.result === null) throw new Error('a done state must carry its result');
  return Date.parse(state.result.resolved_at);
}

function waitOf(decision: Decision): Extract<Action, { kind: 'wait' }> {
  if (decision.action.kind !== 'wait') throw new Error(`expected a wait, got ${decision.action.kind}`);
  return decision.action;
}

const notice = (n: Notice): Effect => ({ kind: 'notice', notice: n });
const noticesOf = (effects: readonly Effect[]): Notice[] => effects.flatMap((e) => (e.kind === 'notice' ? [e.notice] : []));

// ---------------------------------------------------------------------------------------------
// 1. The exhaustive table: every event type in every phase.
// ---------------------------------------------------------------------------------------------

/** Every phase and every event type, as the keys of a Record: tsc refuses a missing one. */
const PHASE_KEYS: Record<Phase, true> = {
  received: true,
  waiting_funds: true,
  placing: true,
  ambiguous: true,
  placed: true,
  awaiting_webhook: true,
  done: true,
};
const EVENT_KEYS: Record<OrderEventType, true> = {
  job_started: true,
  funds_reserved: true,
  funds_short: true,
  create_succeeded: true,
  create_rejected: true,
  create_ambiguous: true,
  order_observed: true,
  order_not_found: true,
  call_failed: true,
  rate_limited: true,
  key_refused: true,
  webhook_received: true,
  result_emitted: true,
  resolve_requested: true,
};
const PHASES = Object.keys(PHASE_KEYS) as Phase[];
const EVENT_TYPES = Object.keys(EVENT_KEYS) as OrderEventType[];

/** The call a table event that names one names: the one the phase asks for (its outcome then fits where it can). */
const CALL_OF: Record<Phase, ApiCall> = {
  received: 'balance',
  waiting_funds: 'balance',
  placing: 'create',
  ambiguous: 'create',
  placed: 'lookup',
  awaiting_webhook: 'lookup',
  done: 'lookup',
};

/** The event each table row sends. */
function tableEvent(type: OrderEventType, phase: Phase): OrderEvent {
  const call = CALL_OF[phase];
  switch (type) {
    case 'job_started':
      return ev.started(AT);
    case 'funds_reserved':
      return ev.reserved(AT);
    case 'funds_short':
      return ev.short(AT, 'balance');
    case 'create_succeeded':
      return ev.created(AT, order('pending'));
    case 'create_rejected':
      return ev.rejected(AT, 'validation_error', 'quantity: must be between 1 and 10');
    case 'create_ambiguous':
      return ev.ambiguous(AT);
    case 'order_observed':
      return ev.observed(AT, order('processing'));
    case 'order_not_found':
      return ev.notFound(AT);
    case 'call_failed':
      return ev.failed(AT, call);
    case 'rate_limited':
      return ev.rateLimited(AT, call);
    case 'key_refused':
      return ev.keyRefused(AT, call);
    case 'webhook_received':
      return ev.webhook(AT, order('completed'));
    case 'result_emitted':
      return ev.emitted(AT);
    case 'resolve_requested':
      return ev.resolve(AT);
  }
}

/** Fields a row expects to change. */
type StatePatch = Partial<Omit<OrderState, 'phase' | 'result'>>;

type Outcome =
  /** The event does not fit: `restart`, the very same state, no effects. */
  | { restart: true }
  | {
      phase: Phase;
      /** Matched with toMatchObject (an emitted or finished result is checked to be the state's). */
      action: Partial<Action> & { kind: Action['kind'] };
      /** Fields that change; every other field must be carried over unchanged. */
      patch?: StatePatch;
      /** The very same state object comes back (nothing to persist). */
      same?: true;
      /** For a newly done state. */
      result?: Partial<OrderResult>;
      /** The action's result is the state's resolution (not its result). */
      resolution?: true;
      /** Exactly these effects, in this order (none when omitted). */
      effects?: Effect[];
    };

interface Row {
  does: string;
  then: Outcome;
}

const RESTART: Row = { does: 'does not fit: restart with the state unchanged', then: { restart: true } };

const rejectedAsDuplicate: Row = {
  does: 'is a terminal webhook before any attempt: rejected duplicate_merchant_order_id (never adopted)',
  then: {
    phase: 'done',
    action: { kind: 'emit' },
    result: {
      status: 'rejected',
      error: 'duplicate_merchant_order_id',
      error_message: `an order with this merchant_order_id (${ORDER_ID}) existed before this system placed one`,
      order_id: null,
      source: 'worker',
      resolved_at: iso(AT),
    },
  },
};
const completedByWebhook: Row = {
  does: 'is decided from the webhook: completed, with its order id',
  then: {
    phase: 'done',
    action: { kind: 'emit' },
    patch: { orderId: ORDER_ID },
    result: { status: 'completed', source: 'webhook', order_id: ORDER_ID, codes: ['CODE-1', 'CODE-2'], price: COST, resolved_at: iso(AT) },
  },
};
const reserveAgain: Row = {
  does: 'checks the intent (priced within max_price) and asks to reserve its cost',
  then: { phase: 'received', action: { kind: 'reserve_funds', cost: COST }, same: true },
};
const firstAttempt: Row = {
  does: 'records the first attempt (placing) and sends the create',
  then: { phase: 'placing', action: { kind: 'create', request: REQUEST }, patch: { attempts: 1, firstAttemptAtMs: AT } },
};
const balanceFailed: Row = {
  does: 'backs off after the failed balance call, counting the failure',
  then: {
    phase: 'received',
    action: { kind: 'wait', untilMs: AT + 500, reason: 'retry_after_failure' },
    patch: { failures: 1 },
    effects: [notice({ kind: 'call_failed', call: 'balance', code: 'transient', message: 'balance answered 503', failures: 1 })],
  },
};
const pauseFor = (call: ApiCall, reason: 'rate_limited' | 'key_refused', phase: Phase, patch?: StatePatch): Row => ({
  does: `pauses the fleet (${reason})${patch ? ' and counts the create as not sent' : ', nothing changes'}`,
  then: {
    phase,
    action: reason === 'rate_limited' ? { kind: 'pause_fleet', ms: 2 * SECOND, reason } : { kind: 'pause_fleet', ms: policy.authFailurePauseMs, reason },
    ...(patch ? { patch } : { same: true }),
    effects: [
      reason === 'rate_limited'
        ? notice({ kind: 'rate_limited', call, pauseMs: 2 * SECOND })
        : notice({ kind: 'key_refused', call, code: 'invalid_credentials', message: 'API key rejected (token answered 401)' }),
    ],
  },
});
const notFinished: Row = {
  does: 'refuses a resolve request: the order has no result yet (nothing changes)',
  then: { phase: 'placed', action: { kind: 'refuse_resolution', reason: 'not_finished' }, same: true },
};
const refusedWhile = (phase: Phase): Row => ({ ...notFinished, then: { phase, action: { kind: 'refuse_resolution', reason: 'not_finished' }, same: true } });
const emitAgain: Row = {
  does: 'emits the stored result: its decider had EMIT_GRACE_MS to and did not (emitting is idempotent)',
  then: { phase: 'done', action: { kind: 'emit' }, same: true },
};

const table: Record<Phase, Record<OrderEventType, Row>> = {
  received: {
    job_started: reserveAgain,
    funds_reserved: firstAttempt,
    funds_short: {
      does: 'starts waiting for funds, says so once, and checks again in 1 s',
      then: {
        phase: 'waiting_funds',
        action: { kind: 'wait', untilMs: AT + SECOND, reason: 'funds' },
        patch: { fundsWaitSinceMs: AT, fundsLimit: 'balance' },
        effects: [notice({ kind: 'funds_short', limit: 'balance', cost: COST })],
      },
    },
    create_succeeded: RESTART,
    create_rejected: RESTART,
    create_ambiguous: RESTART,
    order_observed: RESTART,
    order_not_found: RESTART,
    call_failed: balanceFailed,
    rate_limited: pauseFor('balance', 'rate_limited', 'received'),
    key_refused: pauseFor('balance', 'key_refused', 'received'),
    webhook_received: rejectedAsDuplicate,
    result_emitted: RESTART,
    resolve_requested: refusedWhile('received'),
  },
  waiting_funds: {
    job_started: { ...reserveAgain, then: { ...reserveAgain.then, phase: 'waiting_funds' } },
    funds_reserved: firstAttempt,
    funds_short: {
      does: 'keeps waiting from the first shortage, silently, and checks again after as long as it has waited',
      then: { phase: 'waiting_funds', action: { kind: 'wait', untilMs: AT + (AT - FUNDS_SINCE), reason: 'funds' } },
    },
    create_succeeded: RESTART,
    create_rejected: RESTART,
    create_ambiguous: RESTART,
    order_observed: RESTART,
    order_not_found: RESTART,
    call_failed: { ...balanceFailed, then: { ...balanceFailed.then, phase: 'waiting_funds' } },
    rate_limited: pauseFor('balance', 'rate_limited', 'waiting_funds'),
    key_refused: pauseFor('balance', 'key_refused', 'waiting_funds'),
    webhook_received: rejectedAsDuplicate,
    result_emitted: RESTART,
    resolve_requested: refusedWhile('waiting_funds'),
  },
  placing: {
    job_started: {
      does: 'finds the previous run died mid-POST: marks the order maybe-landed from now and, before the cutoff, sends the create again',
      then: {
        phase: 'placing',
        action: { kind: 'create', request: REQUEST },
        patch: { attempts: 2, maybeLanded: true, maybeLandedAtMs: AT, lastMaybeLandedAtMs: AT },
      },
    },
    funds_reserved: RESTART,
    funds_short: RESTART,
    create_succeeded: {
      does: 'learns the order id (placed) and polls first after pollInitialDelayMs',
      then: {
        phase: 'placed',
        action: { kind: 'wait', untilMs: AT + policy.pollInitialDelayMs, reason: 'order_in_progress' },
        patch: { orderId: ORDER_ID, placedAtMs: AT },
        effects: [notice({ kind: 'order_placed', orderId: ORDER_ID })],
      },
    },
    create_rejected: {
      does: 'is rejected at once with the API’s reason',
      then: {
        phase: 'done',
        action: { kind: 'emit' },
        result: { status: 'rejected', error: 'validation_error', error_message: 'quantity: must be between 1 and 10', order_id: null, source: 'worker' },
      },
    },
    create_ambiguous: {
      does: 'marks the order maybe-landed (ambiguous) from now and, before the cutoff, retries after the first backoff',
      then: {
        phase: 'ambiguous',
        action: { kind: 'wait', untilMs: AT + 500, reason: 'retry_ambiguous_create' },
        patch: { maybeLanded: true, maybeLandedAtMs: AT, lastMaybeLandedAtMs: AT, failures: 1 },
        effects: [notice({ kind: 'create_ambiguous', attempt: 1, message: 'create answered 503 service_unavailable (the order may have been placed)' })],
      },
    },
    order_observed: RESTART,
    order_not_found: RESTART,
    call_failed: {
      does: 'counts the create as not sent (back to received) and backs off',
      then: {
        phase: 'received',
        action: { kind: 'wait', untilMs: AT + 500, reason: 'retry_after_failure' },
        patch: { failures: 1 },
        effects: [notice({ kind: 'call_failed', call: 'create', code: 'transient', message: 'create answered 503', failures: 1 })],
      },
    },
    rate_limited: pauseFor('create', 'rate_limited', 'received', {}),
    key_refused: pauseFor('create', 'key_refused', 'received', {}),
    webhook_received: completedByWebhook,
    result_emitted: RESTART,
    resolve_requested: refusedWhile('placing'),
  },
  ambiguous: {
    job_started: {
      does: 'before the cutoff, retries the create with the same merchant_order_id, keeping when it first and last may have landed',
      then: { phase: 'placing', action: { kind: 'create', request: REQUEST }, patch: { attempts: 2 } },
    },
    funds_reserved: RESTART,
    funds_short: RESTART,
    create_succeeded: RESTART,
    create_rejected: RESTART,
    create_ambiguous: RESTART,
    order_observed: RESTART,
    order_not_found: RESTART,
    call_failed: RESTART,
    rate_limited: RESTART,
    key_refused: RESTART,
    webhook_received: completedByWebhook,
    result_emitted: RESTART,
    resolve_requested: refusedWhile('ambiguous'),
  },
  placed: {
    job_started: { does: 'looks the order up', then: { phase: 'placed', action: { kind: 'lookup', orderId: ORDER_ID }, same: true } },
    funds_reserved: RESTART,
    funds_short: RESTART,
    create_succeeded: RESTART,
    create_rejected: RESTART,
    create_ambiguous: RESTART,
    order_observed: {
      does: 'sees it still in progress and polls again after as long as it has been placed',
      then: { phase: 'placed', action: { kind: 'wait', untilMs: AT + (AT - PLACED_AT), reason: 'order_in_progress' } },
    },
    order_not_found: {
      does: 'backs off like any failure, counting it',
      then: {
        phase: 'placed',
        action: { kind: 'wait', untilMs: AT + 500, reason: 'retry_after_failure' },
        patch: { failures: 1 },
        effects: [notice({ kind: 'call_failed', call: 'lookup', code: 'not_found', message: 'the lookup answered 404 for a placed order', failures: 1 })],
      },
    },
    call_failed: {
      does: 'backs off after the failed lookup, counting it',
      then: {
        phase: 'placed',
        action: { kind: 'wait', untilMs: AT + 500, reason: 'retry_after_failure' },
        patch: { failures: 1 },
        effects: [notice({ kind: 'call_failed', call: 'lookup', code: 'transient', message: 'lookup answered 503', failures: 1 })],
      },
    },
    rate_limited: pauseFor('lookup', 'rate_limited', 'placed'),
    key_refused: pauseFor('lookup', 'key_refused', 'placed'),
    webhook_received: completedByWebhook,
    result_emitted: RESTART,
    resolve_requested: refusedWhile('placed'),
  },
  awaiting_webhook: {
    job_started: {
      does: 'keeps waiting for the webhook until the deadline counted from when the latest attempt may have landed',
      then: {
        phase: 'awaiting_webhook',
        action: { kind: 'wait', untilMs: LAST_MAYBE_LANDED_AT + policy.resolveTimeoutMs, reason: 'awaiting_webhook' },
        same: true,
      },
    },
    funds_reserved: RESTART,
    funds_short: RESTART,
    create_succeeded: RESTART,
    create_rejected: RESTART,
    create_ambiguous: RESTART,
    order_observed: RESTART,
    order_not_found: RESTART,
    call_failed: RESTART,
    rate_limited: RESTART,
    key_refused: RESTART,
    webhook_received: completedByWebhook,
    result_emitted: RESTART,
    resolve_requested: refusedWhile('awaiting_webhook'),
  },
  done: {
    job_started: emitAgain,
    funds_reserved: emitAgain,
    funds_short: emitAgain,
    create_succeeded: emitAgain,
    create_rejected: emitAgain,
    create_ambiguous: emitAgain,
    order_observed: emitAgain,
    order_not_found: emitAgain,
    call_failed: emitAgain,
    rate_limited: emitAgain,
    key_refused: emitAgain,
    webhook_received: emitAgain,
    result_emitted: {
      does: 'marks the result emitted, gives back the refund (none for a completed order) and finishes',
      then: { phase: 'done', action: { kind: 'finish' }, patch: { emitted: true }, effects: [{ kind: 'release_funds', balance: 0, spend: 0 }, CLOSE_JOB] },
    },
    resolve_requested: {
      does: 'refuses a resolve request: the result is completed, not unresolved (nothing changes)',
      then: { phase: 'done', action: { kind: 'refuse_resolution', reason: 'not_unresolved' }, same: true },
    },
  },
};

function expectOutcome(before: OrderState, decision: Decision, then: Outcome): void {
  if ('restart' in then) {
    expect(decision.action.kind).toBe('restart');
    expect(decision.state).toBe(before);
    expect(decision.effects).toEqual([]);
    return;
  }
  expect(decision.action).toMatchObject(then.action);
  expect(decision.effects).toEqual(then.effects ?? []);
  if (then.same) expect(decision.state).toBe(before);
  // Every field not named in the row is carried over unchanged.
  const { result: resultAfter, ...restAfter } = decision.state;
  const { result: resultBefore, ...restBefore } = before;
  expect(restAfter).toEqual({ ...restBefore, ...then.patch, phase: then.phase });
  if (then.phase !== 'done') {
    expect(resultAfter).toBeNull();
    return;
  }
  expect(resultAfter).not.toBeNull();
  if (resultBefore !== null) expect(resultAfter).toBe(resultBefore);
  expect(resultAfter).toMatchObject({ merchant_order_id: MID, ...then.result });
  if (decision.action.kind === 'emit' || decision.action.kind === 'finish') {
    const { resolution } = decision.state;
    expect(decision.action.result).toBe(then.resolution && resolution?.kind === 'resolved' ? resolution.result : resultAfter);
  }
}

describe('decide: every event type in every phase', () => {
  it('has a row for every (phase, event type) pair', () => {
    const pairs = PHASES.flatMap((phase) => EVENT_TYPES.map((type) => `${phase} × ${type}`));
    const rows = Object.entries(table).flatMap(([phase, byType]) => Object.keys(byType).map((type) => `${phase} × ${type}`));
    expect(PHASES).toHaveLength(7);
    expect(EVENT_TYPES).toHaveLength(14);
    expect(rows.sort()).toEqual(pairs.sort());
  });

  for (const phase of PHASES) {
    describe(`in phase ${phase}`, () => {
      for (const type of EVENT_TYPES) {
        const row = table[phase][type];
        it(`on ${type} ${row.does}`, () => {
          const before = states[phase]();
          const snapshot = structuredClone(before);
          const decision = step(before, tableEvent(type, phase));
          expectOutcome(before, decision, row.then);
          expect(before).toEqual(snapshot);
        });
      }
    });
  }

  describe('once the result is emitted', () => {
    // A resolve request is answered, not settled: refused, as the completed row says.
    for (const type of EVENT_TYPES.filter((t) => t !== 'resolve_requested')) {
      it(`on ${type} finishes with the stored result, releasing nothing again`, () => {
        const before: OrderState = { ...states.done(), emitted: true };
        const decision = step(before, tableEvent(type, 'done'));
        expect(decision.state).toBe(before);
        expect(decision.effects).toEqual([]);
        expect(decision.action).toEqual({ kind: 'finish', result: before.result });
      });
    }
  });

  describe('an API call outcome fits only the phase that asked for that call', () => {
    const asks: Record<ApiCall, readonly Phase[]> = {
      balance: ['received', 'waiting_funds'],
      create: ['placing'],
      lookup: ['placed'],
    };
    for (const call of ['balance', 'create', 'lookup'] as const) {
      for (const phase of PHASES.filter((p) => p !== 'done')) {
        const fits = asks[call].includes(phase);
        it(`${call} outcomes in ${phase} ${fits ? 'are decided' : 'restart'}`, () => {
          for (const event of [ev.failed(AT, call), ev.rateLimited(AT, call), ev.keyRefused(AT, call)]) {
            const before = states[phase]();
            const decision = step(before, event);
            if (fits) {
              expect(decision.action.kind, event.type).not.toBe('restart');
            } else {
              expect(decision.action.kind, event.type).toBe('restart');
              expect(decision.state, event.type).toBe(before);
            }
          }
        });
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------
// 1b. The done phase's resolution sub-states: every event type in each.
// ---------------------------------------------------------------------------------------------

/** When the unresolved fixture's result was decided, when its resolve was requested, when its resolution was decided. */
const UNRESOLVED_AT = T0 + 5 * SECOND;
const REQUESTED_AT = T0 + 10 * SECOND;
const RESOLVED_AT = T0 + 10 * SECOND;

/**
 * The sub-states of a done order whose `unresolved` result is emitted: nothing since (`unresolved`),
 * an operator's resolve request looking the order up (`requested`), a resolution decided but not yet
 * recorded as emitted (`resolved`). AT is past the resolution's EMIT_GRACE_MS.
 */
type ResolutionSituation = 'unresolved' | 'requested' | 'resolved';
const SITUATION_KEYS: Record<ResolutionSituation, true> = { unresolved: true, requested: true, resolved: true };
const SITUATIONS = Object.keys(SITUATION_KEYS) as ResolutionSituation[];

const unresolvedDone = (): OrderState => {
  const waiting = states.awaiting_webhook();
  const result = workerResult(waiting, 'unresolved', 'unresolved', 'an order may exist', UNRESOLVED_AT);
  return { ...waiting, phase: 'done', result, emitted: true };
};
/** The resolution the table's completed webhook (or lookup) decides at AT. */
const resolutionAt = (atMs: number, source: 'webhook' | 'poll'): OrderResult => resolutionFromOrder(unresolvedDone(), order('completed'), source, atMs);
const situations: Record<ResolutionSituation, () => OrderState> = {
  unresolved: unresolvedDone,
  requested: () => ({ ...unresolvedDone(), resolution: { kind: 'requested', orderId: ORDER_ID, requestedAtMs: REQUESTED_AT, failures: 0 } }),
  resolved: () => ({ ...unresolvedDone(), orderId: ORDER_ID, resolution: { kind: 'resolved', result: resolutionAt(RESOLVED_AT, 'webhook'), emitted: false } }),
};

const finishOriginal: Row = {
  does: 'changes nothing and finishes with the stored unresolved result',
  then: { phase: 'done', action: { kind: 'finish' }, same: true },
};
const resolvedByWebhook: Row = {
  does: 'decides the one resolution from the late webhook: completed, resolving the unresolved result, emitted under its own job id',
  then: {
    phase: 'done',
    action: { kind: 'emit' },
    resolution: true,
    patch: { orderId: ORDER_ID, resolution: { kind: 'resolved', result: resolutionAt(AT, 'webhook'), emitted: false } },
  },
};
const emitResolution: Row = {
  does: 'emits the decided resolution: its decider had EMIT_GRACE_MS to and did not (idempotent)',
  then: { phase: 'done', action: { kind: 'emit' }, resolution: true, same: true },
};
const resolutionLookup: Row = {
  does: 'starts the operator’s request: records it and looks the named order up',
  then: {
    phase: 'done',
    action: { kind: 'lookup', orderId: ORDER_ID },
    patch: { resolution: { kind: 'requested', orderId: ORDER_ID, requestedAtMs: AT, failures: 0 } },
  },
};

const resolutionTable: Record<ResolutionSituation, Record<OrderEventType, Row>> = {
  unresolved: {
    job_started: finishOriginal,
    funds_reserved: finishOriginal,
    funds_short: finishOriginal,
    create_succeeded: finishOriginal,
    create_rejected: finishOriginal,
    create_ambiguous: finishOriginal,
    order_observed: { ...finishOriginal, does: 'changes nothing: no lookup was asked for' },
    order_not_found: finishOriginal,
    call_failed: finishOriginal,
    rate_limited: finishOriginal,
    key_refused: finishOriginal,
    webhook_received: resolvedByWebhook,
    result_emitted: finishOriginal,
    resolve_requested: resolutionLookup,
  },
  requested: {
    job_started: finishOriginal,
    funds_reserved: finishOriginal,
    funds_short: finishOriginal,
    create_succeeded: finishOriginal,
    create_rejected: finishOriginal,
    create_ambiguous: finishOriginal,
    order_observed: {
      does: 'sees the named order still in progress and looks again after as long as the request has waited',
      then: { phase: 'done', action: { kind: 'wait', untilMs: AT + (AT - REQUESTED_AT), reason: 'resolution_in_progress' }, same: true },
    },
    order_not_found: {
      does: 'refuses the request: the API does not know the order id (the request is dropped)',
      then: { phase: 'done', action: { kind: 'refuse_resolution', reason: 'order_not_found' }, patch: { resolution: null } },
    },
    call_failed: {
      does: 'backs off after the failed lookup, counting it',
      then: {
        phase: 'done',
        action: { kind: 'wait', untilMs: AT + 500, reason: 'retry_after_failure' },
        patch: { resolution: { kind: 'requested', orderId: ORDER_ID, requestedAtMs: REQUESTED_AT, failures: 1 } },
        effects: [notice({ kind: 'call_failed', call: 'lookup', code: 'transient', message: 'lookup answered 503', failures: 1 })],
      },
    },
    rate_limited: pauseFor('lookup', 'rate_limited', 'done'),
    key_refused: pauseFor('lookup', 'key_refused', 'done'),
    webhook_received: resolvedByWebhook,
    result_emitted: finishOriginal,
    resolve_requested: {
      does: 'repeats the request for the same order id: looks it up again, nothing else changes',
      then: { phase: 'done', action: { kind: 'lookup', orderId: ORDER_ID }, same: true },
    },
  },
  resolved: {
    job_started: emitResolution,
    funds_reserved: emitResolution,
    funds_short: emitResolution,
    create_succeeded: emitResolution,
    create_rejected: emitResolution,
    create_ambiguous: emitResolution,
    order_observed: emitResolution,
    order_not_found: emitResolution,
    call_failed: emitResolution,
    rate_limited: emitResolution,
    key_refused: emitResolution,
    webhook_received: { ...emitResolution, does: 'decides no second resolution; emits the decided one (its decider had EMIT_GRACE_MS)' },
    result_emitted: {
      does: 'marks the resolution emitted and finishes with it, releasing nothing',
      then: {
        phase: 'done',
        action: { kind: 'finish' },
        resolution: true,
        patch: { resolution: { kind: 'resolved', result: resolutionAt(RESOLVED_AT, 'webhook'), emitted: true } },
      },
    },
    resolve_requested: { ...emitResolution, does: 'decides no second resolution; emits the decided one (its decider had EMIT_GRACE_MS)' },
  },
};

describe('decide: every event type in every resolution sub-state of an emitted unresolved result', () => {
  it('has a row for every (sub-state, event type) pair', () => {
    const pairs = SITUATIONS.flatMap((situation) => EVENT_TYPES.map((type) => `${situation} × ${type}`));
    const rows = Object.entries(resolutionTable).flatMap(([situation, byType]) => Object.keys(byType).map((type) => `${situation} × ${type}`));
    expect(rows.sort()).toEqual(pairs.sort());
  });

  for (const situation of SITUATIONS) {
    describe(`when ${situation}`, () => {
      for (const type of EVENT_TYPES) {
        const row = resolutionTable[situation][type];
        it(`on ${type} ${row.does}`, () => {
          const before = situations[situation]();
          const snapshot = structuredClone(before);
          const decision = step(before, tableEvent(type, 'placed'));
          expectOutcome(before, decision, row.then);
          expect(before).toEqual(snapshot);
        });
      }
    });
  }

  describe('once the resolution is emitted', () => {
    for (const type of EVENT_TYPES) {
      it(`on ${type} finishes with the resolution, deciding and releasing nothing`, () => {
        const resolved = situations.resolved();
        const before: OrderState = { ...resolved, resolution: { kind: 'resolved', result: resolutionAt(RESOLVED_AT, 'webhook'), emitted: true } };
        const decision = step(before, tableEvent(type, 'placed'));
        expect(decision.state).toBe(before);
        expect(decision.effects).toEqual([]);
        expect(decision.action).toEqual({ kind: 'finish', result: before.resolution?.kind === 'resolved' ? before.resolution.result : null });
      });
    }
  });
});

// ---------------------------------------------------------------------------------------------
// 2. Behaviour, rule by rule.
// ---------------------------------------------------------------------------------------------

/** A fresh order of `i`, as the handler claims it. */
const fresh = (i: Intent = intent): OrderState => initialState(i, T0);
/** The first attempt recorded at `at` (checked and reserved just before). */
const firstAttemptAt = (at: number, i: Intent = intent): OrderState => reach(fresh(i), [ev.started(at), ev.reserved(at)]);
/** Placed at `at`: the create answered pending. */
const placedAt = (at: number): OrderState => reach(firstAttemptAt(at), [ev.created(at)]);

describe('max_price: the money rules are applied before anything is sent', () => {
  const capped = (maxPrice: number): Intent => ({ ...intent, maxPrice });

  it('rejects price_exceeds_max when the catalog prices the order above max_price', () => {
    const decisions = run(fresh(capped(10)), [ev.started(T0 + SECOND, { kind: 'priced', cost: 18 })]);
    const decision = lastOf(decisions);
    expect(resultOf(decision)).toMatchObject({
      status: 'rejected',
      error: 'price_exceeds_max',
      error_message: 'the order costs 18, more than max_price 10',
      order_id: null,
      price: null,
      source: 'worker',
      resolved_at: iso(T0 + SECOND),
    });
    expect(decision.action.kind).toBe('emit');
    expect(decision.state.attempts).toBe(0);
  });

  it('lets an order priced exactly at max_price through to the funds gate', () => {
    expect(step(fresh(capped(18)), ev.started(T0, { kind: 'priced', cost: 18 })).action).toEqual({ kind: 'reserve_funds', cost: 18 });
  });

  it('rejects price_unverifiable, naming CATALOG_PATH, when max_price is set but no catalog price is known', () => {
    const result = resultOf(step(fresh(capped(10)), ev.started(T0, { kind: 'unpriced' })));
    expect(result).toMatchObject({ status: 'rejected', error: 'price_unverifiable', order_id: null, source: 'worker' });
    expect(result.error_message).toContain('CATALOG_PATH');
    expect(result.error_message).toContain('max_price 10');
    expect(result.error_message).toContain('item 4090');
  });

  it('reserves an unknown cost when the intent carries no max_price and no catalog is loaded', () => {
    const noMax: Intent = { merchantOrderId: MID, itemId: 4090, quantity: 2 };
    const decision = step(fresh(noMax), ev.started(T0, { kind: 'unpriced' }));
    expect(decision.action).toEqual({ kind: 'reserve_funds', cost: null });
    expect(decision.state.phase).toBe('received');
  });

  it('asks to reserve the catalog cost without a ledger write, and records the cost with the reservation', () => {
    const before = fresh();
    const decision = step(before, ev.started(T0, { kind: 'priced', cost: 12.5 }));
    // The same state object: the handler saves nothing before the reservation.
    expect(decision.state).toBe(before);
    expect(decision.action).toEqual({ kind: 'reserve_funds', cost: 12.5 });
    expect(step(decision.state, ev.reserved(T0, 12.5)).state).toMatchObject({ phase: 'placing', cost: 12.5 });
    expect(step(decision.state, ev.short(T0, 'balance', 12.5)).state).toMatchObject({ phase: 'waiting_funds', cost: 12.5 });
  });

  it('applies the rule again after a funds wait: a catalog that now prices it higher rejects it', () => {
    const waiting = reach(fresh(), [ev.started(T0), ev.short(T0)]);
    expect(waiting.phase).toBe('waiting_funds');
    const result = resultOf(step(waiting, ev.started(T0 + 5 * SECOND, { kind: 'priced', cost: 25 })));
    expect(result).toMatchObject({ status: 'rejected', error: 'price_exceeds_max' });
  });

  it('rejects an intent the catalog or the parser refuses, with its code and message', () => {
    const catalogSays = resultOf(step(fresh(), ev.started(T0, { kind: 'invalid', code: 'validation_error', message: 'item_id: no such item' })));
    expect(catalogSays).toMatchObject({ status: 'rejected', error: 'validation_error', error_message: 'item_id: no such item' });
    const parserSays = resultOf(
      step(fresh({ merchantOrderId: MID, itemId: null }), ev.started(T0, { kind: 'invalid', code: 'invalid_intent', message: 'item_id: expected an integer item id' })),
    );
    expect(parserSays).toMatchObject({ status: 'rejected', error: 'invalid_intent', item_id: null, quantity: null });
  });

  it('never sends anything for such an intent, whatever the job does afterwards, and gives back all the funds', () => {
    const rejecting: IntentCheck[] = [{ kind: 'priced', cost: 25 }, { kind: 'unpriced' }];
    for (const check of rejecting) {
      const decisions = run(fresh(), [ev.started(T0, check), ev.started(T0 + SECOND, check), ev.emitted(T0 + 2 * SECOND), ev.started(T0 + 3 * SECOND, check)]);
      for (const d of decisions) expect(['create', 'reserve_funds']).not.toContain(d.action.kind);
      expect(decisions[2]?.effects).toEqual([{ kind: 'release_funds', balance: 'all', spend: 'all' }, CLOSE_JOB]);
      expect(lastOf(decisions).action.kind).toBe('finish');
    }
  });
});

// -- The ambiguity matrix ---------------------------------------------------------------------

const create = (status: number, body: unknown): OrderEvent =>
  classifyFailure('create', businessCallError('create', { status, body, retryAfter: undefined } satisfies ApiAnswer, T0), T0);
const sentFailure = { code: 'ECONNRESET', timeoutEvent: undefined, connected: true, uploaded: true };

/** Every way an attempt may have landed without this system learning the outcome. */
const causes: { what: string; event: (at: number) => OrderEvent | 'rerun' }[] = [
  { what: 'a 503 on the create', event: (at) => ({ ...create(503, { code: 'service_unavailable', detail: 'Service temporarily unavailable.' }), atMs: at }) },
  { what: 'a 502 from a gateway on the create', event: (at) => ({ ...create(502, '<html>502 Bad Gateway</html>'), atMs: at }) },
  {
    what: 'a connection reset after the create was sent',
    event: (at) => classifyFailure('create', transportError('create', sentFailure, new Error('socket hang up')), at),
  },
  {
    what: 'a timeout after the create was sent',
    event: (at) =>
      classifyFailure('create', transportError('create', { ...sentFailure, code: 'ETIMEDOUT', timeoutEvent: 'request' }, new Error('timeout')), at),
  },
  // The ledger said `placing` when the job ran again: the answer was never recorded.
  { what: 'a worker killed mid-request', event: () => 'rerun' },
  { what: 'a Redis restart mid-request', event: () => 'rerun' },
];

/** Every kind of answer a retry can be rejected with, as the API answers it. */
const rejections: { what: string; status: number; body: unknown; provable: boolean; code: CreateRejectionCode }[] = [
  { what: 'an unknown item', status: 400, body: { code: 'validation_error', detail: 'item_id: no such item' }, provable: true, code: 'validation_error' },
  {
    what: 'a quantity out of range',
    status: 400,
    body: { code: 'validation_error', detail: 'quantity: must be between 1 and 10' },
    provable: true,
    code: 'validation_error',
  },
  { what: 'a missing field', status: 400, body: { code: 'validation_error', detail: 'fields.server: is required' }, provable: true, code: 'validation_error' },
  {
    what: 'a duplicate merchant_order_id',
    status: 400,
    body: { code: 'validation_error', detail: 'merchant_order_id: an order with this merchant_order_id already exists.' },
    provable: false,
    code: 'duplicate_merchant_order_id',
  },
  { what: 'a 409 already_exists', status: 409, body: { code: 'already_exists', detail: 'conflict' }, provable: false, code: 'duplicate_merchant_order_id' },
  {
    what: 'out of stock',
    status: 400,
    body: { code: 'validation_error', detail: 'item_id: item 7300 is out of stock' },
    provable: false,
    code: 'validation_error',
  },
  {
    what: 'insufficient_balance',
    status: 400,
    body: { code: 'insufficient_balance', detail: 'Insufficient balance.' },
    provable: false,
    code: 'insufficient_balance',
  },
  { what: 'an answer nobody classifies (404 on the create)', status: 404, body: { code: 'not_found', detail: 'Not found.' }, provable: false, code: 'unclassified' },
];

describe('the ambiguity matrix: every cause of ambiguity × every kind of rejection of the retry', () => {
  const FIRST_AT = T0 + SECOND;
  const LANDED_AT = T0 + 5 * SECOND;
  const RETRY_AT = T0 + 7 * SECOND;
  const REJECTED_AT = T0 + 8 * SECOND;
  const DEADLINE = LANDED_AT + policy.resolveTimeoutMs;

  /** From the first attempt to the retry's create: the state in flight and the decision that sent it. */
  function retryAfter(cause: (typeof causes)[number]): Decision {
    const placing = firstAttemptAt(FIRST_AT);
    const happened = cause.event(LANDED_AT);
    if (happened === 'rerun') {
      // The job runs again and finds its own attempt still `placing`.
      return step(placing, ev.started(LANDED_AT));
    }
    const ambiguous = step(placing, happened);
    expect(ambiguous.state).toMatchObject({ phase: 'ambiguous', maybeLanded: true, maybeLandedAtMs: LANDED_AT, lastMaybeLandedAtMs: LANDED_AT });
    expect(ambiguous.action).toEqual({ kind: 'wait', untilMs: LANDED_AT + 500, reason: 'retry_ambiguous_create' });
    return step(ambiguous.state, ev.started(RETRY_AT));
  }

  for (const cause of causes) {
    describe(`when the create may have landed because of ${cause.what}`, () => {
      it('retries with the same merchant_order_id, the order marked maybe-landed from then', () => {
        const retry = retryAfter(cause);
        expect(retry.action).toEqual({ kind: 'create', request: REQUEST });
        expect(retry.state).toMatchObject({
          phase: 'placing',
          attempts: 2,
          maybeLanded: true,
          maybeLandedAtMs: LANDED_AT,
          lastMaybeLandedAtMs: LANDED_AT,
          firstAttemptAtMs: FIRST_AT,
        });
        expect(retryCutoff(retry.state, policy)).toBe(DEADLINE);
        expect(resolveDeadline(retry.state, policy)).toBe(DEADLINE);
      });

      for (const rejection of rejections) {
        const event = (): OrderEvent => ({ ...create(rejection.status, rejection.body), atMs: REJECTED_AT });
        if (rejection.provable) {
          it(`rejects at once when the retry is answered with ${rejection.what}: the API blames a request field`, () => {
            const decision = step(retryAfter(cause).state, event());
            const detail = (rejection.body as { detail: string }).detail;
            expect(resultOf(decision)).toMatchObject({
              status: 'rejected',
              error: 'validation_error',
              error_message: detail,
              order_id: null,
              source: 'worker',
              resolved_at: iso(REJECTED_AT),
            });
            expect(decision.action.kind).toBe('emit');
          });
        } else {
          it(`waits for the webhook when the retry is answered with ${rejection.what}, then ends unresolved at the deadline`, () => {
            const waiting = step(retryAfter(cause).state, event());
            expect(waiting.state).toMatchObject({ phase: 'awaiting_webhook', result: null, orderId: null });
            expect(waiting.effects).toEqual([notice({ kind: 'awaiting_webhook', code: rejection.code })]);
            expect(waiting.action).toEqual({ kind: 'wait', untilMs: DEADLINE, reason: 'awaiting_webhook' });

            const early = step(waiting.state, ev.started(DEADLINE - 1));
            expect(early.action).toEqual({ kind: 'wait', untilMs: DEADLINE, reason: 'awaiting_webhook' });
            expect(early.state).toBe(waiting.state);

            const late = step(waiting.state, ev.started(DEADLINE));
            expect(resultOf(late)).toMatchObject({ status: 'unresolved', error: 'unresolved', order_id: null, source: 'worker', resolved_at: iso(DEADLINE) });
            expect(resultOf(late).error_message).toContain(`"${MID}"`);
          });

          it(`takes the webhook’s word when it arrives after a retry answered with ${rejection.what}`, () => {
            const waiting = step(retryAfter(cause).state, event());
            const done = step(waiting.state, ev.webhook(DEADLINE - SECOND, order('completed', { id: OTHER_ORDER_ID })));
            expect(resultOf(done)).toMatchObject({ status: 'completed', order_id: OTHER_ORDER_ID, source: 'webhook' });
          });
        }
      }
    });
  }

  describe('when nothing may have landed (a clean first attempt)', () => {
    const expectations: Record<string, (d: Decision) => void> = {
      'an unknown item': (d) => expect(resultOf(d)).toMatchObject({ status: 'rejected', error: 'validation_error', error_message: 'item_id: no such item' }),
      'a quantity out of range': (d) => expect(resultOf(d)).toMatchObject({ status: 'rejected', error: 'validation_error' }),
      'a missing field': (d) => expect(resultOf(d)).toMatchObject({ status: 'rejected', error: 'validation_error' }),
      'a duplicate merchant_order_id': (d) => expect(resultOf(d)).toMatchObject({ status: 'rejected', error: 'duplicate_merchant_order_id' }),
      'a 409 already_exists': (d) => expect(resultOf(d)).toMatchObject({ status: 'rejected', error: 'duplicate_merchant_order_id' }),
      'out of stock': (d) =>
        expect(resultOf(d)).toMatchObject({ status: 'rejected', error: 'validation_error', error_message: 'item_id: item 7300 is out of stock' }),
      insufficient_balance: (d) => expect(d.state.phase).toBe('waiting_funds'),
      'an answer nobody classifies (404 on the create)': (d) =>
        expect(resultOf(d)).toMatchObject({ status: 'rejected', error: 'api_rejected', error_message: expect.stringContaining('404') as unknown }),
    };
    for (const rejection of rejections) {
      it(`decides at once on ${rejection.what}: no earlier attempt can explain it`, () => {
        const check = expectations[rejection.what];
        if (check === undefined) throw new Error(`no expectation for ${rejection.what}`);
        check(step(firstAttemptAt(FIRST_AT), { ...create(rejection.status, rejection.body), atMs: REJECTED_AT }));
      });
    }
  });

  it('counts the deadline from when the attempt first may have landed, not from the first attempt', () => {
    // A first attempt refused with a 429 (nothing landed), a second one ambiguous much later.
    const firstAt = T0;
    const landedAt = T0 + 10 * MINUTE;
    const awaiting = reach(fresh(), [
      ev.started(firstAt),
      ev.reserved(firstAt),
      ev.rateLimited(firstAt, 'create'),
      ev.started(landedAt),
      ev.reserved(landedAt),
      ev.ambiguous(landedAt),
      ev.started(landedAt + SECOND),
      ev.rejected(landedAt + 2 * SECOND, 'duplicate_merchant_order_id', 'merchant_order_id: already exists'),
    ]);
    expect(awaiting).toMatchObject({ phase: 'awaiting_webhook', firstAttemptAtMs: firstAt, maybeLandedAtMs: landedAt, lastMaybeLandedAtMs: landedAt, attempts: 3 });
    expect(retryCutoff(awaiting, policy)).toBe(landedAt + policy.resolveTimeoutMs);
    expect(resolveDeadline(awaiting, policy)).toBe(landedAt + policy.resolveTimeoutMs);
    expect(step(awaiting, ev.started(landedAt + policy.resolveTimeoutMs - 1)).state.phase).toBe('awaiting_webhook');
    expect(resultOf(step(awaiting, ev.started(landedAt + policy.resolveTimeoutMs))).status).toBe('unresolved');
  });

  it('a retry rejected after the deadline ends unresolved at once', () => {
    const retry = retryAfter(causes[0] as (typeof causes)[number]);
    const late = step(retry.state, ev.rejected(DEADLINE + SECOND, 'duplicate_merchant_order_id', 'merchant_order_id: already exists'));
    expect(resultOf(late)).toMatchObject({ status: 'unresolved', resolved_at: iso(DEADLINE + SECOND) });
  });

  it('keeps retrying ambiguous creates until the retry cutoff, then gives the last attempt its whole window, then ends unresolved', () => {
    let decision = step(firstAttemptAt(T0), ev.ambiguous(T0));
    const cutoff = retryCutoff(decision.state, policy);
    expect(cutoff).toBe(T0 + policy.resolveTimeoutMs);
    const creates: number[] = [];
    let lastLandedAt = T0;
    while (decision.state.phase === 'ambiguous') {
      expect(decision.action).toMatchObject({ kind: 'wait', reason: 'retry_ambiguous_create' });
      const at = waitOf(decision).untilMs;
      const retry = step(decision.state, ev.started(at));
      if (retry.action.kind !== 'create') {
        decision = retry;
        break;
      }
      creates.push(at);
      lastLandedAt = at + 100;
      decision = step(retry.state, ev.ambiguous(lastLandedAt));
    }
    // Every create went out before the cutoff; once past it, the order waits for the webhook.
    expect(creates.length).toBeGreaterThan(3);
    for (const at of creates) expect(at).toBeLessThan(cutoff);
    expect(decision.state).toMatchObject({ phase: 'awaiting_webhook', maybeLandedAtMs: T0, lastMaybeLandedAtMs: lastLandedAt, result: null });
    expect(lastLandedAt).toBeGreaterThan(T0);
    const deadline = lastLandedAt + policy.resolveTimeoutMs;
    expect(resolveDeadline(decision.state, policy)).toBe(deadline);
    expect(deadline).toBeGreaterThan(cutoff);

    const early = step(decision.state, ev.started(deadline - 1));
    expect(early.action).toEqual({ kind: 'wait', untilMs: deadline, reason: 'awaiting_webhook' });
    expect(resultOf(step(decision.state, ev.started(deadline)))).toMatchObject({ status: 'unresolved', order_id: null, resolved_at: iso(deadline) });
  });

  it('a create refused before it was sent after a maybe-landed attempt goes back to ambiguous; past the cutoff, to the earlier attempt’s webhook', () => {
    const retry = retryAfter(causes[0] as (typeof causes)[number]);
    const refused = step(retry.state, ev.failed(REJECTED_AT, 'create', 'transient', 'create failed: ECONNREFUSED'));
    expect(refused.state).toMatchObject({ phase: 'ambiguous', maybeLanded: true, lastMaybeLandedAtMs: LANDED_AT });
    expect(refused.action).toMatchObject({ kind: 'wait', reason: 'retry_after_failure' });
    // Not sent, so nothing new may have landed: the window is still the earlier attempt's, already over here.
    const past = step(retry.state, ev.failed(DEADLINE, 'create', 'transient', 'create failed: ECONNREFUSED'));
    expect(past.state.lastMaybeLandedAtMs).toBe(LANDED_AT);
    expect(resultOf(past)).toMatchObject({ status: 'unresolved', resolved_at: iso(DEADLINE) });
  });
});

// -- The retry cutoff ---------------------------------------------------------------------------

describe('when the retry cutoff has passed', () => {
  // The first attempt may have landed at LANDED_AT (a 503): the cutoff is one resolveTimeoutMs later.
  // A retry sent just before it was answered ambiguously too, at LAST_LANDED_AT: its webhook gets a
  // whole resolveTimeoutMs of its own, so the order ends unresolved only at DEADLINE.
  const FIRST_AT = T0;
  const LANDED_AT = T0 + SECOND;
  const CUTOFF = LANDED_AT + policy.resolveTimeoutMs;
  const RETRY_AT = CUTOFF - 5 * SECOND;
  const LAST_LANDED_AT = CUTOFF - 2 * SECOND;
  const DEADLINE = LAST_LANDED_AT + policy.resolveTimeoutMs;

  /** The retry sent at RETRY_AT, its answer not yet recorded. */
  const lastRetry = (): OrderState => reach(firstAttemptAt(FIRST_AT), [ev.ambiguous(LANDED_AT), ev.started(RETRY_AT)]);
  /** That retry answered ambiguously at LAST_LANDED_AT: the order waits to retry once more. */
  const twiceLanded = (): OrderState => reach(lastRetry(), [ev.ambiguous(LAST_LANDED_AT)]);

  it('is fixed by the first attempt that may have landed; a later one moves only the deadline', () => {
    const state = twiceLanded();
    expect(state).toMatchObject({ phase: 'ambiguous', attempts: 2, maybeLandedAtMs: LANDED_AT, lastMaybeLandedAtMs: LAST_LANDED_AT });
    expect(retryCutoff(state, policy)).toBe(CUTOFF);
    expect(resolveDeadline(state, policy)).toBe(DEADLINE);
  });

  it('retries up to just before the cutoff, and sends no create at or after it: the job waits for the webhook instead', () => {
    expect(step(twiceLanded(), ev.started(CUTOFF - 1)).action).toEqual({ kind: 'create', request: REQUEST });
    for (const at of [CUTOFF, CUTOFF + 1, CUTOFF + 30 * SECOND]) {
      const d = step(twiceLanded(), ev.started(at));
      expect(d.state, `at cutoff + ${at - CUTOFF} ms`).toMatchObject({
        phase: 'awaiting_webhook',
        attempts: 2,
        maybeLandedAtMs: LANDED_AT,
        lastMaybeLandedAtMs: LAST_LANDED_AT,
        result: null,
      });
      expect(d.action).toEqual({ kind: 'wait', untilMs: DEADLINE, reason: 'awaiting_webhook' });
      expect(d.effects).toEqual([{ kind: 'notice', notice: { kind: 'awaiting_webhook', code: 'retry_cutoff' } }]);
    }
  });

  it('gives an attempt answered ambiguously at or after the cutoff a whole window for its webhook: no retry, never unresolved at once', () => {
    // However late the answer comes, even past the window of the first attempt that may have landed.
    for (const answeredAt of [CUTOFF, CUTOFF + 30 * SECOND, CUTOFF + policy.resolveTimeoutMs]) {
      const d = step(lastRetry(), ev.ambiguous(answeredAt));
      expect(d.state, `answered at cutoff + ${answeredAt - CUTOFF} ms`).toMatchObject({
        phase: 'awaiting_webhook',
        attempts: 2,
        failures: 2,
        maybeLanded: true,
        maybeLandedAtMs: LANDED_AT,
        lastMaybeLandedAtMs: answeredAt,
        result: null,
      });
      expect(resolveDeadline(d.state, policy)).toBe(answeredAt + policy.resolveTimeoutMs);
      expect(d.action).toEqual({ kind: 'wait', untilMs: answeredAt + policy.resolveTimeoutMs, reason: 'awaiting_webhook' });
    }
  });

  it('gives an attempt whose worker died mid-request the window from when the job finds it, past the cutoff, instead of retrying', () => {
    const foundAt = CUTOFF + 10 * SECOND;
    const d = step(lastRetry(), ev.started(foundAt));
    expect(d.state).toMatchObject({ phase: 'awaiting_webhook', attempts: 2, maybeLandedAtMs: LANDED_AT, lastMaybeLandedAtMs: foundAt });
    expect(d.action).toEqual({ kind: 'wait', untilMs: foundAt + policy.resolveTimeoutMs, reason: 'awaiting_webhook' });
    // A first attempt that dies counts as the first that may have landed: it is retried, however late it is found.
    const late = step(firstAttemptAt(FIRST_AT), ev.started(FIRST_AT + 2 * HOUR));
    expect(late.action).toEqual({ kind: 'create', request: REQUEST });
    expect(late.state).toMatchObject({ attempts: 2, maybeLandedAtMs: FIRST_AT + 2 * HOUR, lastMaybeLandedAtMs: FIRST_AT + 2 * HOUR });
  });

  it('waits for the earlier attempts’ webhook when a create is not sent at or after the cutoff (nothing new may have landed)', () => {
    const lastTry = step(twiceLanded(), ev.started(CUTOFF - 1)).state;
    const before = step(lastTry, ev.failed(CUTOFF - 1, 'create', 'transient', 'create failed: ECONNREFUSED'));
    expect(before.state.phase).toBe('ambiguous');
    expect(before.action).toMatchObject({ kind: 'wait', reason: 'retry_after_failure' });

    const refused = step(lastTry, ev.failed(CUTOFF, 'create', 'transient', 'create failed: ECONNREFUSED'));
    expect(refused.state).toMatchObject({ phase: 'awaiting_webhook', attempts: 3, failures: 3, lastMaybeLandedAtMs: LAST_LANDED_AT });
    expect(refused.action).toEqual({ kind: 'wait', untilMs: DEADLINE, reason: 'awaiting_webhook' });

    // A 429 pauses the fleet first; the job that runs after the pause waits for the webhook too.
    const limited = step(lastTry, ev.rateLimited(CUTOFF, 'create'));
    expect(limited.state.phase).toBe('ambiguous');
    const resumed = step(limited.state, ev.started(CUTOFF + 2 * SECOND));
    expect(resumed.state).toMatchObject({ phase: 'awaiting_webhook', attempts: 3, lastMaybeLandedAtMs: LAST_LANDED_AT });
    expect(resumed.action).toEqual({ kind: 'wait', untilMs: DEADLINE, reason: 'awaiting_webhook' });
  });

  it('then ends unresolved exactly when the last attempt’s window ends, checking at least every pollMaxDelayMs', () => {
    const ctx = ctxOf({ policy: testPolicy({ pollMaxDelayMs: 20 * SECOND }) });
    let d = step(twiceLanded(), ev.started(CUTOFF), ctx);
    const waits: number[] = [];
    while (d.state.phase !== 'done') {
      expect(d.action).toMatchObject({ kind: 'wait', reason: 'awaiting_webhook' });
      waits.push(waitOf(d).untilMs);
      d = step(d.state, ev.started(waitOf(d).untilMs), ctx);
    }
    expect(waits).toEqual([CUTOFF + 20 * SECOND, CUTOFF + 40 * SECOND, DEADLINE]);
    expect(resultOf(d)).toMatchObject({ status: 'unresolved', error: 'unresolved', order_id: null, source: 'worker', resolved_at: iso(DEADLINE) });
    expect(resultOf(d).error_message).toContain(`"${MID}"`);
    expect(d.state.attempts).toBe(2);

    const awaiting = step(twiceLanded(), ev.started(CUTOFF)).state;
    expect(step(awaiting, ev.started(DEADLINE - 1)).action).toEqual({ kind: 'wait', untilMs: DEADLINE, reason: 'awaiting_webhook' });
  });

  it('settles the order when a webhook arrives inside that window, up to its last millisecond', () => {
    const awaiting = step(twiceLanded(), ev.started(CUTOFF)).state;
    for (const at of [CUTOFF + 1, CUTOFF + policy.resolveTimeoutMs, DEADLINE - 1]) {
      const d = step(awaiting, ev.webhook(at, order('completed')));
      expect(resultOf(d), `at cutoff + ${at - CUTOFF} ms`).toMatchObject({ status: 'completed', source: 'webhook', order_id: ORDER_ID, resolved_at: iso(at) });
      expect(d.action).toEqual({ kind: 'emit', result: d.state.result });
    }
    // A webhook the receiver stored settles it as soon as the job looks.
    const stored = step(awaiting, ev.started(DEADLINE - 1), ctxOf({ webhookOrder: order('failed') }));
    expect(resultOf(stored)).toMatchObject({ status: 'failed', source: 'webhook', order_id: ORDER_ID, refund_amount: COST });
  });
});

// -- Backoff ----------------------------------------------------------------------------------

describe('consecutive-failure backoff', () => {
  /** The waits of `n` failures in a row, each arriving when the previous wait ends. */
  function failuresInARow(start: OrderState, n: number, failure: (at: number) => OrderEvent, again: (at: number) => OrderEvent, random = 0.5): Decision[] {
    const decisions: Decision[] = [];
    let state = start;
    let at = T0 + MINUTE;
    for (let i = 0; i < n; i++) {
      const d = step(state, failure(at), ctxOf({ random }));
      decisions.push(d);
      at = waitOf(d).untilMs;
      state = step(d.state, again(at)).state;
    }
    return decisions;
  }

  it('counts failed lookups up and doubles the wait from retryBaseDelayMs up to retryMaxDelayMs', () => {
    const ds = failuresInARow(placedAt(T0), 9, ev.notFound, ev.started);
    expect(ds.map((d) => d.state.failures)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const waits: number[] = [];
    let at = T0 + MINUTE;
    for (const d of ds) {
      waits.push(waitOf(d).untilMs - at);
      at = waitOf(d).untilMs;
    }
    expect(waits).toEqual([500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
  });

  it('jitters the capped wait by ±25 %', () => {
    const low = failuresInARow(placedAt(T0), 10, (at) => ev.failed(at, 'lookup'), ev.started, 0);
    const high = failuresInARow(placedAt(T0), 10, (at) => ev.failed(at, 'lookup'), ev.started, 0.999_999);
    const lastWait = (ds: Decision[]): number => {
      const prev = ds[ds.length - 2];
      if (prev === undefined) throw new Error('too few');
      return waitOf(lastOf(ds)).untilMs - waitOf(prev).untilMs;
    };
    expect(lastWait(low)).toBe(policy.retryMaxDelayMs * 0.75);
    expect(lastWait(high)).toBe(policy.retryMaxDelayMs * 1.25);
    for (const ds of [low, high]) {
      for (const d of ds) expect(d.action).toMatchObject({ kind: 'wait', reason: 'retry_after_failure' });
    }
    // The first wait is the base delay, jittered the same way.
    expect(waitOf(low[0] as Decision).untilMs - (T0 + MINUTE)).toBe(policy.retryBaseDelayMs * 0.75);
    expect(waitOf(high[0] as Decision).untilMs - (T0 + MINUTE)).toBe(policy.retryBaseDelayMs * 1.25);
  });

  it('resets to 0 when a lookup answers, so the next failure waits the base delay again', () => {
    const [, , third] = failuresInARow(placedAt(T0), 3, ev.notFound, ev.started);
    if (third === undefined) throw new Error('three failures expected');
    expect(third.state.failures).toBe(3);
    const at = waitOf(third).untilMs;
    const answered = step(third.state, ev.observed(at));
    expect(answered.state.failures).toBe(0);
    const again = step(answered.state, ev.notFound(at + 10));
    expect(again.state.failures).toBe(1);
    expect(waitOf(again).untilMs).toBe(at + 10 + policy.retryBaseDelayMs);
  });

  it('counts failed balance calls, and a balance answer (short) resets the count', () => {
    const ds = run(fresh(), [ev.started(T0), ev.failed(T0, 'balance'), ev.started(T0 + SECOND), ev.failed(T0 + SECOND, 'balance')]);
    expect(ds[1]?.state.failures).toBe(1);
    expect(lastOf(ds).state.failures).toBe(2);
    expect(waitOf(lastOf(ds)).untilMs).toBe(T0 + SECOND + 1_000);
    const short = step(lastOf(ds).state, ev.short(T0 + 2 * SECOND));
    expect(short.state).toMatchObject({ phase: 'waiting_funds', failures: 0 });
  });

  it('counts ambiguous creates: each ambiguous retry waits twice as long', () => {
    const ds = run(firstAttemptAt(T0), [ev.ambiguous(T0), ev.started(T0 + SECOND), ev.ambiguous(T0 + 2 * SECOND), ev.started(T0 + 4 * SECOND), ev.ambiguous(T0 + 5 * SECOND)]);
    expect([ds[0], ds[2], ds[4]].map((d) => d?.state.failures)).toEqual([1, 2, 3]);
    expect(waitOf(ds[0] as Decision).untilMs).toBe(T0 + 500);
    expect(waitOf(ds[2] as Decision).untilMs).toBe(T0 + 2 * SECOND + 1_000);
    expect(waitOf(ds[4] as Decision).untilMs).toBe(T0 + 5 * SECOND + 2_000);
  });

  it('counts creates that were not sent across the reservation in between (the gate reserves from a cached reading)', () => {
    const ds = run(firstAttemptAt(T0), [
      ev.failed(T0, 'create', 'transient', 'create failed: ECONNREFUSED'),
      ev.started(T0 + SECOND),
      ev.reserved(T0 + SECOND),
      ev.failed(T0 + SECOND, 'create', 'transient', 'create failed: ECONNREFUSED'),
    ]);
    expect(ds[0]?.state).toMatchObject({ phase: 'received', failures: 1, attempts: 1 });
    expect(lastOf(ds).state).toMatchObject({ phase: 'received', failures: 2, attempts: 2, maybeLanded: false });
    expect(waitOf(lastOf(ds)).untilMs).toBe(T0 + SECOND + 1_000);
  });

  it('resets to 0 when the create answers', () => {
    const ds = run(firstAttemptAt(T0), [ev.ambiguous(T0), ev.started(T0 + SECOND), ev.created(T0 + 2 * SECOND)]);
    expect(ds[0]?.state.failures).toBe(1);
    expect(lastOf(ds).state).toMatchObject({ phase: 'placed', failures: 0 });
  });
});

// -- A placed order that does not finish ------------------------------------------------------

describe('a placed order that stays in progress', () => {
  it('is polled with backoff: after pollInitialDelayMs, then as long as it has been placed, up to pollMaxDelayMs', () => {
    const placed = step(firstAttemptAt(T0), ev.created(T0));
    expect(waitOf(placed).untilMs).toBe(T0 + policy.pollInitialDelayMs);
    const waits: number[] = [];
    let state = placed.state;
    let at = waitOf(placed).untilMs;
    for (let i = 0; i < 12; i++) {
      const d = step(state, ev.observed(at));
      waits.push(waitOf(d).untilMs - at);
      state = d.state;
      at = waitOf(d).untilMs;
    }
    expect(waits).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000, 60_000, 60_000, 60_000]);
  });

  it('with a live webhook receiver, hands the order to its webhook, with a reminder (the safety-net poll) after pollWebhookDelayMs', () => {
    const alive = ctxOf({ webhookAlive: true });
    const placed = step(firstAttemptAt(T0), ev.created(T0), alive);
    expect(placed.action).toEqual({ kind: 'hand_off', untilMs: T0 + policy.pollWebhookDelayMs });
    expect(placed.state).toMatchObject({ phase: 'placed', remindAtMs: T0 + policy.pollWebhookDelayMs });
    // The reminder runs the job: it looks the order up, and hands off again while it is in progress.
    const rerun = step(placed.state, ev.started(T0 + policy.pollWebhookDelayMs), alive);
    expect(rerun.action).toEqual({ kind: 'lookup', orderId: ORDER_ID });
    const polled = step(rerun.state, ev.observed(T0 + policy.pollWebhookDelayMs), alive);
    expect(polled.action).toEqual({ kind: 'hand_off', untilMs: T0 + 2 * policy.pollWebhookDelayMs });
    expect(polled.state.remindAtMs).toBe(T0 + 2 * policy.pollWebhookDelayMs);
  });

  it('with handOff off (a Redis Cluster), parks the job even with a live receiver', () => {
    const placed = step(firstAttemptAt(T0), ev.created(T0), ctxOf({ webhookAlive: true, policy: { ...policy, handOff: false } }));
    expect(placed.action).toEqual({ kind: 'wait', untilMs: T0 + policy.pollWebhookDelayMs, reason: 'order_in_progress' });
    expect(placed.state.remindAtMs).toBeNull();
  });

  it('without a receiver, parks the job: the poll is how the order advances, and there is no reminder', () => {
    const placed = step(firstAttemptAt(T0), ev.created(T0), ctxOf({ webhookAlive: false }));
    expect(placed.action).toEqual({ kind: 'wait', untilMs: T0 + policy.pollInitialDelayMs, reason: 'order_in_progress' });
    expect(placed.state.remindAtMs).toBeNull();
  });

  it('once a handed-off order’s result is emitted, clears the reminder and closes no job (it completed at the hand-off)', () => {
    const alive = ctxOf({ webhookAlive: true });
    const handedOff = step(firstAttemptAt(T0), ev.created(T0), alive).state;
    const settled = step(handedOff, ev.webhook(T0 + SECOND, order('completed')), alive);
    expect(settled.state).toMatchObject({ phase: 'done', remindAtMs: T0 + policy.pollWebhookDelayMs });
    const emitted = step(settled.state, ev.emitted(T0 + SECOND), alive);
    expect(emitted.state).toMatchObject({ emitted: true, remindAtMs: null });
    expect(emitted.effects.map((e) => e.kind)).toEqual(['release_funds']);
    expect(emitted.action).toMatchObject({ kind: 'finish' });
  });

  it('is flagged stuck exactly once after orderStuckAfterMs, and still polled: no result is invented', () => {
    const placed = placedAt(T0);
    const before = step(placed, ev.observed(T0 + policy.orderStuckAfterMs - 1));
    expect(before.state.stuckSinceMs).toBeNull();
    expect(noticesOf(before.effects)).toEqual([]);

    const flagged = step(before.state, ev.observed(T0 + policy.orderStuckAfterMs));
    expect(flagged.state).toMatchObject({ phase: 'placed', stuckSinceMs: T0 + policy.orderStuckAfterMs, result: null });
    expect(flagged.effects).toEqual([notice({ kind: 'order_stuck', orderId: ORDER_ID, placedAtMs: T0 })]);
    expect(flagged.action).toEqual({ kind: 'wait', untilMs: T0 + policy.orderStuckAfterMs + policy.pollMaxDelayMs, reason: 'order_in_progress' });

    // Days later: still polled, never flagged again, never decided.
    let state = flagged.state;
    for (let at = T0 + 2 * HOUR; at < T0 + 72 * HOUR; at += 7 * HOUR) {
      const lookup = step(state, ev.started(at));
      expect(lookup.action).toEqual({ kind: 'lookup', orderId: ORDER_ID });
      const d = step(lookup.state, ev.observed(at, order('processing')));
      expect(d.state).toMatchObject({ phase: 'placed', stuckSinceMs: T0 + policy.orderStuckAfterMs });
      expect(noticesOf(d.effects)).toEqual([]);
      expect(d.action.kind).toBe('wait');
      state = d.state;
    }
    // And a terminal status still decides it.
    expect(resultOf(step(state, ev.observed(T0 + 80 * HOUR, order('completed'))))).toMatchObject({ status: 'completed', source: 'poll' });
  });

  it('when the lookup keeps answering 404 after the create: backs off and is flagged the same way, never decided', () => {
    let state = placedAt(T0);
    let at = T0 + SECOND;
    const stuckNotices: Notice[] = [];
    let maxWait = 0;
    while (at < T0 + 3 * policy.orderStuckAfterMs) {
      const d = step(state, ev.notFound(at));
      expect(d.state.phase).toBe('placed');
      expect(d.action).toMatchObject({ kind: 'wait', reason: 'retry_after_failure' });
      stuckNotices.push(...noticesOf(d.effects).filter((n) => n.kind === 'order_stuck'));
      if (at - T0 >= policy.orderStuckAfterMs) expect(d.state.stuckSinceMs).not.toBeNull();
      else expect(d.state.stuckSinceMs).toBeNull();
      maxWait = Math.max(maxWait, waitOf(d).untilMs - at);
      state = d.state;
      at = waitOf(d).untilMs;
    }
    expect(stuckNotices).toEqual([{ kind: 'order_stuck', orderId: ORDER_ID, placedAtMs: T0 }]);
    expect(maxWait).toBe(policy.retryMaxDelayMs);
  });

  it('never ends unresolved by a deadline of its own, however long its lookups fail', () => {
    let state = placedAt(T0);
    for (let at = T0 + MINUTE; at < T0 + 10 * 24 * HOUR; at += 3 * HOUR) {
      for (const event of [ev.failed(at, 'lookup'), ev.notFound(at + 1), ev.observed(at + 2), ev.started(at + 3)]) {
        const d = step(state, event);
        expect(d.state.phase).toBe('placed');
        state = d.state;
      }
    }
  });

  it('takes a lookup that answers another order for a failure, not for the order', () => {
    const d = step(placedAt(T0), ev.observed(T0 + SECOND, order('completed', { id: OTHER_ORDER_ID })));
    expect(d.state).toMatchObject({ phase: 'placed', failures: 1, orderId: ORDER_ID });
    expect(noticesOf(d.effects)).toEqual([expect.objectContaining({ kind: 'call_failed', code: 'unexpected_response' })]);
    const foreignMid = step(placedAt(T0), ev.observed(T0 + SECOND, order('completed', { merchantOrderId: OTHER_MID })));
    expect(foreignMid.state.phase).toBe('placed');
  });

  it('accepts a lookup answer that omits the merchant_order_id', () => {
    const d = step(placedAt(T0), ev.observed(T0 + SECOND, order('completed', { merchantOrderId: null })));
    expect(resultOf(d)).toMatchObject({ status: 'completed', order_id: ORDER_ID, source: 'poll' });
  });
});

// -- Funds ------------------------------------------------------------------------------------

describe('waiting for funds', () => {
  it('says so the first time, then silently rechecks after as long as it has waited (1..30 s)', () => {
    const ds = run(fresh(), [ev.started(T0), ev.short(T0), ev.started(T0 + SECOND), ev.short(T0 + SECOND), ev.started(T0 + 45 * SECOND), ev.short(T0 + 45 * SECOND)]);
    const shorts = [ds[1], ds[3], ds[5]] as Decision[];
    expect(shorts.map((d) => noticesOf(d.effects))).toEqual([[{ kind: 'funds_short', limit: 'balance', cost: COST }], [], []]);
    expect(shorts.map((d) => waitOf(d).untilMs)).toEqual([T0 + 1_000, T0 + SECOND + 1_000, T0 + 45 * SECOND + 30_000]);
    for (const d of shorts) expect(d.state).toMatchObject({ phase: 'waiting_funds', fundsWaitSinceMs: T0, fundsLimit: 'balance' });
  });

  it('says so again when the limit that keeps it waiting changes', () => {
    const ds = run(fresh(), [ev.short(T0, 'balance'), ev.short(T0 + SECOND, 'spend_limit'), ev.short(T0 + 2 * SECOND, 'spend_limit'), ev.short(T0 + 3 * SECOND, 'balance')]);
    expect(ds.map((d) => noticesOf(d.effects).map((n) => (n.kind === 'funds_short' ? n.limit : n.kind)))).toEqual([
      ['balance'],
      ['spend_limit'],
      [],
      ['balance'],
    ]);
    expect(lastOf(ds).state.fundsWaitSinceMs).toBe(T0);
  });

  it('rejects insufficient_balance once balanceWaitMaxMs has passed since the first shortage', () => {
    const waiting = reach(fresh(), [ev.short(T0)]);
    expect(step(waiting, ev.short(T0 + policy.balanceWaitMaxMs - 1)).state.phase).toBe('waiting_funds');
    const done = step(waiting, ev.short(T0 + policy.balanceWaitMaxMs));
    expect(resultOf(done)).toMatchObject({
      status: 'rejected',
      error: 'insufficient_balance',
      error_message: 'the balance did not cover the order before BALANCE_WAIT_MAX_MS',
      order_id: null,
      resolved_at: iso(T0 + policy.balanceWaitMaxMs),
    });
  });

  it('rejects spend_limit_reached when it is the fleet’s spend limit that kept it waiting', () => {
    const waiting = reach(fresh(), [ev.short(T0, 'balance')]);
    const done = step(waiting, ev.short(T0 + policy.balanceWaitMaxMs, 'spend_limit'));
    expect(resultOf(done)).toMatchObject({ status: 'rejected', error: 'spend_limit_reached' });
    expect(resultOf(done).error_message).toContain('SPEND_LIMIT');
  });

  it('with no wait allowed, the first shortage rejects', () => {
    const d = step(fresh(), ev.short(T0), ctxOf({ policy: testPolicy({ balanceWaitMaxMs: 0 }) }));
    expect(resultOf(d)).toMatchObject({ status: 'rejected', error: 'insufficient_balance' });
  });

  it('sends the create as soon as the funds are reserved', () => {
    const ds = run(fresh(), [ev.started(T0), ev.short(T0), ev.started(T0 + SECOND), ev.reserved(T0 + SECOND)]);
    expect(lastOf(ds).action).toEqual({ kind: 'create', request: REQUEST });
    expect(lastOf(ds).state).toMatchObject({ phase: 'placing', attempts: 1, firstAttemptAtMs: T0 + SECOND });
  });

  describe('when the create is answered insufficient_balance (the fleet’s reading was stale)', () => {
    it('gives the reservation back, forgets the balance reading and waits for funds', () => {
      const d = step(firstAttemptAt(T0), ev.rejected(T0 + SECOND, 'insufficient_balance', 'Insufficient balance.'));
      expect(d.effects).toEqual([
        { kind: 'release_funds', balance: 'all', spend: 'all' },
        { kind: 'invalidate_balance' },
        notice({ kind: 'funds_short', limit: 'balance', cost: COST }),
      ]);
      expect(d.state).toMatchObject({ phase: 'waiting_funds', fundsWaitSinceMs: T0 + SECOND, maybeLanded: false, attempts: 1 });
      expect(d.action).toEqual({ kind: 'wait', untilMs: T0 + 2 * SECOND, reason: 'funds' });
    });

    it('continues a funds wait that began before the attempt, and rejects once it has lasted balanceWaitMaxMs', () => {
      const since = T0;
      const placing = reach(fresh(), [ev.short(since), ev.started(since + 10 * SECOND), ev.reserved(since + 10 * SECOND)]);
      const again = step(placing, ev.rejected(since + 11 * SECOND, 'insufficient_balance', 'Insufficient balance.'));
      expect(again.state).toMatchObject({ phase: 'waiting_funds', fundsWaitSinceMs: since });
      expect(noticesOf(again.effects)).toEqual([]);
      const late = reach(again.state, [ev.started(since + 59 * SECOND), ev.reserved(since + 59 * SECOND)]);
      const done = step(late, ev.rejected(since + policy.balanceWaitMaxMs, 'insufficient_balance', 'Insufficient balance.'));
      expect(resultOf(done)).toMatchObject({ status: 'rejected', error: 'insufficient_balance' });
      expect(done.effects.slice(0, 2)).toEqual([{ kind: 'release_funds', balance: 'all', spend: 'all' }, { kind: 'invalidate_balance' }]);
    });
  });
});

// -- Fleet pauses -----------------------------------------------------------------------------

describe('when the API rate-limits the fleet or refuses its key', () => {
  it('pauses the fleet for Retry-After and counts the create as not sent: back to received, nothing maybe-landed', () => {
    const d = step(firstAttemptAt(T0), ev.rateLimited(T0 + SECOND, 'create', 7 * SECOND));
    expect(d.action).toEqual({ kind: 'pause_fleet', ms: 7 * SECOND, reason: 'rate_limited' });
    expect(d.effects).toEqual([notice({ kind: 'rate_limited', call: 'create', pauseMs: 7 * SECOND })]);
    expect(d.state).toMatchObject({ phase: 'received', attempts: 1, maybeLanded: false, maybeLandedAtMs: null, fundsWaitSinceMs: null });
  });

  it('pauses DEFAULT_RATE_LIMIT_PAUSE_MS when the 429 said nothing of when to come back', () => {
    expect(step(firstAttemptAt(T0), ev.rateLimited(T0, 'create', null)).action).toEqual({
      kind: 'pause_fleet',
      ms: DEFAULT_RATE_LIMIT_PAUSE_MS,
      reason: 'rate_limited',
    });
  });

  it('pauses authFailurePauseMs when the key is refused, the create counted as not sent', () => {
    const d = step(firstAttemptAt(T0), ev.keyRefused(T0, 'create'));
    expect(d.action).toEqual({ kind: 'pause_fleet', ms: policy.authFailurePauseMs, reason: 'key_refused' });
    expect(d.state).toMatchObject({ phase: 'received', maybeLanded: false });
  });

  it('after a rate-limited create, a duplicate on the next attempt is still someone else’s order: rejected', () => {
    const ds = run(firstAttemptAt(T0), [
      ev.rateLimited(T0, 'create'),
      ev.started(T0 + 2 * SECOND),
      ev.reserved(T0 + 2 * SECOND),
      ev.rejected(T0 + 3 * SECOND, 'duplicate_merchant_order_id', 'merchant_order_id: already exists'),
    ]);
    expect(ds[2]?.state.attempts).toBe(2);
    expect(resultOf(lastOf(ds))).toMatchObject({ status: 'rejected', error: 'duplicate_merchant_order_id' });
  });

  it('after a maybe-landed attempt, a rate-limited or refused retry goes back to ambiguous, never to received', () => {
    const retry = reach(firstAttemptAt(T0), [ev.ambiguous(T0), ev.started(T0 + SECOND)]);
    for (const event of [ev.rateLimited(T0 + 2 * SECOND, 'create'), ev.keyRefused(T0 + 2 * SECOND, 'create')]) {
      expect(step(retry, event).state).toMatchObject({ phase: 'ambiguous', maybeLanded: true, maybeLandedAtMs: T0 });
    }
  });

  it('a funds wait cut short by a rate-limited create starts over on the next shortage', () => {
    const ds = run(fresh(), [ev.started(T0), ev.short(T0), ev.reserved(T0 + 50 * SECOND), ev.rateLimited(T0 + 50 * SECOND, 'create'), ev.short(T0 + 70 * SECOND)]);
    expect(lastOf(ds).state).toMatchObject({ phase: 'waiting_funds', fundsWaitSinceMs: T0 + 70 * SECOND });
    expect(noticesOf(lastOf(ds).effects)).toEqual([{ kind: 'funds_short', limit: 'balance', cost: COST }]);
  });

  it('leaves balance and lookup states as they are', () => {
    for (const [state, call] of [
      [states.received(), 'balance'],
      [states.placed(), 'lookup'],
    ] as const) {
      expect(step(state, ev.rateLimited(AT, call)).state).toBe(state);
      expect(step(state, ev.keyRefused(AT, call)).state).toBe(state);
    }
  });
});

// -- Webhooks ---------------------------------------------------------------------------------

describe('webhook events', () => {
  it('before any attempt, a terminal event means someone else used the merchant_order_id: rejected duplicate_merchant_order_id', () => {
    for (const state of [fresh(), states.received(), states.waiting_funds(), reach(firstAttemptAt(T0), [ev.rateLimited(T0, 'create')])]) {
      const d = step(state, ev.webhook(AT, order('completed', { id: OTHER_ORDER_ID })));
      expect(resultOf(d)).toMatchObject({ status: 'rejected', error: 'duplicate_merchant_order_id', order_id: null, codes: [] });
      expect(resultOf(d).error_message).toContain(OTHER_ORDER_ID);
    }
  });

  it('decides a placing, ambiguous, placed or awaiting order from the webhook, whatever its terminal status', () => {
    for (const phase of ['placing', 'ambiguous', 'placed', 'awaiting_webhook'] as const) {
      for (const status of ['completed', 'partial', 'failed'] as const) {
        const o = order(status, status === 'partial' ? { deliveredQuantity: 1, refundAmount: 9, codes: ['CODE-1'] } : {});
        const d = step(states[phase](), ev.webhook(AT, o));
        expect(resultOf(d), `${phase}/${status}`).toMatchObject({
          status,
          source: 'webhook',
          order_id: ORDER_ID,
          refund_amount: o.refundAmount,
          codes: o.codes,
        });
        expect(d.state.orderId).toBe(ORDER_ID);
        expect(d.action.kind).toBe('emit');
      }
    }
  });

  it('ignores an event for another order id once the id is known', () => {
    const before = states.placed();
    const d = step(before, ev.webhook(AT, order('completed', { id: OTHER_ORDER_ID })));
    expect(d.state).toBe(before);
    expect(d.action).toEqual({ kind: 'restart', reason: 'the event is for another order id' });
    expect(d.effects).toEqual([notice({ kind: 'webhook_ignored', orderId: OTHER_ORDER_ID, reason: 'the event is for another order id' })]);
  });

  it('ignores an event for another merchant_order_id in every phase before done', () => {
    for (const phase of PHASES.filter((p) => p !== 'done')) {
      const before = states[phase]();
      const d = step(before, ev.webhook(AT, order('completed', { merchantOrderId: OTHER_MID })));
      expect(d.state, phase).toBe(before);
      expect(d.action, phase).toEqual({ kind: 'restart', reason: 'the event is for another merchant_order_id' });
    }
  });

  it('ignores an event that is not terminal', () => {
    for (const phase of PHASES.filter((p) => p !== 'done')) {
      const before = states[phase]();
      const d = step(before, ev.webhook(AT, order('processing')));
      expect(d.state, phase).toBe(before);
      expect(d.action.kind, phase).toBe('restart');
    }
  });

  it('cannot change a decided result', () => {
    const done = states.done();
    const d = step(done, ev.webhook(AT, order('failed')));
    expect(d.state).toBe(done);
    expect(d.action).toEqual({ kind: 'emit', result: done.result });
  });

  describe('a webhook stored in the ledger (ctx.webhook)', () => {
    const stored = order('completed');
    const withStored = ctxOf({ webhookOrder: stored });

    for (const phase of PHASES.filter((p) => p !== 'done')) {
      it(`settles an order in ${phase} after whatever event the job brings`, () => {
        // (A resolve request is no event of the order's job: it is only answered, see below.)
        for (const type of EVENT_TYPES.filter((t) => t !== 'webhook_received' && t !== 'resolve_requested')) {
          const before = states[phase]();
          const event = tableEvent(type, phase);
          const alone = step(before, event);
          const d = step(before, event, withStored);
          const where = `${phase} × ${type}`;
          expect(d.state.phase, where).toBe('done');
          if (alone.state.phase === 'done') {
            // The event decided by itself first: the stored webhook changes nothing.
            expect(d.state.result, where).toEqual(alone.state.result);
          } else if (alone.state.phase === 'received' || alone.state.phase === 'waiting_funds') {
            // Nothing of ours may have landed (never sent, or provably not processed): someone else's order.
            expect(d.state.result, where).toMatchObject({ status: 'rejected', error: 'duplicate_merchant_order_id', order_id: null });
          } else {
            expect(d.state.result, where).toMatchObject({ status: 'completed', source: 'webhook', order_id: ORDER_ID });
          }
          expect(d.action.kind, where).toBe('emit');
          // The effects of the event itself are kept, in front.
          expect(d.effects.slice(0, alone.effects.length), where).toEqual(alone.effects);
        }
      });
    }

    it('is not applied on a resolve request for an order still driven: the request is refused, nothing changes', () => {
      for (const phase of PHASES.filter((p) => p !== 'done')) {
        const before = states[phase]();
        const d = step(before, ev.resolve(AT), withStored);
        expect(d.state, phase).toBe(before);
        expect(d.action, phase).toEqual({ kind: 'refuse_resolution', reason: 'not_finished' });
      }
    });

    it('is left alone when it is not this order’s: the event’s own decision stands, without a webhook_ignored notice', () => {
      const foreign = ctxOf({ webhookOrder: order('completed', { id: OTHER_ORDER_ID }) });
      const before = states.placed();
      const d = step(before, ev.started(AT), foreign);
      expect(d.state).toBe(before);
      expect(d.action).toEqual({ kind: 'lookup', orderId: ORDER_ID });
      expect(d.effects).toEqual([]);
    });
  });
});

// -- Emission ---------------------------------------------------------------------------------

describe('emitting the result', () => {
  /** A run that finds the result not emitted once its decider had EMIT_GRACE_MS, then the emission and what follows. */
  const emitOf = (state: OrderState): Decision[] => {
    const at = decidedAtOf(state) + EMIT_GRACE_MS;
    return run(state, [ev.started(at), ev.emitted(at + 1), ev.emitted(at + 2), ev.started(at + 3)]);
  };

  const cases: { what: string; done: () => OrderState; release: Effect }[] = [
    {
      what: 'a rejection gives back everything (nothing was charged)',
      done: () => step(fresh(), ev.started(T0, { kind: 'priced', cost: 25 })).state,
      release: { kind: 'release_funds', balance: 'all', spend: 'all' },
    },
    {
      what: 'an unresolved order keeps its money counted (it may have been charged)',
      done: () => step(states.awaiting_webhook(), ev.started(resolveDeadline(states.awaiting_webhook(), policy))).state,
      release: { kind: 'release_funds', balance: 0, spend: 0 },
    },
    {
      what: 'a completed order gives back nothing',
      done: () => step(states.placed(), ev.observed(AT, order('completed'))).state,
      release: { kind: 'release_funds', balance: 0, spend: 0 },
    },
    {
      what: 'a partial order gives back its refund',
      done: () => step(states.placed(), ev.observed(AT, order('partial', { deliveredQuantity: 1, refundAmount: 9 }))).state,
      release: { kind: 'release_funds', balance: 9, spend: 9 },
    },
    {
      what: 'a failed order gives back its refund',
      done: () => step(states.placed(), ev.webhook(AT, order('failed'))).state,
      release: { kind: 'release_funds', balance: 18, spend: 18 },
    },
  ];
  for (const { what, done, release } of cases) {
    it(`emits (its decider, or anyone once EMIT_GRACE_MS has passed) until told it is emitted, then finishes: ${what}`, () => {
      const state = done();
      expect(state).toMatchObject({ phase: 'done', emitted: false });
      const [again, emitted, twice, later] = emitOf(state);
      expect(again?.action).toEqual({ kind: 'emit', result: state.result });
      expect(again?.state).toBe(state);
      expect(emitted?.state).toMatchObject({ emitted: true, result: state.result });
      expect(emitted?.effects).toEqual([release, CLOSE_JOB]);
      expect(emitted?.action).toEqual({ kind: 'finish', result: state.result });
      // The release happens once: a repeated result_emitted, or a later run, only finishes.
      expect(twice?.effects).toEqual([]);
      expect(twice?.action).toEqual({ kind: 'finish', result: state.result });
      expect(later?.action).toEqual({ kind: 'finish', result: state.result });
    });
  }
});

// -- Emit grace ---------------------------------------------------------------------------------

describe('when a decided result is found before it was emitted', () => {
  // A poll decides the order at DECIDED: its decider emits it; anyone else who finds it done and
  // not emitted leaves that to the decider until EMIT_BY.
  const DECIDED = T0 + 30 * SECOND;
  const EMIT_BY = DECIDED + EMIT_GRACE_MS;
  const decision = (): Decision => step(reach(placedAt(T0), [ev.started(DECIDED)]), ev.observed(DECIDED, order('completed')));
  const decided = (): OrderState => decision().state;
  const at = (event: OrderEvent, atMs: number): OrderEvent => ({ ...event, atMs });

  it('is emitted by its decider at once, from the decision that made it done', () => {
    const d = decision();
    expect(resultOf(d)).toMatchObject({ status: 'completed', source: 'poll', resolved_at: iso(DECIDED) });
    expect(d.state.emitted).toBe(false);
    expect(d.action).toEqual({ kind: 'emit', result: d.state.result });
  });

  it('makes anyone else wait until resolved_at + EMIT_GRACE_MS (result_being_emitted), whatever the event', () => {
    // A resolve request is answered at once (refused: nothing to resolve), never made to wait.
    for (const type of EVENT_TYPES.filter((t) => t !== 'result_emitted' && t !== 'resolve_requested')) {
      for (const atMs of [DECIDED, DECIDED + 1, EMIT_BY - 1]) {
        const before = decided();
        const d = step(before, at(tableEvent(type, 'done'), atMs));
        const where = `${type} at decided + ${atMs - DECIDED} ms`;
        expect(d.state, where).toBe(before);
        expect(d.effects, where).toEqual([]);
        expect(d.action, where).toEqual({ kind: 'wait', untilMs: EMIT_BY, reason: 'result_being_emitted' });
      }
    }
  });

  it('emits it from resolved_at + EMIT_GRACE_MS on: its decider died before emitting it', () => {
    for (const atMs of [EMIT_BY, EMIT_BY + 1, EMIT_BY + HOUR]) {
      for (const event of [ev.started(atMs), ev.created(atMs), ev.webhook(atMs, order('completed'))]) {
        const before = decided();
        const d = step(before, event);
        expect(d.state, `${event.type} at ${atMs - EMIT_BY} ms past`).toBe(before);
        expect(d.effects).toEqual([]);
        expect(d.action).toEqual({ kind: 'emit', result: before.result });
      }
    }
    // The job that waited comes back exactly then, and emits.
    const waited = step(decided(), ev.started(DECIDED + SECOND));
    expect(step(decided(), ev.started(waitOf(waited).untilMs)).action.kind).toBe('emit');
  });

  it('counts the grace from resolved_at whoever decided and whatever: a rejection, an unresolved order', () => {
    const rejected = step(fresh(), ev.started(T0, { kind: 'priced', cost: 25 })).state;
    expect(step(rejected, ev.started(T0 + 1)).action).toEqual({ kind: 'wait', untilMs: T0 + EMIT_GRACE_MS, reason: 'result_being_emitted' });
    const deadline = resolveDeadline(states.awaiting_webhook(), policy);
    const unresolved = step(states.awaiting_webhook(), ev.started(deadline)).state;
    expect(unresolved.result).toMatchObject({ status: 'unresolved', resolved_at: iso(deadline) });
    expect(step(unresolved, ev.webhook(deadline + 1, order('completed'))).action).toEqual({
      kind: 'wait',
      untilMs: deadline + EMIT_GRACE_MS,
      reason: 'result_being_emitted',
    });
  });

  it('is added once when the webhook receiver and a worker race on one order', () => {
    // The worker's poll decides it; the receiver's event comes 200 ms later, then the worker's emit is recorded.
    const ds = run(reach(placedAt(T0), [ev.started(DECIDED)]), [
      ev.observed(DECIDED, order('completed')),
      ev.webhook(DECIDED + 200, order('completed')),
      ev.emitted(DECIDED + 300),
      ev.webhook(EMIT_BY, order('completed')),
    ]);
    expect(ds.map((d) => d.action.kind)).toEqual(['emit', 'wait', 'finish', 'finish']);
    expect(ds[1]?.action).toEqual({ kind: 'wait', untilMs: EMIT_BY, reason: 'result_being_emitted' });
    expect(ds.flatMap((d) => d.effects.filter((e) => e.kind === 'release_funds'))).toEqual([{ kind: 'release_funds', balance: 0, spend: 0 }]);
  });

  it('finishes once it is emitted, within the grace or after, releasing nothing again', () => {
    const emitted = step(decided(), ev.emitted(DECIDED + 1));
    expect(emitted.state.emitted).toBe(true);
    expect(emitted.effects).toEqual([{ kind: 'release_funds', balance: 0, spend: 0 }, CLOSE_JOB]);
    expect(emitted.action).toEqual({ kind: 'finish', result: emitted.state.result });
    for (const atMs of [DECIDED + 2, EMIT_BY - 1, EMIT_BY, EMIT_BY + HOUR]) {
      const d = step(emitted.state, ev.started(atMs));
      expect(d.state).toBe(emitted.state);
      expect(d.effects).toEqual([]);
      expect(d.action).toEqual({ kind: 'finish', result: emitted.state.result });
    }
  });

  it('is not changed by a stored webhook either', () => {
    const before = decided();
    const d = step(before, ev.started(DECIDED + 1), ctxOf({ webhookOrder: order('failed') }));
    expect(d.state).toBe(before);
    expect(d.action).toEqual({ kind: 'wait', untilMs: EMIT_BY, reason: 'result_being_emitted' });
  });
});

// -- What the API charged ---------------------------------------------------------------------

describe('what the API charged', () => {
  it('records the charge when the create charged another price than the reserved cost', () => {
    const d = step(firstAttemptAt(T0), ev.created(T0 + SECOND, order('pending', { price: 19.5 })));
    expect(d.effects).toEqual([{ kind: 'record_charge', amount: 19.5 }, notice({ kind: 'order_placed', orderId: ORDER_ID })]);
  });

  it('records nothing when the charge is the reserved cost', () => {
    const d = step(firstAttemptAt(T0), ev.created(T0 + SECOND, order('pending', { price: COST })));
    expect(d.effects.filter((e) => e.kind === 'record_charge')).toEqual([]);
  });

  it('records the charge of a create answered with a terminal order', () => {
    const d = step(firstAttemptAt(T0), ev.created(T0 + SECOND, order('completed', { price: 17 })));
    expect(resultOf(d)).toMatchObject({ status: 'completed', price: 17, source: 'poll' });
    expect(d.effects).toEqual([{ kind: 'record_charge', amount: 17 }]);
  });

  it('records the charge when only the webhook tells what an ambiguous create charged', () => {
    for (const phase of ['placing', 'ambiguous', 'awaiting_webhook'] as const) {
      const d = step(states[phase](), ev.webhook(AT, order('completed', { price: 19.5 })));
      expect(d.effects.filter((e) => e.kind === 'record_charge'), phase).toEqual([{ kind: 'record_charge', amount: 19.5 }]);
    }
  });

  it('does not record the charge twice when the create already told it', () => {
    const placed = step(firstAttemptAt(T0), ev.created(T0 + SECOND, order('pending', { price: 19.5 })));
    for (const event of [ev.webhook(AT, order('completed', { price: 19.5 })), ev.observed(AT, order('completed', { price: 19.5 }))]) {
      expect(step(placed.state, event).effects.filter((e) => e.kind === 'record_charge')).toEqual([]);
    }
  });

  describe('above max_price (a stale catalog priced it lower)', () => {
    it('warns in the result and with a notice', () => {
      const d = step(firstAttemptAt(T0), ev.created(T0 + SECOND, order('completed', { price: 25 })));
      expect(resultOf(d).warnings).toEqual(['price_above_max']);
      expect(noticesOf(d.effects)).toEqual([{ kind: 'price_above_max', price: 25, maxPrice: MAX_PRICE }]);
    });

    it('warns whoever learns the outcome: a poll or the webhook', () => {
      const placed = placedAt(T0);
      for (const event of [ev.observed(AT, order('failed', { price: 25 })), ev.webhook(AT, order('partial', { price: 25 }))]) {
        const d = step(placed, event);
        expect(resultOf(d).warnings, event.type).toEqual(['price_above_max']);
        expect(noticesOf(d.effects), event.type).toEqual([{ kind: 'price_above_max', price: 25, maxPrice: MAX_PRICE }]);
      }
    });

    it('does not warn at or under max_price, nor without one', () => {
      expect(resultOf(step(placedAt(T0), ev.observed(AT, order('completed', { price: MAX_PRICE })))).warnings).toEqual([]);
      const noMax = reach(fresh({ merchantOrderId: MID, itemId: 4090, quantity: 2 }), [ev.started(T0, { kind: 'unpriced' }), ev.reserved(T0), ev.created(T0)]);
      const d = step(noMax, ev.observed(AT, order('completed', { price: 1_000 })));
      expect(resultOf(d).warnings).toEqual([]);
      expect(noticesOf(d.effects)).toEqual([]);
    });
  });
});

// -- Scenarios end to end ---------------------------------------------------------------------

describe('whole lifecycles', () => {
  it('the happy path: check, reserve, create, poll, emit, finish', () => {
    const ds = run(fresh(), [
      ev.started(T0),
      ev.reserved(T0 + 10),
      ev.created(T0 + 20),
      ev.started(T0 + 1_020),
      ev.observed(T0 + 1_030, order('processing')),
      ev.started(T0 + 2_030),
      ev.observed(T0 + 2_040, order('completed')),
      ev.emitted(T0 + 2_050),
    ]);
    expect(ds.map((d) => d.action.kind)).toEqual(['reserve_funds', 'create', 'wait', 'lookup', 'wait', 'lookup', 'emit', 'finish']);
    expect(lastOf(ds).state).toMatchObject({ phase: 'done', emitted: true, attempts: 1, maybeLanded: false, orderId: ORDER_ID });
    const result = resultOf(lastOf(ds));
    expect(result).toEqual({
      merchant_order_id: MID,
      order_id: ORDER_ID,
      status: 'completed',
      item_id: 4090,
      quantity: 2,
      price: COST,
      delivered_quantity: 2,
      refund_amount: 0,
      codes: ['CODE-1', 'CODE-2'],
      fields: {},
      error: null,
      error_message: null,
      created_at: '2026-11-25T00:00:00.000Z',
      completed_at: '2026-11-25T00:00:01.000Z',
      resolved_at: iso(T0 + 2_040),
      source: 'poll',
      warnings: [],
      resolves: null,
    } satisfies OrderResult);
  });

  it('a rejection reports the intent’s own item, quantity and fields', () => {
    const withFields: Intent = { merchantOrderId: MID, itemId: 5100, quantity: 10, fields: { player_id: 'p-1', server: 17 } };
    const d = step(firstAttemptAt(T0, withFields), ev.rejected(T0 + SECOND, 'validation_error', 'fields.server: 17 is not a valid choice'));
    expect(resultOf(d)).toMatchObject({
      status: 'rejected',
      item_id: 5100,
      quantity: 10,
      fields: { player_id: 'p-1', server: 17 },
      price: null,
      codes: [],
      delivered_quantity: 0,
      refund_amount: 0,
      created_at: null,
      warnings: [],
    });
  });

  it('sends the intent’s fields in the create exactly as given', () => {
    const withFields: Intent = { merchantOrderId: MID, itemId: 5100, quantity: 10, fields: { player_id: 'p-1', server: 17 } };
    const d = step(reach(fresh(withFields), [ev.started(T0, { kind: 'priced', cost: 9.5 })]), ev.reserved(T0));
    expect(d.action).toEqual({ kind: 'create', request: { itemId: 5100, merchantOrderId: MID, quantity: 10, fields: { player_id: 'p-1', server: 17 } } });
    const bare = step(reach(fresh({ merchantOrderId: MID, itemId: 6200 }), [ev.started(T0, { kind: 'priced', cost: 15 })]), ev.reserved(T0));
    expect(bare.action).toEqual({ kind: 'create', request: { itemId: 6200, merchantOrderId: MID } });
  });

  it('never sends a create for an intent without an item id', () => {
    const d = step(fresh({ merchantOrderId: MID, itemId: null }), ev.reserved(T0));
    expect(resultOf(d)).toMatchObject({ status: 'rejected', error: 'invalid_intent' });
    expect(d.action.kind).toBe('emit');
  });

  it('a webhook before the create’s answer decides the order; the late answer changes nothing and leaves the emitting to its decider', () => {
    const inFlight = firstAttemptAt(T0);
    const done = step(inFlight, ev.webhook(T0 + SECOND));
    expect(resultOf(done)).toMatchObject({ status: 'completed', source: 'webhook' });
    expect(done.action).toEqual({ kind: 'emit', result: done.state.result });
    const late = step(done.state, ev.created(T0 + 2 * SECOND));
    expect(late.state).toBe(done.state);
    expect(late.effects).toEqual([]);
    expect(late.action).toEqual({ kind: 'wait', untilMs: T0 + SECOND + EMIT_GRACE_MS, reason: 'result_being_emitted' });
  });
});

// ---------------------------------------------------------------------------------------------
// 3. Random event sequences (fast-check): the invariants hold whatever happens, in any order.
// ---------------------------------------------------------------------------------------------

/** What the catalog says of the sequence's intent (the handler computes the same check on every run). */
interface World {
  maxPrice: number | undefined;
  check: IntentCheck;
  webhookAlive: boolean;
  /** From this step on, a terminal webhook event is stored for the merchant_order_id (null = never). */
  storedFrom: number | null;
  storedStatus: 'completed' | 'partial' | 'failed';
  storedForOtherMid: boolean;
}

/** One step: either an answer that fits what the machine asked for, or any event at all. */
interface Move {
  fits: boolean;
  pick: number;
  gap: number;
  random: number;
  price: number;
  status: OrderStatus;
  /** A terminal status, for a webhook event or a lookup that finds the order finished. */
  webhookStatus: 'completed' | 'partial' | 'failed';
}

const worldArb: fc.Arbitrary<World> = fc.record({
  maxPrice: fc.constantFrom<number | undefined>(undefined, undefined, 10, 18, 20),
  check: fc.constantFrom<IntentCheck>(
    { kind: 'priced', cost: 18 },
    { kind: 'priced', cost: 18 },
    { kind: 'priced', cost: 9 },
    { kind: 'priced', cost: 25 },
    { kind: 'unpriced' },
    { kind: 'unpriced' },
    { kind: 'invalid', code: 'validation_error', message: 'item_id: no such item' },
  ),
  webhookAlive: fc.boolean(),
  storedFrom: fc.oneof({ arbitrary: fc.constant(null), weight: 3 }, { arbitrary: fc.nat({ max: 40 }), weight: 1 }),
  storedStatus: fc.constantFrom('completed', 'partial', 'failed'),
  storedForOtherMid: fc.boolean(),
});

const moveArb: fc.Arbitrary<Move> = fc.record({
  fits: fc.integer({ min: 0, max: 9 }).map((n) => n < 8),
  pick: fc.nat({ max: 1_000 }),
  gap: fc.constantFrom(0, 1, 250, 2 * SECOND, 20 * SECOND, 40 * SECOND, 61 * SECOND, 2 * HOUR),
  random: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
  price: fc.constantFrom(18, 18, 9, 25),
  status: fc.constantFrom<OrderStatus>('pending', 'processing', 'completed', 'partial', 'failed'),
  webhookStatus: fc.constantFrom('completed', 'partial', 'failed'),
});

const REJECT_ANSWERS: readonly { code: CreateRejectionCode; message: string }[] = [
  { code: 'validation_error', message: 'quantity: must be between 1 and 10' },
  { code: 'validation_error', message: 'item_id: item 7300 is out of stock' },
  { code: 'duplicate_merchant_order_id', message: 'merchant_order_id: an order with this merchant_order_id already exists.' },
  { code: 'insufficient_balance', message: 'Insufficient balance.' },
  { code: 'unclassified', message: 'create answered 404 not_found' },
];
const CALLS: readonly ApiCall[] = ['balance', 'create', 'lookup'];

function pick<T>(items: readonly T[], n: number): T {
  const item = items[n % items.length];
  if (item === undefined) throw new Error('pick from an empty list');
  return item;
}

/** The event a move stands for, given what the machine last asked for. */
function eventFor(move: Move, world: World, state: OrderState, last: Action | null, atMs: number): OrderEvent {
  const o = (status: OrderStatus, id = state.orderId ?? ORDER_ID): Order =>
    apiOrder(MID, id, status, { price: move.price, ...(status === 'failed' || status === 'partial' ? { refundAmount: move.price / 2 } : {}) });
  const rejection = (n: number): OrderEvent => {
    const r = pick(REJECT_ANSWERS, n);
    return ev.rejected(atMs, r.code, r.message);
  };
  const started = ev.started(atMs, world.check);
  if (move.fits && last !== null) {
    const n = move.pick;
    switch (last.kind) {
      case 'reserve_funds':
        return pick<OrderEvent>(
          [
            ev.reserved(atMs),
            ev.reserved(atMs),
            ev.short(atMs, 'balance'),
            ev.short(atMs, 'spend_limit'),
            ev.failed(atMs, 'balance'),
            ev.rateLimited(atMs, 'balance'),
            ev.keyRefused(atMs, 'balance'),
          ],
          n,
        );
      case 'create':
        return pick<OrderEvent>(
          [
            ev.created(atMs, o('pending', ORDER_ID)),
            ev.created(atMs, o(move.status, ORDER_ID)),
            rejection(n >> 4),
            rejection(n >> 5),
            ev.ambiguous(atMs),
            ev.ambiguous(atMs),
            ev.failed(atMs, 'create'),
            ev.rateLimited(atMs, 'create', null),
            ev.keyRefused(atMs, 'create'),
            started, // the worker died mid-POST
          ],
          n,
        );
      case 'lookup':
        return pick<OrderEvent>(
          [
            ev.observed(atMs, o(move.status)),
            ev.observed(atMs, o(move.webhookStatus)),
            ev.observed(atMs, o('processing')),
            ev.observed(atMs, o('completed', OTHER_ORDER_ID)),
            ev.observed(atMs, apiOrder(OTHER_MID, state.orderId ?? ORDER_ID, 'completed')),
            ev.notFound(atMs),
            ev.failed(atMs, 'lookup'),
            ev.rateLimited(atMs, 'lookup'),
            ev.keyRefused(atMs, 'lookup'),
          ],
          n,
        );
      case 'emit':
        return pick<OrderEvent>([ev.emitted(atMs), ev.emitted(atMs), started], n);
      default:
        return pick<OrderEvent>(
          [
            started,
            started,
            started,
            ev.webhook(atMs, o(move.webhookStatus)),
            ev.webhook(atMs, apiOrder(OTHER_MID, OTHER_ORDER_ID, 'completed')),
            ev.resolve(atMs),
            ev.resolve(atMs),
          ],
          n,
        );
    }
  }
  // Any event at all, fitting or not, except funds_reserved, which only ever answers a reserve_funds.
  const n = move.pick;
  return pick<OrderEvent>(
    [
      started,
      ev.short(atMs, n % 2 === 0 ? 'balance' : 'spend_limit'),
      ev.created(atMs, o(move.status, ORDER_ID)),
      rejection(n >> 4),
      ev.ambiguous(atMs),
      ev.observed(atMs, o(move.status)),
      ev.notFound(atMs),
      ev.failed(atMs, pick(CALLS, n >> 4)),
      ev.rateLimited(atMs, pick(CALLS, n >> 4), n % 3 === 0 ? null : 1_500),
      ev.keyRefused(atMs, pick(CALLS, n >> 4)),
      ev.webhook(atMs, o(move.status, n % 3 === 0 ? OTHER_ORDER_ID : (state.orderId ?? ORDER_ID))),
      ev.emitted(atMs),
      ev.resolve(atMs, n % 3 === 0 ? OTHER_ORDER_ID : ORDER_ID),
    ],
    n,
  );
}

/** Whether the world's intent fails a rule checked before anything is sent. */
function refusedBeforeSending(world: World): boolean {
  if (world.check.kind === 'invalid') return true;
  if (world.maxPrice === undefined) return false;
  return world.check.kind === 'unpriced' || world.check.cost > world.maxPrice;
}

interface Coverage {
  phases: Set<Phase>;
  results: Set<string>;
  situations: Set<string>;
}

function checkSequence(world: World, moves: readonly Move[], coverage: Coverage): void {
  const seqIntent: Intent = { merchantOrderId: MID, itemId: 4090, quantity: 2, ...(world.maxPrice === undefined ? {} : { maxPrice: world.maxPrice }) };
  let state = initialState(seqIntent, T0);
  let last: Action | null = null;
  let now = T0;
  let firstResult: OrderResult | null = null;
  let firstResolution: OrderResult | null = null;
  let resolutionsEmitted = 0;
  let releases = 0;
  /** When each attempt that may have landed was heard of: its ambiguous answer, or its job found it still `placing`. */
  const landedAts: number[] = [];
  const refused = refusedBeforeSending(world);

  moves.forEach((move, i) => {
    // A fitting event comes when the machine asked for it: a wait's end, at the earliest.
    now += move.gap;
    if (move.fits && last?.kind === 'wait') now = Math.max(now, last.untilMs);
    const event = eventFor(move, world, state, last, now);
    const stored =
      world.storedFrom !== null && i >= world.storedFrom
        ? apiOrder(world.storedForOtherMid ? OTHER_MID : MID, state.orderId ?? ORDER_ID, world.storedStatus)
        : null;
    const before = state;
    const d = decide(before, event, { policy, webhookAlive: world.webhookAlive, webhookOrder: stored, random: move.random });
    const after = d.state;
    const where = `step ${i}: ${before.phase} × ${event.type}`;

    // phase done ⇔ a result.
    expect(after.phase === 'done', where).toBe(after.result !== null);
    // Once done, the result never changes.
    if (firstResult !== null) expect(after.result, where).toBe(firstResult);
    if (before.result === null && after.result !== null) firstResult = after.result;
    // Attempts never decrease; maybeLanded and emitted never go back.
    expect(after.attempts, where).toBeGreaterThanOrEqual(before.attempts);
    if (before.maybeLanded) expect(after.maybeLanded, where).toBe(true);
    if (before.emitted) expect(after.emitted, where).toBe(true);
    // The state knows when the first and the latest attempt that may have landed were heard of.
    if (before.phase === 'placing' && (event.type === 'create_ambiguous' || event.type === 'job_started')) landedAts.push(event.atMs);
    const firstLandedAt = landedAts[0];
    expect(after.maybeLanded, where).toBe(firstLandedAt !== undefined);
    expect(after.maybeLandedAtMs, where).toBe(firstLandedAt ?? null);
    expect(after.lastMaybeLandedAtMs, where).toBe(landedAts[landedAts.length - 1] ?? null);
    // No create is sent at or after the retry cutoff: one resolveTimeoutMs after the first attempt that may have landed.
    if (d.action.kind === 'create' && firstLandedAt !== undefined) {
      expect(retryCutoff(after, policy), where).toBe(firstLandedAt + policy.resolveTimeoutMs);
      expect(event.atMs, where).toBeLessThan(retryCutoff(after, policy));
      if (before.phase === 'ambiguous' || before.phase === 'placing') coverage.situations.add('maybe-landed create retried');
    }
    // Past the cutoff, a job or an answer that would have retried waits for the webhook instead.
    if (after.phase === 'awaiting_webhook' && before.phase !== 'awaiting_webhook' && event.type !== 'create_rejected') {
      expect(event.atMs, where).toBeGreaterThanOrEqual(retryCutoff(after, policy));
      coverage.situations.add('past the retry cutoff');
    }
    // Late truth: at most one resolution, only of an emitted `unresolved` result, never changed once decided.
    if (after.resolution !== null) {
      expect(after.result?.status, where).toBe('unresolved');
      expect(after.emitted, where).toBe(true);
    }
    if (firstResolution !== null) expect(after.resolution?.kind === 'resolved' ? after.resolution.result : null, where).toBe(firstResolution);
    if (after.resolution?.kind === 'resolved' && firstResolution === null) {
      firstResolution = after.resolution.result;
      expect(firstResolution, where).toMatchObject({ merchant_order_id: MID, resolves: 'unresolved' });
      expect(isTerminalStatus(firstResolution.status), where).toBe(true);
      expect(d.action, where).toEqual({ kind: 'emit', result: firstResolution });
      coverage.situations.add(`resolved by ${firstResolution.source === 'webhook' ? 'a late webhook' : 'an operator'}`);
    }
    if (before.resolution?.kind === 'resolved' && !before.resolution.emitted && after.resolution?.kind === 'resolved' && after.resolution.emitted) {
      resolutionsEmitted += 1;
    }
    expect(resolutionsEmitted, where).toBeLessThanOrEqual(1);
    // Whatever is emitted is the result, or the resolution.
    if (d.action.kind === 'emit') {
      const resolution = after.resolution?.kind === 'resolved' ? after.resolution.result : null;
      expect(d.action.result === after.result || d.action.result === resolution, where).toBe(true);
    }
    if (d.action.kind === 'refuse_resolution') {
      // Refused at the request, or on what the lookup it asked for found; the result is untouched.
      if (event.type !== 'resolve_requested') expect(before.resolution?.kind, where).toBe('requested');
      expect(after.result, where).toBe(before.result);
      coverage.situations.add(`resolve refused: ${d.action.reason}`);
    }
    // A resolve request is answered at once (refused, or looked up), never made to wait for an emission.
    const settling = event.type !== 'result_emitted' && event.type !== 'resolve_requested';
    // A done result not known to be emitted: only its decider emits it within EMIT_GRACE_MS; anyone else waits that long.
    if (before.result !== null && !before.emitted && settling) {
      const emitBy = Date.parse(before.result.resolved_at) + EMIT_GRACE_MS;
      expect(after, where).toBe(before);
      expect(d.effects, where).toEqual([]);
      if (event.atMs < emitBy) {
        expect(d.action, where).toEqual({ kind: 'wait', untilMs: emitBy, reason: 'result_being_emitted' });
        coverage.situations.add('result found before it was emitted');
      } else {
        expect(d.action, where).toEqual({ kind: 'emit', result: before.result });
        coverage.situations.add('result emitted after the grace');
      }
    }
    // Nothing is sent (or reserved) for an intent a rule refuses.
    if (refused) {
      expect(['create', 'reserve_funds'], where).not.toContain(d.action.kind);
      expect(after.attempts, where).toBe(0);
    }
    // A create always comes with its attempt recorded in the state persisted before it.
    if (d.action.kind === 'create') {
      expect(after.phase, where).toBe('placing');
      expect(after.attempts, where).toBe(before.attempts + 1);
      expect(after.firstAttemptAtMs, where).not.toBeNull();
    }
    // Every wait ends after the event that asked for it.
    if (d.action.kind === 'wait') expect(d.action.untilMs, where).toBeGreaterThan(event.atMs);
    // An event that does not fit changes nothing.
    if (d.action.kind === 'restart') expect(after, where).toBe(before);
    // Shapes of the phases.
    if (after.phase === 'received' || after.phase === 'waiting_funds') {
      expect(after.maybeLanded, where).toBe(false);
      expect(after.orderId, where).toBeNull();
    }
    if (after.phase === 'ambiguous' || after.phase === 'awaiting_webhook') expect(after.maybeLanded, where).toBe(true);
    if (after.phase === 'placed') expect(after.orderId, where).not.toBeNull();
    if (after.orderId !== null) expect(['placed', 'done'], where).toContain(after.phase);
    if (after.stuckSinceMs !== null) expect(after.placedAtMs, where).not.toBeNull();
    if (before.stuckSinceMs !== null) expect(after.stuckSinceMs, where).toBe(before.stuckSinceMs);

    // The funds view is given back once per result, when it is emitted.
    const released = d.effects.filter((e) => e.kind === 'release_funds');
    if (event.type === 'result_emitted') releases += released.length;
    expect(releases, where).toBeLessThanOrEqual(1);
    if (released.length > 0 && event.type !== 'result_emitted') {
      expect(event.type === 'create_rejected' && event.code === 'insufficient_balance', where).toBe(true);
    }

    const decided = before.result === null ? after.result : null;
    if (decided !== null) {
      const key = `${decided.status}/${decided.status === 'rejected' || decided.status === 'unresolved' ? decided.error : decided.source}`;
      coverage.results.add(key);
      expect(decided.merchant_order_id, where).toBe(MID);
      expect(decided.resolved_at, where).toBe(iso(event.atMs));
      expect(d.action, where).toEqual({ kind: 'emit', result: decided });
      if (decided.status === 'rejected') {
        // Once an attempt may have landed, only a rejection an identical earlier request would have met rejects.
        if (before.maybeLanded || after.maybeLanded) {
          expect(event.type === 'create_rejected' && event.provable && decided.error === 'validation_error', where).toBe(true);
          coverage.situations.add('maybe-landed order rejected on a provable rejection');
        }
        expect(decided.order_id, where).toBeNull();
      }
      if (decided.status === 'unresolved') {
        // Only an unknown outcome is given up on, and only at its deadline, once every attempt that
        // may have landed has had a whole resolveTimeoutMs for its webhook.
        expect(before.orderId, where).toBeNull();
        expect(before.phase, where).not.toBe('placed');
        expect(after.maybeLanded, where).toBe(true);
        expect(event.atMs, where).toBeGreaterThanOrEqual(resolveDeadline(after, policy));
        expect(landedAts.length, where).toBeGreaterThan(0);
        for (const landedAt of landedAts) expect(landedAt + policy.resolveTimeoutMs, where).toBeLessThanOrEqual(event.atMs);
        if (landedAts.length > 1) coverage.situations.add('unresolved after several maybe-landed attempts');
      }
      if (refused) expect(decided.status, where).toBe('rejected');
    }
    if (after.stuckSinceMs !== null && before.stuckSinceMs === null) coverage.situations.add('stuck flagged');
    if (event.type === 'create_rejected' && before.maybeLanded && after.phase === 'awaiting_webhook') coverage.situations.add('awaiting the webhook');
    if (stored !== null && before.phase !== 'done' && after.phase === 'done' && decided?.source === 'webhook' && event.type !== 'webhook_received') {
      coverage.situations.add('settled by a stored webhook');
    }
    coverage.phases.add(after.phase);
    state = after;
    last = d.action;
  });
}

describe('late truth: the one resolution of an unresolved result', () => {
  const deadline = LAST_MAYBE_LANDED_AT + policy.resolveTimeoutMs;
  /** Decided unresolved at the deadline, then emitted. */
  const gaveUp = (): OrderState => reach(states.awaiting_webhook(), [ev.started(deadline), ev.emitted(deadline + SECOND)]);

  it('resolves it from a webhook that arrives after the deadline, keeping the unresolved result as it was', () => {
    const before = gaveUp();
    expect(before.result).toMatchObject({ status: 'unresolved' });
    const d = step(before, ev.webhook(deadline + 5 * MINUTE, order('partial', { refundAmount: 9 })));
    expect(d.state.result).toBe(before.result);
    expect(d.action).toEqual({ kind: 'emit', result: expect.objectContaining({ status: 'partial', resolves: 'unresolved', source: 'webhook', order_id: ORDER_ID }) as unknown });
    const emitted = step(d.state, ev.emitted(deadline + 5 * MINUTE + 1));
    expect(emitted.action).toMatchObject({ kind: 'finish', result: { status: 'partial', resolves: 'unresolved' } });
    expect(emitted.effects).toEqual([]);
  });

  it('resolves it once: a second webhook (another status, another order id) decides nothing new', () => {
    const first = step(gaveUp(), ev.webhook(deadline + MINUTE, order('completed')));
    const out = step(first.state, ev.emitted(deadline + MINUTE)).state;
    for (const again of [ev.webhook(deadline + 2 * MINUTE, order('failed')), ev.webhook(deadline + 2 * MINUTE, order('completed', { id: OTHER_ORDER_ID }))]) {
      const d = step(out, again);
      expect(d.state).toBe(out);
      expect(d.action).toEqual({ kind: 'finish', result: out.resolution?.kind === 'resolved' ? out.resolution.result : null });
    }
  });

  it('ignores a late webhook for another merchant_order_id, and a non-terminal one', () => {
    const before = gaveUp();
    for (const late of [apiOrder(OTHER_MID, OTHER_ORDER_ID, 'completed'), order('processing')]) {
      const d = step(before, ev.webhook(deadline + MINUTE, late));
      expect(d.state).toBe(before);
      expect(d.action).toEqual({ kind: 'finish', result: before.result });
    }
  });

  it('resolves from a webhook stored while the unresolved result was being emitted, once it is out', () => {
    const decided = step(states.awaiting_webhook(), ev.started(deadline)).state;
    expect(decided.emitted).toBe(false);
    const d = step(decided, ev.emitted(deadline + 1), ctxOf({ webhookOrder: order('completed') }));
    expect(d.state.emitted).toBe(true);
    // The unresolved result's job is done; the resolution that follows closes no job.
    expect(d.effects).toEqual([{ kind: 'release_funds', balance: 0, spend: 0 }, CLOSE_JOB]);
    expect(d.action).toMatchObject({ kind: 'emit', result: { status: 'completed', resolves: 'unresolved', source: 'webhook' } });
    expect(step(d.state, ev.emitted(deadline + 2)).effects).toEqual([]);
  });

  describe('when an operator asks with the order id', () => {
    it('looks the order up until it is terminal, with the machine’s poll delays, then resolves it from the lookup', () => {
      const before = gaveUp();
      const asked = step(before, ev.resolve(deadline + HOUR), ctxOf({ webhookAlive: true }));
      expect(asked.action).toEqual({ kind: 'lookup', orderId: ORDER_ID });
      const pending = step(asked.state, ev.observed(deadline + HOUR + SECOND, order('processing')), ctxOf({ webhookAlive: true }));
      expect(waitOf(pending)).toEqual({ kind: 'wait', untilMs: deadline + HOUR + SECOND + policy.pollWebhookDelayMs, reason: 'resolution_in_progress' });
      const done = step(pending.state, ev.observed(deadline + HOUR + 40 * SECOND, order('completed')));
      expect(done.action).toMatchObject({ kind: 'emit', result: { status: 'completed', resolves: 'unresolved', source: 'poll', order_id: ORDER_ID } });
      expect(done.state.result).toEqual(before.result);
    });

    it('gives the request up RESOLVE_TIMEOUT_MS after it was made while the order stays non-terminal, and forgets it', () => {
      const asked = step(gaveUp(), ev.resolve(deadline + HOUR), ctxOf({ webhookAlive: true })).state;
      const before = step(asked, ev.observed(deadline + HOUR + policy.resolveTimeoutMs - 1, order('processing')), ctxOf({ webhookAlive: true }));
      expect(waitOf(before)).toMatchObject({ kind: 'wait', reason: 'resolution_in_progress' });
      const after = step(before.state, ev.observed(deadline + HOUR + policy.resolveTimeoutMs, order('processing')), ctxOf({ webhookAlive: true }));
      expect(after.action).toEqual({ kind: 'refuse_resolution', reason: 'timed_out' });
      expect(after.state.resolution).toBeNull();
      expect(after.state.result).toMatchObject({ status: 'unresolved' });
      // A terminal answer at the last moment still resolves it.
      const late = step(before.state, ev.observed(deadline + HOUR + policy.resolveTimeoutMs, order('completed')));
      expect(late.action).toMatchObject({ kind: 'emit', result: { status: 'completed', resolves: 'unresolved' } });
    });

    it('gives the request up when its lookups keep failing past RESOLVE_TIMEOUT_MS', () => {
      const asked = step(gaveUp(), ev.resolve(deadline + HOUR)).state;
      const failing = step(asked, ev.failed(deadline + HOUR + SECOND, 'lookup'));
      expect(waitOf(failing)).toMatchObject({ kind: 'wait', reason: 'retry_after_failure' });
      const after = step(failing.state, ev.failed(deadline + HOUR + policy.resolveTimeoutMs, 'lookup'));
      expect(after.action).toEqual({ kind: 'refuse_resolution', reason: 'timed_out' });
      expect(after.state.resolution).toBeNull();
    });

    it('refuses an order that carries another merchant_order_id, and forgets the request', () => {
      const asked = step(gaveUp(), ev.resolve(deadline + HOUR, OTHER_ORDER_ID)).state;
      const d = step(asked, ev.observed(deadline + HOUR, apiOrder(OTHER_MID, OTHER_ORDER_ID, 'completed')));
      expect(d.action).toEqual({ kind: 'refuse_resolution', reason: 'other_order' });
      expect(d.state.resolution).toBeNull();
      expect(d.state.result).toMatchObject({ status: 'unresolved' });
    });

    it('accepts an order that carries no merchant_order_id (the API allows them)', () => {
      const asked = step(gaveUp(), ev.resolve(deadline + HOUR)).state;
      const d = step(asked, ev.observed(deadline + HOUR, order('failed', { merchantOrderId: null, refundAmount: 18 })));
      expect(d.action).toMatchObject({ kind: 'emit', result: { status: 'failed', resolves: 'unresolved', merchant_order_id: MID } });
    });

    it('takes the latest order id an operator names while a request is looked up', () => {
      const first = step(gaveUp(), ev.resolve(deadline + HOUR)).state;
      const second = step(first, ev.resolve(deadline + 2 * HOUR, OTHER_ORDER_ID));
      expect(second.action).toEqual({ kind: 'lookup', orderId: OTHER_ORDER_ID });
      expect(second.state.resolution).toEqual({ kind: 'requested', orderId: OTHER_ORDER_ID, requestedAtMs: deadline + 2 * HOUR, failures: 0 });
    });

    it('refuses while the unresolved result is not emitted yet, and for any result that is not unresolved', () => {
      const notOut = step(states.awaiting_webhook(), ev.started(deadline)).state;
      expect(step(notOut, ev.resolve(deadline + 1)).action).toEqual({ kind: 'refuse_resolution', reason: 'not_finished' });
      const rejected = reach(fresh(), [ev.started(T0, { kind: 'invalid', code: 'validation_error', message: 'no such item' }), ev.emitted(T0)]);
      expect(step(rejected, ev.resolve(T0 + HOUR)).action).toEqual({ kind: 'refuse_resolution', reason: 'not_unresolved' });
      expect(step(rejected, ev.resolve(T0 + HOUR)).state).toBe(rejected);
    });

    it('answers a request for an order already resolved by its webhook with that resolution (no-op)', () => {
      const resolved = reach(gaveUp(), [ev.webhook(deadline + MINUTE, order('completed')), ev.emitted(deadline + MINUTE)]);
      const d = step(resolved, ev.resolve(deadline + HOUR));
      expect(d.state).toBe(resolved);
      expect(d.action).toMatchObject({ kind: 'finish', result: { resolves: 'unresolved', source: 'webhook' } });
    });

    it('applies a late webhook the receiver stored but did not apply, whatever order id the request names', () => {
      const d = step(gaveUp(), ev.resolve(deadline + HOUR, OTHER_ORDER_ID), ctxOf({ webhookOrder: order('failed', { refundAmount: 18 }) }));
      expect(d.action).toMatchObject({ kind: 'emit', result: { status: 'failed', resolves: 'unresolved', source: 'webhook', order_id: ORDER_ID } });
      expect(d.state.resolution).toMatchObject({ kind: 'resolved', emitted: false });
    });

    it('lets the late webhook win over a request still looking the order up', () => {
      const asked = step(gaveUp(), ev.resolve(deadline + HOUR)).state;
      const d = step(asked, ev.webhook(deadline + HOUR + SECOND, order('completed')));
      expect(d.action).toMatchObject({ kind: 'emit', result: { resolves: 'unresolved', source: 'webhook' } });
      // The request's next lookup then finds it resolved.
      const out = step(d.state, ev.emitted(deadline + HOUR + SECOND)).state;
      expect(step(out, ev.observed(deadline + HOUR + 2 * SECOND, order('completed'))).action).toMatchObject({ kind: 'finish', result: { source: 'webhook' } });
    });
  });
});

describe('decide under random event sequences (fast-check)', () => {
  it('keeps every invariant', () => {
    const coverage: Coverage = { phases: new Set(), results: new Set(), situations: new Set() };
    fc.assert(
      fc.property(worldArb, fc.array(moveArb, { minLength: 1, maxLength: 60, size: 'max' }), (world, moves) => {
        checkSequence(world, moves, coverage);
      }),
      { seed: 7, numRuns: 1000 },
    );

    // The generator must reach the interesting places, or the invariants prove nothing.
    expect([...coverage.phases].sort()).toEqual([...PHASES].sort());
    for (const kind of [
      'completed/poll',
      'completed/webhook',
      'failed/poll',
      'partial/webhook',
      'rejected/validation_error',
      'rejected/duplicate_merchant_order_id',
      'rejected/price_exceeds_max',
      'rejected/price_unverifiable',
      'rejected/api_rejected',
      'unresolved/unresolved',
    ]) {
      expect([...coverage.results], kind).toContain(kind);
    }
    expect([...coverage.situations].sort()).toEqual(
      [
        'awaiting the webhook',
        'maybe-landed create retried',
        'maybe-landed order rejected on a provable rejection',
        'past the retry cutoff',
        'result emitted after the grace',
        'result found before it was emitted',
        'settled by a stored webhook',
        'stuck flagged',
        'unresolved after several maybe-landed attempts',
        'resolved by a late webhook',
        'resolved by an operator',
        'resolve refused: not_finished',
        'resolve refused: not_unresolved',
        'resolve refused: other_order',
        'resolve refused: timed_out',
        'resolve refused: order_not_found',
      ].sort(),
    );
  });
});

describe('when the deadline comes with a webhook already stored', () => {
  const deadline = LAST_MAYBE_LANDED_AT + policy.resolveTimeoutMs;
  const webhook = order('completed', { merchantOrderId: MID });

  it('settles the order from the stored webhook instead of giving up', () => {
    const d = step(states.awaiting_webhook(), ev.started(deadline + SECOND), ctxOf({ webhookOrder: webhook }));
    expect(d.state.phase).toBe('done');
    expect(resultOf(d)).toMatchObject({ status: 'completed', order_id: ORDER_ID, source: 'webhook' });
    expect(d.action.kind).toBe('emit');
  });

  it('still gives up without one', () => {
    const d = step(states.awaiting_webhook(), ev.started(deadline + SECOND));
    expect(resultOf(d)).toMatchObject({ status: 'unresolved', order_id: null });
  });

  it('gives up when the stored webhook is another order’s', () => {
    const foreign = order('completed', { merchantOrderId: OTHER_MID });
    const d = step(states.awaiting_webhook(), ev.started(deadline + SECOND), ctxOf({ webhookOrder: foreign }));
    expect(resultOf(d)).toMatchObject({ status: 'unresolved' });
  });

  it('settles from the stored webhook a retry the API rejected after an attempt that may have landed', () => {
    const placing: OrderState = { ...states.placing(), maybeLanded: true, maybeLandedAtMs: MAYBE_LANDED_AT, lastMaybeLandedAtMs: MAYBE_LANDED_AT, attempts: 2 };
    const d = step(placing, ev.rejected(AT), ctxOf({ webhookOrder: webhook }));
    expect(resultOf(d)).toMatchObject({ status: 'completed', order_id: ORDER_ID, source: 'webhook' });
  });

  it('keeps the rejection of a clean first attempt: a stored webhook then is another system’s order', () => {
    const d = step(states.placing(), ev.rejected(AT), ctxOf({ webhookOrder: webhook }));
    expect(resultOf(d)).toMatchObject({ status: 'rejected', error: 'validation_error' });
  });
});
