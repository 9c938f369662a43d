import { describe, expect, it } from 'vitest';
import type { Order, OrderStatus } from '../../src/api/order.js';
import {
  initialState,
  nextStep,
  resolveDeadline,
  resultFromOrder,
  transition,
  type Transition,
} from '../../src/lifecycle/order-machine.js';
import type {
  Intent,
  LifecyclePolicy,
  OrderEvent,
  OrderEventType,
  OrderResult,
  OrderState,
  Phase,
} from '../../src/lifecycle/order-state.js';

// ---------------------------------------------------------------------------------------------
// Fixtures. Times are fixed epoch ms: the machine has no clock, so nothing here depends on "now".
// ---------------------------------------------------------------------------------------------

const T0 = Date.UTC(2025, 0, 15, 12, 0, 0);
const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const iso = (ms: number): string => new Date(ms).toISOString();

const policy: LifecyclePolicy = { balanceWaitMaxMs: 10 * MINUTE, resolveTimeoutMs: 30 * MINUTE };

const MOID = 'shop-1001';
const OTHER_MOID = 'shop-2002';
const ORDER_ID = '6f1d3a52-8c1e-4d7b-9a51-0d8a3c2e7b11';
const OTHER_ORDER_ID = 'a0b9c8d7-0000-4000-8000-123456789abc';

const intent: Intent = { merchantOrderId: MOID, itemId: 42, quantity: 2, fields: { server: 17 }, maxPrice: 50 };

/** When the fixture states recorded their first attempt / started waiting for funds. */
const FIRST_ATTEMPT_AT = T0 + 2 * SECOND;
const FUNDS_WAIT_SINCE = T0 + 1 * SECOND;
/**
 * When the fixture states' attempt first may have landed: later than the first attempt, so a test
 * can tell which of the two the resolve deadline counts from.
 */
const MAYBE_LANDED_AT = T0 + 3 * SECOND;
/** The time of table events: early, so no funds or resolve limit has passed. */
const AT = T0 + 5 * SECOND;
/** The time of the table's deadline_check: a minute past the resolve deadline of the fixture states. */
const LATE = MAYBE_LANDED_AT + policy.resolveTimeoutMs + MINUTE;

function order(overrides: Partial<Order> = {}): Order {
  return {
    id: ORDER_ID,
    status: 'pending',
    merchantOrderId: MOID,
    itemId: 42,
    itemName: 'Steam Gift Card 20 EUR',
    productType: 'key',
    quantity: 2,
    deliveredQuantity: 0,
    price: 39.5,
    refundAmount: 0,
    fields: {},
    codes: [],
    error: null,
    errorMessage: null,
    createdAt: iso(FIRST_ATTEMPT_AT),
    completedAt: null,
    ...overrides,
  };
}

const completedOrder = (overrides: Partial<Order> = {}): Order =>
  order({
    status: 'completed',
    deliveredQuantity: 2,
    codes: ['AAAA-BBBB-CCCC', 'DDDD-EEEE-FFFF'],
    completedAt: iso(T0 + MINUTE),
    ...overrides,
  });

const partialOrder = (overrides: Partial<Order> = {}): Order =>
  order({
    status: 'partial',
    deliveredQuantity: 1,
    refundAmount: 19.75,
    codes: ['AAAA-BBBB-CCCC'],
    completedAt: iso(T0 + MINUTE),
    ...overrides,
  });

const failedOrder = (overrides: Partial<Order> = {}): Order =>
  order({
    status: 'failed',
    refundAmount: 39.5,
    error: 'OUT_OF_STOCK',
    errorMessage: 'the supplier ran out of stock',
    completedAt: iso(T0 + MINUTE),
    ...overrides,
  });

// Event factories: one per event type, with defaults a test overrides only where it matters.
const ev = {
  intentRejected: (atMs: number, code = 'price_exceeds_max', message = 'the item costs more than max_price'): OrderEvent => ({
    type: 'intent_rejected',
    atMs,
    code,
    message,
  }),
  fundsShort: (atMs: number): OrderEvent => ({ type: 'funds_short', atMs }),
  attemptStarted: (atMs: number): OrderEvent => ({ type: 'attempt_started', atMs }),
  createSucceeded: (atMs: number, o: Order = order()): OrderEvent => ({ type: 'create_succeeded', atMs, order: o }),
  createRejected: (atMs: number, code = 'validation_error', message = 'quantity out of range'): OrderEvent => ({
    type: 'create_rejected',
    atMs,
    code,
    message,
  }),
  createAmbiguous: (atMs: number): OrderEvent => ({ type: 'create_ambiguous', atMs }),
  createNotSent: (atMs: number): OrderEvent => ({ type: 'create_not_sent', atMs }),
  observed: (atMs: number, o: Order, source: 'poll' | 'webhook' = 'poll'): OrderEvent => ({ type: 'order_observed', atMs, order: o, source }),
  deadlineCheck: (atMs: number): OrderEvent => ({ type: 'deadline_check', atMs }),
};

// State factories: one per phase, shaped like the states the machine itself produces.
const states: Record<Phase, () => OrderState> = {
  received: () => initialState(intent, T0),
  waiting_funds: () => ({ ...initialState(intent, T0), phase: 'waiting_funds', fundsWaitSinceMs: FUNDS_WAIT_SINCE }),
  placing: () => ({ ...initialState(intent, T0), phase: 'placing', attempts: 1, firstAttemptAtMs: FIRST_ATTEMPT_AT }),
  ambiguous: () => ({ ...states.placing(), phase: 'ambiguous', maybeLanded: true, maybeLandedAtMs: MAYBE_LANDED_AT }),
  placed: () => ({ ...states.placing(), phase: 'placed', orderId: ORDER_ID }),
  awaiting_webhook: () => ({
    ...states.placing(),
    phase: 'awaiting_webhook',
    attempts: 2,
    maybeLanded: true,
    maybeLandedAtMs: MAYBE_LANDED_AT,
  }),
  done: () => {
    const placed = states.placed();
    return { ...placed, phase: 'done', result: resultFromOrder(placed, completedOrder(), 'poll', T0 + MINUTE) };
  },
};

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

function step(state: OrderState, event: OrderEvent, limits: LifecyclePolicy = policy): Transition {
  // Frozen input: a transition that mutated its input would throw (ESM is strict mode).
  return transition(deepFreeze(state), event, limits);
}

function moved(t: Transition): OrderState {
  if (t.kind !== 'moved') throw new Error(`expected a move, but the event was ignored: ${t.reason}`);
  return t.state;
}

/** Applies events in order; every one of them must move the state. */
function play(start: OrderState, events: readonly OrderEvent[]): OrderState {
  return events.reduce((state, event) => moved(step(state, event)), start);
}

function resultOf(state: OrderState): OrderResult {
  expect(state.phase).toBe('done');
  if (state.result === null) throw new Error('a done state must carry its result');
  return state.result;
}

// ---------------------------------------------------------------------------------------------
// 1. Every event type in every phase.
// ---------------------------------------------------------------------------------------------

/** The event each table row sends, by type. */
function tableEvent(type: OrderEventType): OrderEvent {
  switch (type) {
    case 'intent_rejected':
      return ev.intentRejected(AT);
    case 'funds_short':
      return ev.fundsShort(AT);
    case 'attempt_started':
      return ev.attemptStarted(AT);
    case 'create_succeeded':
      return ev.createSucceeded(AT, order({ status: 'pending' }));
    case 'create_rejected':
      return ev.createRejected(AT, 'validation_error', 'quantity out of range');
    case 'create_ambiguous':
      return ev.createAmbiguous(AT);
    case 'create_not_sent':
      return ev.createNotSent(AT);
    case 'order_observed':
      return ev.observed(AT, completedOrder(), 'webhook');
    case 'deadline_check':
      return ev.deadlineCheck(LATE);
  }
}

type StatePatch = Partial<Omit<OrderState, 'phase' | 'result' | 'intent'>>;
type Expected =
  | { ignored: string }
  | { phase: Phase; patch?: StatePatch; result?: Partial<OrderResult> };

interface Row {
  does: string;
  then: Expected;
}

const rejectedByIntent: Row = {
  does: 'is decided: rejected with the intent code and message, by the worker',
  then: {
    phase: 'done',
    result: {
      status: 'rejected',
      source: 'worker',
      error: 'price_exceeds_max',
      error_message: 'the item costs more than max_price',
      order_id: null,
      resolved_at: iso(AT),
    },
  },
};
const completedByWebhook: Row = {
  does: 'is decided: completed, from the webhook, with the order id',
  then: {
    phase: 'done',
    patch: { orderId: ORDER_ID },
    result: { status: 'completed', source: 'webhook', order_id: ORDER_ID, codes: completedOrder().codes, resolved_at: iso(AT) },
  },
};
const unresolvedAfterDeadline: Row = {
  does: 'is decided after the deadline: unresolved, by the worker, without an order id',
  then: { phase: 'done', result: { status: 'unresolved', source: 'worker', error: 'unresolved', order_id: null, resolved_at: iso(LATE) } },
};
const firstAttempt: Row = {
  does: 'moves to placing and counts the first attempt; nothing may have landed yet',
  then: { phase: 'placing', patch: { attempts: 1, firstAttemptAtMs: AT, maybeLanded: false, maybeLandedAtMs: null } },
};
const ignored = (reason: string): Row => ({ does: `is ignored (${reason})`, then: { ignored: reason } });
const NO_ATTEMPT_IN_FLIGHT = ignored('no attempt is in flight');
const ALREADY_ACCEPTED = ignored('the intent was already accepted for placement');
const NOT_GATED = ignored('funds only gate an order that was never sent');
const NO_DEADLINE = ignored('only an unknown outcome has a deadline');
const DECIDED = ignored('the result is already decided');

// Record<Phase, Record<OrderEventType, Row>>: the compiler refuses a missing phase or event type.
const table: Record<Phase, Record<OrderEventType, Row>> = {
  received: {
    intent_rejected: rejectedByIntent,
    funds_short: {
      does: 'moves to waiting_funds and starts the funds wait at the event time',
      then: { phase: 'waiting_funds', patch: { fundsWaitSinceMs: AT } },
    },
    attempt_started: firstAttempt,
    create_succeeded: NO_ATTEMPT_IN_FLIGHT,
    create_rejected: NO_ATTEMPT_IN_FLIGHT,
    create_ambiguous: NO_ATTEMPT_IN_FLIGHT,
    create_not_sent: NO_ATTEMPT_IN_FLIGHT,
    order_observed: ignored('no attempt was made yet'),
    deadline_check: NO_DEADLINE,
  },
  waiting_funds: {
    intent_rejected: rejectedByIntent,
    funds_short: {
      does: 'stays in waiting_funds and keeps the first since-time',
      then: { phase: 'waiting_funds', patch: { fundsWaitSinceMs: FUNDS_WAIT_SINCE } },
    },
    attempt_started: {
      does: 'moves to placing and counts the first attempt, keeping the funds wait since-time (an API insufficient_balance continues it)',
      then: { phase: 'placing', patch: { attempts: 1, firstAttemptAtMs: AT, fundsWaitSinceMs: FUNDS_WAIT_SINCE, maybeLandedAtMs: null } },
    },
    create_succeeded: NO_ATTEMPT_IN_FLIGHT,
    create_rejected: NO_ATTEMPT_IN_FLIGHT,
    create_ambiguous: NO_ATTEMPT_IN_FLIGHT,
    create_not_sent: NO_ATTEMPT_IN_FLIGHT,
    order_observed: ignored('no attempt was made yet'),
    deadline_check: NO_DEADLINE,
  },
  placing: {
    intent_rejected: ALREADY_ACCEPTED,
    funds_short: NOT_GATED,
    attempt_started: {
      does: 'stays in placing, counts the attempt and marks maybeLanded from now (the previous worker died mid-POST)',
      then: { phase: 'placing', patch: { attempts: 2, maybeLanded: true, maybeLandedAtMs: AT, firstAttemptAtMs: FIRST_ATTEMPT_AT } },
    },
    create_succeeded: {
      does: 'moves to placed with the order id',
      then: { phase: 'placed', patch: { orderId: ORDER_ID } },
    },
    create_rejected: {
      does: 'is decided: rejected with the API code and message',
      then: {
        phase: 'done',
        result: { status: 'rejected', source: 'worker', error: 'validation_error', error_message: 'quantity out of range', order_id: null },
      },
    },
    create_ambiguous: {
      does: 'moves to ambiguous and marks maybeLanded from now',
      then: { phase: 'ambiguous', patch: { maybeLanded: true, maybeLandedAtMs: AT, attempts: 1 } },
    },
    create_not_sent: {
      does: 'moves back to received, keeping the attempt count',
      then: { phase: 'received', patch: { attempts: 1, maybeLanded: false, maybeLandedAtMs: null, firstAttemptAtMs: FIRST_ATTEMPT_AT } },
    },
    order_observed: completedByWebhook,
    deadline_check: NO_DEADLINE,
  },
  ambiguous: {
    intent_rejected: ALREADY_ACCEPTED,
    funds_short: NOT_GATED,
    attempt_started: {
      does: 'moves to placing for the retry, keeping maybeLanded, its time and the first attempt time',
      then: {
        phase: 'placing',
        patch: { attempts: 2, maybeLanded: true, maybeLandedAtMs: MAYBE_LANDED_AT, firstAttemptAtMs: FIRST_ATTEMPT_AT },
      },
    },
    create_succeeded: NO_ATTEMPT_IN_FLIGHT,
    create_rejected: NO_ATTEMPT_IN_FLIGHT,
    create_ambiguous: NO_ATTEMPT_IN_FLIGHT,
    create_not_sent: NO_ATTEMPT_IN_FLIGHT,
    order_observed: completedByWebhook,
    deadline_check: unresolvedAfterDeadline,
  },
  placed: {
    intent_rejected: ALREADY_ACCEPTED,
    funds_short: NOT_GATED,
    attempt_started: ignored('the order already exists'),
    create_succeeded: NO_ATTEMPT_IN_FLIGHT,
    create_rejected: NO_ATTEMPT_IN_FLIGHT,
    create_ambiguous: NO_ATTEMPT_IN_FLIGHT,
    create_not_sent: NO_ATTEMPT_IN_FLIGHT,
    order_observed: completedByWebhook,
    deadline_check: NO_DEADLINE,
  },
  awaiting_webhook: {
    intent_rejected: ALREADY_ACCEPTED,
    funds_short: NOT_GATED,
    attempt_started: ignored('the order already exists'),
    create_succeeded: NO_ATTEMPT_IN_FLIGHT,
    create_rejected: NO_ATTEMPT_IN_FLIGHT,
    create_ambiguous: NO_ATTEMPT_IN_FLIGHT,
    create_not_sent: NO_ATTEMPT_IN_FLIGHT,
    order_observed: completedByWebhook,
    deadline_check: unresolvedAfterDeadline,
  },
  done: {
    intent_rejected: DECIDED,
    funds_short: DECIDED,
    attempt_started: DECIDED,
    create_succeeded: DECIDED,
    create_rejected: DECIDED,
    create_ambiguous: DECIDED,
    create_not_sent: DECIDED,
    order_observed: DECIDED,
    deadline_check: DECIDED,
  },
};

function expectOutcome(before: OrderState, t: Transition, expected: Expected): void {
  if ('ignored' in expected) {
    expect(t).toEqual({ kind: 'ignored', reason: expected.ignored });
    return;
  }
  const after = moved(t);
  // Every field not named in the row must be carried over unchanged.
  const { result: _resultAfter, ...restAfter } = after;
  const { result: _resultBefore, ...restBefore } = before;
  expect(restAfter).toEqual({ ...restBefore, ...expected.patch, phase: expected.phase });
  if (expected.phase === 'done') {
    expect(after.result).not.toBeNull();
    expect(after.result).toMatchObject({ merchant_order_id: MOID, ...expected.result });
  } else {
    expect(after.result).toBeNull();
  }
}

describe('transition: every event type in every phase', () => {
  // The table's type (every Phase × every OrderEventType) makes tsc prove it exhaustive.
  for (const [phase, byEvent] of Object.entries(table) as [Phase, Record<OrderEventType, Row>][]) {
    describe(`in phase ${phase}`, () => {
      for (const [type, row] of Object.entries(byEvent) as [OrderEventType, Row][]) {
        it(`on ${type} ${row.does}`, () => {
          const before = states[phase]();
          const snapshot = structuredClone(before);
          const t = step(before, tableEvent(type));
          expectOutcome(before, t, row.then);
          expect(before).toEqual(snapshot);
        });
      }
    });
  }
});

describe('transition: variants the table holds fixed', () => {
  describe('when an attempt is answered with a rejection', () => {
    const cases: { code: string; maybeLanded: boolean; expected: Expected }[] = [
      {
        code: 'duplicate_merchant_order_id',
        maybeLanded: false,
        expected: { phase: 'done', result: { status: 'rejected', error: 'duplicate_merchant_order_id', source: 'worker' } },
      },
      { code: 'duplicate_merchant_order_id', maybeLanded: true, expected: { phase: 'awaiting_webhook' } },
      { code: 'insufficient_balance', maybeLanded: false, expected: { phase: 'waiting_funds', patch: { fundsWaitSinceMs: AT } } },
      { code: 'insufficient_balance', maybeLanded: true, expected: { phase: 'awaiting_webhook' } },
      {
        code: 'validation_error',
        maybeLanded: false,
        expected: { phase: 'done', result: { status: 'rejected', error: 'validation_error', error_message: 'no good' } },
      },
      { code: 'validation_error', maybeLanded: true, expected: { phase: 'awaiting_webhook' } },
      {
        code: 'already_exists',
        maybeLanded: false,
        expected: { phase: 'done', result: { status: 'rejected', error: 'already_exists' } },
      },
      { code: 'already_exists', maybeLanded: true, expected: { phase: 'awaiting_webhook' } },
    ];
    for (const { code, maybeLanded, expected } of cases) {
      const outcome = 'ignored' in expected ? 'is ignored' : `moves to ${expected.phase}`;
      it(`${code} ${maybeLanded ? 'after an attempt that may have landed' : 'on a clean attempt'} ${outcome}`, () => {
        const before = { ...states.placing(), maybeLanded };
        expectOutcome(before, step(before, ev.createRejected(AT, code, 'no good')), expected);
      });
    }
  });

  it('create_succeeded with a terminal order is decided at once, from the create response', () => {
    const before = states.placing();
    expectOutcome(before, step(before, ev.createSucceeded(AT, failedOrder())), {
      phase: 'done',
      patch: { orderId: ORDER_ID },
      result: { status: 'failed', source: 'poll', order_id: ORDER_ID, error: 'OUT_OF_STOCK' },
    });
  });

  it('create_not_sent after an attempt that may have landed goes back to ambiguous, not received', () => {
    const before = { ...states.placing(), attempts: 2, maybeLanded: true };
    expectOutcome(before, step(before, ev.createNotSent(AT)), { phase: 'ambiguous' });
  });

  it('attempt_started from waiting_funds after an earlier attempt keeps the first attempt time and the funds wait', () => {
    const before: OrderState = { ...states.waiting_funds(), attempts: 1, firstAttemptAtMs: FIRST_ATTEMPT_AT };
    expectOutcome(before, step(before, ev.attemptStarted(AT)), {
      phase: 'placing',
      patch: { attempts: 2, firstAttemptAtMs: FIRST_ATTEMPT_AT, fundsWaitSinceMs: FUNDS_WAIT_SINCE },
    });
  });

  describe('when the attempt may have landed more than once, maybeLandedAtMs keeps the first time', () => {
    const landedBefore: OrderState = { ...states.placing(), attempts: 2, maybeLanded: true, maybeLandedAtMs: MAYBE_LANDED_AT };

    it('a further worker death in placing keeps it', () => {
      expectOutcome(landedBefore, step(landedBefore, ev.attemptStarted(AT)), { phase: 'placing', patch: { attempts: 3 } });
    });

    it('an ambiguous answer to the retry keeps it', () => {
      expectOutcome(landedBefore, step(landedBefore, ev.createAmbiguous(AT)), { phase: 'ambiguous' });
    });

    it('a rejected retry moves to awaiting_webhook and keeps it', () => {
      expectOutcome(landedBefore, step(landedBefore, ev.createRejected(AT, 'duplicate_merchant_order_id', 'used')), {
        phase: 'awaiting_webhook',
      });
    });

    it('a not-sent retry goes back to ambiguous and keeps it', () => {
      expectOutcome(landedBefore, step(landedBefore, ev.createNotSent(AT)), { phase: 'ambiguous' });
    });
  });

  describe('when an API insufficient_balance answers an attempt made during a funds wait', () => {
    const placingAfterWait: OrderState = { ...states.placing(), fundsWaitSinceMs: FUNDS_WAIT_SINCE };

    it('before balanceWaitMaxMs, it goes back to waiting_funds with the same since-time', () => {
      const at = FUNDS_WAIT_SINCE + policy.balanceWaitMaxMs - 1;
      expectOutcome(placingAfterWait, step(placingAfterWait, ev.createRejected(at, 'insufficient_balance', 'balance too low')), {
        phase: 'waiting_funds',
      });
    });

    it('exactly at balanceWaitMaxMs, it is rejected with insufficient_balance', () => {
      const at = FUNDS_WAIT_SINCE + policy.balanceWaitMaxMs;
      expectOutcome(placingAfterWait, step(placingAfterWait, ev.createRejected(at, 'insufficient_balance', 'balance too low')), {
        phase: 'done',
        result: {
          status: 'rejected',
          error: 'insufficient_balance',
          error_message: 'the balance did not cover the order before BALANCE_WAIT_MAX_MS',
          source: 'worker',
          order_id: null,
          resolved_at: iso(at),
        },
      });
    });

    it('with a zero wait limit, the first such answer is rejected at once', () => {
      const noWait: LifecyclePolicy = { ...policy, balanceWaitMaxMs: 0 };
      const t = step(states.placing(), ev.createRejected(AT, 'insufficient_balance', 'balance too low'), noWait);
      expect(resultOf(moved(t))).toMatchObject({ status: 'rejected', error: 'insufficient_balance' });
    });
  });

  describe('when an observed order carries another merchant_order_id', () => {
    const FOREIGN = 'the observed order belongs to another merchant_order_id';
    const foreign: Record<Phase, Expected> = {
      received: { ignored: FOREIGN },
      waiting_funds: { ignored: FOREIGN },
      placing: { ignored: FOREIGN },
      ambiguous: { ignored: FOREIGN },
      placed: { ignored: FOREIGN },
      awaiting_webhook: { ignored: FOREIGN },
      done: { ignored: 'the result is already decided' },
    };
    for (const [phase, expected] of Object.entries(foreign) as [Phase, Expected][]) {
      for (const status of ['processing', 'completed', 'failed'] as const) {
        it(`in ${phase}, a ${status} order is ignored`, () => {
          const before = states[phase]();
          // Same order id as the fixtures, so only the merchant_order_id can be the reason.
          const o = order({ status, merchantOrderId: OTHER_MOID });
          expectOutcome(before, step(before, ev.observed(AT, o, 'webhook')), expected);
        });
      }
    }

    it('an order without merchant_order_id (a lookup that omits it) is still accepted by its id', () => {
      const before = states.placed();
      expectOutcome(before, step(before, ev.observed(AT, completedOrder({ merchantOrderId: null }))), {
        phase: 'done',
        patch: { orderId: ORDER_ID },
        result: { status: 'completed', order_id: ORDER_ID, source: 'poll' },
      });
    });
  });

  describe('when an order is observed still in progress', () => {
    const inProgress: Record<Phase, Expected> = {
      received: { ignored: 'no attempt was made yet' },
      waiting_funds: { ignored: 'no attempt was made yet' },
      placing: { phase: 'placed', patch: { orderId: ORDER_ID } },
      ambiguous: { phase: 'placed', patch: { orderId: ORDER_ID } },
      placed: { ignored: 'still in progress' },
      awaiting_webhook: { phase: 'placed', patch: { orderId: ORDER_ID } },
      done: { ignored: 'the result is already decided' },
    };
    for (const [phase, expected] of Object.entries(inProgress) as [Phase, Expected][]) {
      for (const status of ['pending', 'processing'] as const) {
        it(`in ${phase}, a ${status} order ${'ignored' in expected ? 'is ignored' : 'moves to placed and learns the id'}`, () => {
          const before = states[phase]();
          expectOutcome(before, step(before, ev.observed(AT, order({ status }))), expected);
        });
      }
    }
  });

  it('in placed, an observation of another order id is ignored, terminal or not', () => {
    for (const o of [completedOrder({ id: OTHER_ORDER_ID }), order({ id: OTHER_ORDER_ID, status: 'processing' })]) {
      expect(step(states.placed(), ev.observed(AT, o))).toEqual({ kind: 'ignored', reason: 'the observed order is not this one' });
    }
  });

  describe('at the limits of the policy', () => {
    it('funds_short one ms before balanceWaitMaxMs keeps waiting', () => {
      const t = step(states.waiting_funds(), ev.fundsShort(FUNDS_WAIT_SINCE + policy.balanceWaitMaxMs - 1));
      expect(moved(t)).toMatchObject({ phase: 'waiting_funds', fundsWaitSinceMs: FUNDS_WAIT_SINCE });
    });

    it('funds_short exactly at balanceWaitMaxMs rejects with insufficient_balance', () => {
      const at = FUNDS_WAIT_SINCE + policy.balanceWaitMaxMs;
      const result = resultOf(moved(step(states.waiting_funds(), ev.fundsShort(at))));
      expect(result).toMatchObject({ status: 'rejected', error: 'insufficient_balance', source: 'worker', resolved_at: iso(at) });
    });

    it('funds_short in received with a zero wait limit rejects at once', () => {
      const t = transition(states.received(), ev.fundsShort(AT), { ...policy, balanceWaitMaxMs: 0 });
      expect(resultOf(moved(t))).toMatchObject({ status: 'rejected', error: 'insufficient_balance' });
    });

    for (const phase of ['ambiguous', 'awaiting_webhook'] as const) {
      it(`deadline_check in ${phase} one ms before the deadline (counted from maybeLandedAtMs) is ignored`, () => {
        // Already past resolveTimeoutMs from the first attempt: only maybeLandedAtMs keeps it waiting.
        expect(FIRST_ATTEMPT_AT + policy.resolveTimeoutMs).toBeLessThan(MAYBE_LANDED_AT + policy.resolveTimeoutMs - 1);
        const t = step(states[phase](), ev.deadlineCheck(MAYBE_LANDED_AT + policy.resolveTimeoutMs - 1));
        expect(t).toEqual({ kind: 'ignored', reason: 'the deadline has not passed' });
      });

      it(`deadline_check in ${phase} exactly at the deadline is decided unresolved`, () => {
        const at = MAYBE_LANDED_AT + policy.resolveTimeoutMs;
        expect(resultOf(moved(step(states[phase](), ev.deadlineCheck(at))))).toMatchObject({ status: 'unresolved', resolved_at: iso(at) });
      });
    }
  });
});

// ---------------------------------------------------------------------------------------------
// 2. Realistic paths.
// ---------------------------------------------------------------------------------------------

describe('order lifecycle scenarios', () => {
  describe('on the happy path', () => {
    const placedState = (): OrderState =>
      play(initialState(intent, T0), [ev.attemptStarted(T0 + SECOND), ev.createSucceeded(T0 + 2 * SECOND, order({ status: 'pending' }))]);

    it('a poll that finds the order completed decides the whole result from the order', () => {
      const placed = placedState();
      expect(placed).toMatchObject({ phase: 'placed', orderId: ORDER_ID, attempts: 1, maybeLanded: false });
      expect(nextStep(placed, policy)).toEqual({ kind: 'poll', orderId: ORDER_ID });

      const stillRunning = step(placed, ev.observed(T0 + 10 * SECOND, order({ status: 'processing' })));
      expect(stillRunning.kind).toBe('ignored');

      const doneAt = T0 + 20 * SECOND;
      const done = play(placed, [ev.observed(doneAt, completedOrder({ fields: { server: 'Europe (EU-West)' } }))]);
      expect(resultOf(done)).toEqual({
        merchant_order_id: MOID,
        order_id: ORDER_ID,
        status: 'completed',
        item_id: 42,
        quantity: 2,
        price: 39.5,
        delivered_quantity: 2,
        refund_amount: 0,
        codes: ['AAAA-BBBB-CCCC', 'DDDD-EEEE-FFFF'],
        fields: { server: 'Europe (EU-West)' },
        error: null,
        error_message: null,
        created_at: iso(FIRST_ATTEMPT_AT),
        completed_at: iso(T0 + MINUTE),
        resolved_at: iso(doneAt),
        source: 'poll',
      } satisfies OrderResult);
      expect(nextStep(done, policy)).toEqual({ kind: 'emit', result: done.result });
    });

    it('a webhook that reports the order completed decides the result with source webhook', () => {
      const done = play(placedState(), [ev.observed(T0 + 20 * SECOND, completedOrder(), 'webhook')]);
      expect(resultOf(done)).toMatchObject({ status: 'completed', source: 'webhook', order_id: ORDER_ID });
    });

    it('the webhook may arrive before the create response; the late response is then ignored', () => {
      const inFlight = play(initialState(intent, T0), [ev.attemptStarted(T0 + SECOND)]);
      const done = play(inFlight, [ev.observed(T0 + 2 * SECOND, completedOrder(), 'webhook')]);
      expect(resultOf(done)).toMatchObject({ status: 'completed', source: 'webhook', order_id: ORDER_ID });
      expect(step(done, ev.createSucceeded(T0 + 3 * SECOND, order()))).toEqual({ kind: 'ignored', reason: 'the result is already decided' });
    });

    it('uses the item id from the intent when the order does not carry one', () => {
      const done = play(placedState(), [ev.observed(T0 + 20 * SECOND, completedOrder({ itemId: null }))]);
      expect(resultOf(done).item_id).toBe(42);
    });
  });

  describe('when the order ends partial or failed', () => {
    it('a partial result carries the delivered quantity, refund and the codes that were delivered', () => {
      const done = play(initialState(intent, T0), [
        ev.attemptStarted(T0 + SECOND),
        ev.createSucceeded(T0 + 2 * SECOND),
        ev.observed(T0 + MINUTE, partialOrder()),
      ]);
      expect(resultOf(done)).toMatchObject({
        status: 'partial',
        order_id: ORDER_ID,
        delivered_quantity: 1,
        refund_amount: 19.75,
        codes: ['AAAA-BBBB-CCCC'],
        error: null,
      });
    });

    it('a failed result carries the error, message and full refund from the order', () => {
      const done = play(initialState(intent, T0), [
        ev.attemptStarted(T0 + SECOND),
        ev.createSucceeded(T0 + 2 * SECOND),
        ev.observed(T0 + MINUTE, failedOrder(), 'webhook'),
      ]);
      expect(resultOf(done)).toMatchObject({
        status: 'failed',
        order_id: ORDER_ID,
        delivered_quantity: 0,
        refund_amount: 39.5,
        codes: [],
        error: 'OUT_OF_STOCK',
        error_message: 'the supplier ran out of stock',
        source: 'webhook',
      });
    });
  });

  describe('when the create request times out and the retry answers "duplicate"', () => {
    const LANDED_AT = FIRST_ATTEMPT_AT + 10 * SECOND;
    const awaiting = (): OrderState =>
      play(initialState(intent, T0), [
        ev.attemptStarted(FIRST_ATTEMPT_AT),
        ev.createAmbiguous(LANDED_AT),
        ev.attemptStarted(FIRST_ATTEMPT_AT + 20 * SECOND),
        ev.createRejected(FIRST_ATTEMPT_AT + 21 * SECOND, 'duplicate_merchant_order_id', 'merchant_order_id already used'),
      ]);

    it('waits for the webhook until the deadline counted from the ambiguous answer', () => {
      const state = awaiting();
      expect(state).toMatchObject({
        phase: 'awaiting_webhook',
        attempts: 2,
        maybeLanded: true,
        maybeLandedAtMs: LANDED_AT,
        orderId: null,
        firstAttemptAtMs: FIRST_ATTEMPT_AT,
      });
      expect(nextStep(state, policy)).toEqual({ kind: 'await_webhook', deadlineMs: LANDED_AT + policy.resolveTimeoutMs });
    });

    it('the webhook completes the order with the order id it carries', () => {
      const done = play(awaiting(), [ev.observed(FIRST_ATTEMPT_AT + 5 * MINUTE, completedOrder({ id: OTHER_ORDER_ID }), 'webhook')]);
      expect(done.orderId).toBe(OTHER_ORDER_ID);
      expect(resultOf(done)).toMatchObject({ status: 'completed', order_id: OTHER_ORDER_ID, source: 'webhook', codes: completedOrder().codes });
    });

    it('without a webhook, a deadline check before the deadline is ignored and one after it is unresolved', () => {
      const state = awaiting();
      expect(step(state, ev.deadlineCheck(LANDED_AT + policy.resolveTimeoutMs - SECOND))).toEqual({
        kind: 'ignored',
        reason: 'the deadline has not passed',
      });
      const at = LANDED_AT + policy.resolveTimeoutMs + SECOND;
      const result = resultOf(play(state, [ev.deadlineCheck(at)]));
      expect(result).toMatchObject({ status: 'unresolved', error: 'unresolved', source: 'worker', order_id: null, resolved_at: iso(at) });
      expect(result.error_message).toContain(`"${MOID}"`);
    });

    it('a webhook arriving after the unresolved result cannot produce a second result', () => {
      const done = play(awaiting(), [ev.deadlineCheck(LANDED_AT + policy.resolveTimeoutMs)]);
      expect(step(done, ev.observed(LANDED_AT + policy.resolveTimeoutMs + MINUTE, completedOrder(), 'webhook'))).toEqual({
        kind: 'ignored',
        reason: 'the result is already decided',
      });
    });
  });

  it('a duplicate on the first attempt is rejected: the id was used before this system saw it', () => {
    const done = play(initialState(intent, T0), [
      ev.attemptStarted(T0 + SECOND),
      ev.createRejected(T0 + 2 * SECOND, 'duplicate_merchant_order_id', 'merchant_order_id already used'),
    ]);
    expect(resultOf(done)).toMatchObject({ status: 'rejected', error: 'duplicate_merchant_order_id', order_id: null, source: 'worker' });
  });

  it('a worker dying mid-POST marks the order maybe-landed, so a duplicate then waits for the webhook', () => {
    const afterCrash = play(initialState(intent, T0), [ev.attemptStarted(T0 + SECOND), ev.attemptStarted(T0 + MINUTE)]);
    expect(afterCrash).toMatchObject({
      phase: 'placing',
      attempts: 2,
      maybeLanded: true,
      maybeLandedAtMs: T0 + MINUTE,
      firstAttemptAtMs: T0 + SECOND,
    });
    expect(nextStep(afterCrash, policy)).toEqual({ kind: 'place', gateFunds: false });
    const waiting = play(afterCrash, [ev.createRejected(T0 + MINUTE + SECOND, 'duplicate_merchant_order_id', 'used')]);
    expect(waiting).toMatchObject({ phase: 'awaiting_webhook', result: null });
    // The crash was noticed when the second attempt started: the webhook's time counts from there.
    expect(nextStep(waiting, policy)).toEqual({ kind: 'await_webhook', deadlineMs: T0 + MINUTE + policy.resolveTimeoutMs });
  });

  it('a 429 (not sent) goes back to received with the attempt counted and nothing maybe-landed', () => {
    const back = play(initialState(intent, T0), [ev.attemptStarted(T0 + SECOND), ev.createNotSent(T0 + 2 * SECOND)]);
    expect(back).toMatchObject({
      phase: 'received',
      attempts: 1,
      maybeLanded: false,
      maybeLandedAtMs: null,
      firstAttemptAtMs: T0 + SECOND,
    });
    expect(nextStep(back, policy)).toEqual({ kind: 'place', gateFunds: true });
    const again = play(back, [ev.attemptStarted(T0 + 30 * SECOND)]);
    expect(again).toMatchObject({ phase: 'placing', attempts: 2, maybeLanded: false, firstAttemptAtMs: T0 + SECOND });
    // Nothing landed, so a duplicate now is still someone else's order.
    expect(resultOf(play(again, [ev.createRejected(T0 + 31 * SECOND, 'duplicate_merchant_order_id', 'used')])).status).toBe('rejected');
  });

  it('insufficient_balance from the API waits for funds from the time of the answer', () => {
    const waiting = play(initialState(intent, T0), [
      ev.attemptStarted(T0 + SECOND),
      ev.createRejected(T0 + 2 * SECOND, 'insufficient_balance', 'balance too low'),
    ]);
    expect(waiting).toMatchObject({ phase: 'waiting_funds', fundsWaitSinceMs: T0 + 2 * SECOND, attempts: 1, maybeLanded: false, result: null });
    expect(nextStep(waiting, policy)).toEqual({ kind: 'place', gateFunds: true });
  });

  it('repeated funds_short keeps the first since-time and rejects once balanceWaitMaxMs has passed', () => {
    const since = T0 + SECOND;
    const waiting = play(initialState(intent, T0), [ev.fundsShort(since), ev.fundsShort(since + 3 * MINUTE), ev.fundsShort(since + 9 * MINUTE)]);
    expect(waiting).toMatchObject({ phase: 'waiting_funds', fundsWaitSinceMs: since });
    const at = since + policy.balanceWaitMaxMs + SECOND;
    expect(resultOf(play(waiting, [ev.fundsShort(at)]))).toMatchObject({
      status: 'rejected',
      error: 'insufficient_balance',
      source: 'worker',
      order_id: null,
      resolved_at: iso(at),
    });
  });

  it('funds arriving in time let the attempt go out; the since-time stays, so the order can still be placed', () => {
    const placing = play(initialState(intent, T0), [ev.fundsShort(T0 + SECOND), ev.attemptStarted(T0 + 5 * MINUTE)]);
    expect(placing).toMatchObject({ phase: 'placing', fundsWaitSinceMs: T0 + SECOND, firstAttemptAtMs: T0 + 5 * MINUTE });
    // Past the funds limit, but the create succeeded: the kept since-time does not get in the way.
    const placed = play(placing, [ev.createSucceeded(T0 + SECOND + policy.balanceWaitMaxMs + MINUTE)]);
    expect(placed).toMatchObject({ phase: 'placed', orderId: ORDER_ID });
  });

  it('an API insufficient_balance after a funds wait continues that wait instead of starting a new one', () => {
    const since = T0 + SECOND;
    const waiting = play(initialState(intent, T0), [
      ev.fundsShort(since),
      ev.attemptStarted(since + 4 * MINUTE),
      ev.createRejected(since + 4 * MINUTE + SECOND, 'insufficient_balance', 'balance too low'),
    ]);
    expect(waiting).toMatchObject({ phase: 'waiting_funds', fundsWaitSinceMs: since, attempts: 1 });
    const at = since + policy.balanceWaitMaxMs;
    const done = play(waiting, [ev.attemptStarted(at - SECOND), ev.createRejected(at, 'insufficient_balance', 'balance too low')]);
    expect(resultOf(done)).toMatchObject({
      status: 'rejected',
      error: 'insufficient_balance',
      order_id: null,
      resolved_at: iso(at),
    });
  });

  it('a validation rejection is decided with the API code and message', () => {
    const done = play(initialState(intent, T0), [
      ev.attemptStarted(T0 + SECOND),
      ev.createRejected(T0 + 2 * SECOND, 'validation_error', 'quantity must be between 1 and 10'),
    ]);
    expect(resultOf(done)).toMatchObject({
      status: 'rejected',
      error: 'validation_error',
      error_message: 'quantity must be between 1 and 10',
      order_id: null,
      item_id: 42,
      quantity: 2,
      fields: { server: 17 },
      codes: [],
      delivered_quantity: 0,
      refund_amount: 0,
      price: null,
    });
  });

  it('an intent rejected before any attempt reports the intent\'s own item, quantity and fields', () => {
    const bare: Intent = { merchantOrderId: MOID, itemId: 7 };
    const done = play(initialState(bare, T0), [ev.intentRejected(T0 + SECOND, 'catalog_rejected', 'unknown item')]);
    expect(resultOf(done)).toMatchObject({ status: 'rejected', error: 'catalog_rejected', item_id: 7, quantity: null, fields: {} });
  });

  it('a create that answers an already-terminal order is decided at once', () => {
    const done = play(initialState(intent, T0), [ev.attemptStarted(T0 + SECOND), ev.createSucceeded(T0 + 2 * SECOND, completedOrder())]);
    expect(done.orderId).toBe(ORDER_ID);
    expect(resultOf(done)).toMatchObject({ status: 'completed', order_id: ORDER_ID, codes: completedOrder().codes });
  });

  it('an observation of a different order id is ignored and the right one still decides', () => {
    const placed = states.placed();
    expect(step(placed, ev.observed(AT, failedOrder({ id: OTHER_ORDER_ID }), 'webhook')).kind).toBe('ignored');
    expect(resultOf(play(placed, [ev.observed(AT, completedOrder())]))).toMatchObject({ status: 'completed', order_id: ORDER_ID });
  });

  it('once done, every event is ignored, so a second poll or webhook can never produce a second result', () => {
    const done = play(states.placed(), [ev.observed(AT, completedOrder())]);
    const first = resultOf(done);
    const later = AT + MINUTE;
    const events: OrderEvent[] = [
      ev.observed(later, completedOrder()),
      ev.observed(later, failedOrder(), 'webhook'),
      ev.observed(later, partialOrder({ id: OTHER_ORDER_ID }), 'webhook'),
      ev.intentRejected(later),
      ev.fundsShort(later + policy.balanceWaitMaxMs),
      ev.attemptStarted(later),
      ev.createSucceeded(later, completedOrder()),
      ev.createRejected(later, 'duplicate_merchant_order_id', 'used'),
      ev.createAmbiguous(later),
      ev.createNotSent(later),
      ev.deadlineCheck(later + policy.resolveTimeoutMs),
    ];
    for (const event of events) {
      expect(step(done, event)).toEqual({ kind: 'ignored', reason: 'the result is already decided' });
    }
    expect(done.result).toBe(first);
  });

  it('resolved_at is the time of the deciding event, in ISO form', () => {
    const at = Date.UTC(2025, 5, 30, 23, 59, 59, 123);
    const done = play(states.placed(), [ev.observed(at, completedOrder())]);
    expect(resultOf(done).resolved_at).toBe('2025-06-30T23:59:59.123Z');
  });
});

// ---------------------------------------------------------------------------------------------
// 3. nextStep and resolveDeadline.
// ---------------------------------------------------------------------------------------------

describe('resolveDeadline', () => {
  it('is the deadline deadline_check applies: ignored one ms before it, unresolved at it', () => {
    for (const state of [
      states.ambiguous(),
      { ...states.awaiting_webhook(), maybeLandedAtMs: null },
      { ...states.awaiting_webhook(), maybeLandedAtMs: null, firstAttemptAtMs: null },
    ]) {
      const deadline = resolveDeadline(state, policy);
      expect(step(state, ev.deadlineCheck(deadline - 1))).toEqual({ kind: 'ignored', reason: 'the deadline has not passed' });
      expect(resultOf(moved(step(state, ev.deadlineCheck(deadline)))).status).toBe('unresolved');
    }
  });

  it('moves with resolveTimeoutMs', () => {
    const state = states.awaiting_webhook();
    expect(resolveDeadline(state, { ...policy, resolveTimeoutMs: 5 * MINUTE })).toBe(MAYBE_LANDED_AT + 5 * MINUTE);
  });
});


describe('nextStep', () => {
  it('in received, places behind the funds gate', () => {
    expect(nextStep(states.received(), policy)).toEqual({ kind: 'place', gateFunds: true });
  });

  it('in waiting_funds, places behind the funds gate', () => {
    expect(nextStep(states.waiting_funds(), policy)).toEqual({ kind: 'place', gateFunds: true });
  });

  it('in placing, places again without the funds gate (the order may already be charged)', () => {
    expect(nextStep(states.placing(), policy)).toEqual({ kind: 'place', gateFunds: false });
  });

  it('in ambiguous, retries without the funds gate', () => {
    expect(nextStep(states.ambiguous(), policy)).toEqual({ kind: 'place', gateFunds: false });
  });

  it('in placed, polls the known order id', () => {
    expect(nextStep(states.placed(), policy)).toEqual({ kind: 'poll', orderId: ORDER_ID });
  });

  it('in awaiting_webhook, waits until resolveTimeoutMs after the attempt first may have landed', () => {
    expect(nextStep(states.awaiting_webhook(), policy)).toEqual({
      kind: 'await_webhook',
      deadlineMs: MAYBE_LANDED_AT + policy.resolveTimeoutMs,
    });
  });

  it('in awaiting_webhook without a maybe-landed time, counts the deadline from the first attempt', () => {
    const state: OrderState = { ...states.awaiting_webhook(), maybeLandedAtMs: null };
    expect(nextStep(state, policy)).toEqual({ kind: 'await_webhook', deadlineMs: FIRST_ATTEMPT_AT + policy.resolveTimeoutMs });
  });

  it('in awaiting_webhook without a maybe-landed or first attempt time, counts the deadline from receipt', () => {
    const state: OrderState = { ...states.awaiting_webhook(), maybeLandedAtMs: null, firstAttemptAtMs: null };
    expect(nextStep(state, policy)).toEqual({ kind: 'await_webhook', deadlineMs: T0 + policy.resolveTimeoutMs });
  });

  it('in done, emits the stored result itself', () => {
    const state = states.done();
    const next = nextStep(state, policy);
    expect(next.kind).toBe('emit');
    if (next.kind === 'emit') expect(next.result).toBe(state.result);
  });

  it('throws an invariant error for a placed state without an order id', () => {
    expect(() => nextStep({ ...states.placed(), orderId: null }, policy)).toThrow('invariant: a placed order has an id');
  });

  it('throws an invariant error for a done state without a result', () => {
    expect(() => nextStep({ ...states.done(), result: null }, policy)).toThrow('invariant: a done order has a result');
  });
});

// ---------------------------------------------------------------------------------------------
// 4. Property test: random event sequences keep the safety invariants.
// ---------------------------------------------------------------------------------------------

/** mulberry32: a tiny seeded PRNG, so a failing sequence is reproducible from its seed. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(random: () => number, items: readonly T[]): T {
  const item = items[Math.floor(random() * items.length)];
  if (item === undefined) throw new Error('pick from an empty list');
  return item;
}

const EVENT_TYPES: readonly OrderEventType[] = [
  'intent_rejected',
  'funds_short',
  'attempt_started',
  'create_succeeded',
  'create_rejected',
  'create_ambiguous',
  'create_not_sent',
  'order_observed',
  'deadline_check',
];
const STATUSES: readonly OrderStatus[] = ['pending', 'processing', 'completed', 'partial', 'failed'];
const REJECT_CODES = ['validation_error', 'duplicate_merchant_order_id', 'insufficient_balance', 'already_exists'] as const;
// Small and large steps, so both the funds and the resolve limits are crossed in some sequences.
const TIME_STEPS = [0, 1, SECOND, MINUTE, policy.balanceWaitMaxMs, policy.resolveTimeoutMs] as const;

function randomEvent(random: () => number, atMs: number): OrderEvent {
  const type = pick(random, EVENT_TYPES);
  const randomOrder = (): Order =>
    order({
      id: pick(random, [ORDER_ID, OTHER_ORDER_ID]),
      status: pick(random, STATUSES),
      // Mostly this order's merchant_order_id; sometimes another one, or none (a lookup may omit it).
      merchantOrderId: pick(random, [MOID, MOID, MOID, OTHER_MOID, null]),
    });
  switch (type) {
    case 'intent_rejected':
      return ev.intentRejected(atMs);
    case 'funds_short':
      return ev.fundsShort(atMs);
    case 'attempt_started':
      return ev.attemptStarted(atMs);
    case 'create_succeeded':
      return ev.createSucceeded(atMs, randomOrder());
    case 'create_rejected':
      return ev.createRejected(atMs, pick(random, REJECT_CODES), 'rejected');
    case 'create_ambiguous':
      return ev.createAmbiguous(atMs);
    case 'create_not_sent':
      return ev.createNotSent(atMs);
    case 'order_observed':
      return ev.observed(atMs, randomOrder(), pick(random, ['poll', 'webhook'] as const));
    case 'deadline_check':
      return ev.deadlineCheck(atMs);
  }
}

interface Coverage {
  pairs: Set<string>;
  phases: Set<Phase>;
  resultKinds: Set<string>;
  /** Named situations the invariants below are about, so a test can demand that they were reached. */
  situations: Set<string>;
}

/** Runs one random sequence and checks every invariant after every step. Returns nothing: it throws on a violation. */
function checkSequence(seed: number, maxLength: number, coverage: Coverage): void {
  const random = seededRandom(seed);
  const length = 1 + Math.floor(random() * maxLength);
  let state = initialState(intent, T0);
  let now = T0;
  let everMaybeLanded = false;
  const trail: string[] = [];

  for (let i = 0; i < length; i += 1) {
    now += pick(random, TIME_STEPS);
    const event = randomEvent(random, now);
    const before = state;
    trail.push(`${before.phase} --${event.type}-->`);
    const where = `seed ${seed}: ${trail.join(' ')}`;
    coverage.pairs.add(`${before.phase}/${event.type}`);

    const t = step(before, event);
    const after = t.kind === 'moved' ? t.state : before;
    coverage.phases.add(after.phase);

    // Once done, the state never changes again.
    if (before.phase === 'done') expect(t, where).toEqual({ kind: 'ignored', reason: 'the result is already decided' });

    // phase 'done' ⇔ result !== null.
    expect(after.phase === 'done', where).toBe(after.result !== null);

    // Monotone fields.
    expect(after.attempts, where).toBeGreaterThanOrEqual(before.attempts);
    if (before.maybeLanded) expect(after.maybeLanded, where).toBe(true);
    if (before.orderId !== null) expect(after.orderId, where).toBe(before.orderId);
    if (before.firstAttemptAtMs !== null) expect(after.firstAttemptAtMs, where).toBe(before.firstAttemptAtMs);
    // Once set, the maybe-landed time never changes; the funds wait since-time changes only by being
    // cleared when an attempt was not processed (the funds were enough to try).
    if (before.maybeLandedAtMs !== null) expect(after.maybeLandedAtMs, where).toBe(before.maybeLandedAtMs);
    if (before.fundsWaitSinceMs !== null) {
      const cleared = event.type === 'create_not_sent' && before.phase === 'placing' && !before.maybeLanded;
      expect(after.fundsWaitSinceMs, where).toBe(cleared ? null : before.fundsWaitSinceMs);
    }
    expect(after.intent, where).toBe(intent);
    expect(after.receivedAtMs, where).toBe(T0);

    // maybeLandedAtMs is set exactly when maybeLanded is, at the time of the event that set it, never before the first attempt.
    expect(after.maybeLandedAtMs !== null, where).toBe(after.maybeLanded);
    if (!before.maybeLanded && after.maybeLanded) expect(after.maybeLandedAtMs, where).toBe(event.atMs);
    if (after.maybeLandedAtMs !== null) {
      expect(after.firstAttemptAtMs, where).not.toBeNull();
      expect(after.maybeLandedAtMs, where).toBeGreaterThanOrEqual(after.firstAttemptAtMs ?? Number.POSITIVE_INFINITY);
    }

    // An observation of another merchant's order never changes anything.
    if (event.type === 'order_observed' && event.order.merchantOrderId !== null && event.order.merchantOrderId !== MOID) {
      expect(t.kind, where).toBe('ignored');
      if (before.phase !== 'done') coverage.situations.add('foreign order ignored');
    }

    // The deadline counts from when the attempt first may have landed, in both directions.
    if (event.type === 'deadline_check' && (before.phase === 'ambiguous' || before.phase === 'awaiting_webhook')) {
      const landedAt = before.maybeLandedAtMs;
      if (landedAt === null) throw new Error(`${where}: an unknown outcome without maybeLandedAtMs`);
      expect(resolveDeadline(before, policy), where).toBe(landedAt + policy.resolveTimeoutMs);
      const due = event.atMs - landedAt >= policy.resolveTimeoutMs;
      expect(t.kind, where).toBe(due ? 'moved' : 'ignored');
      if (!due && before.firstAttemptAtMs !== null && event.atMs - before.firstAttemptAtMs >= policy.resolveTimeoutMs) {
        coverage.situations.add('deadline kept by maybeLandedAtMs');
      }
    }
    if (after.phase === 'awaiting_webhook') {
      expect(nextStep(after, policy), where).toEqual({
        kind: 'await_webhook',
        deadlineMs: (after.maybeLandedAtMs ?? Number.NaN) + policy.resolveTimeoutMs,
      });
    }

    // Waiting for funds is never prolonged past balanceWaitMaxMs, whichever event (gate or API answer) prolongs it.
    if (t.kind === 'moved' && after.phase === 'waiting_funds') {
      expect(event.atMs - (after.fundsWaitSinceMs ?? Number.NaN), where).toBeLessThan(policy.balanceWaitMaxMs);
    }

    // Shape of each phase.
    if (after.phase === 'received' || after.phase === 'waiting_funds') {
      // The machine ignores observations in these phases; that is only safe if nothing can have landed.
      expect(after.maybeLanded, where).toBe(false);
      expect(after.orderId, where).toBeNull();
    }
    if (after.phase === 'waiting_funds') expect(after.fundsWaitSinceMs, where).not.toBeNull();
    if (['placing', 'ambiguous', 'placed', 'awaiting_webhook'].includes(after.phase)) {
      expect(after.attempts, where).toBeGreaterThanOrEqual(1);
      expect(after.firstAttemptAtMs, where).not.toBeNull();
    }
    if (after.phase === 'ambiguous' || after.phase === 'awaiting_webhook') expect(after.maybeLanded, where).toBe(true);
    if (after.orderId !== null) expect(['placed', 'done'], where).toContain(after.phase);

    // nextStep is defined for every reachable state.
    expect(() => nextStep(after, policy), where).not.toThrow();

    everMaybeLanded ||= after.maybeLanded;
    if (before.phase !== 'done' && after.result !== null) {
      const result = after.result;
      coverage.resultKinds.add(`${result.status}/${result.source}`);
      expect(result.merchant_order_id, where).toBe(MOID);
      expect(result.resolved_at, where).toBe(iso(event.atMs));
      expect(result.order_id, where).toBe(after.orderId);
      if (result.status === 'completed' || result.status === 'partial' || result.status === 'failed') {
        expect(result.order_id, where).not.toBeNull();
        expect(result.source === 'poll' || result.source === 'webhook', where).toBe(true);
      } else {
        expect(result.source, where).toBe('worker');
      }
      // Safety: once an attempt may have created the order, it must never be reported as rejected.
      if (everMaybeLanded) expect(result.status, where).not.toBe('rejected');
      // An unknown outcome is given up on only after the resolve deadline, counted from when it may have landed.
      if (result.status === 'unresolved') {
        expect(event.atMs - (before.maybeLandedAtMs ?? Number.NaN), where).toBeGreaterThanOrEqual(policy.resolveTimeoutMs);
      }
      // A funds rejection comes only once the wait (counted from its first shortage) reached the limit.
      if (result.status === 'rejected' && result.error === 'insufficient_balance') {
        expect(event.atMs - (before.fundsWaitSinceMs ?? event.atMs), where).toBeGreaterThanOrEqual(policy.balanceWaitMaxMs);
        if (event.type === 'create_rejected') coverage.situations.add('funds limit reached on an API answer');
      }
    }
    state = after;
  }
}

describe('transition under random event sequences', () => {
  it('keeps every invariant across 2000 seeded sequences of up to 12 events', () => {
    const coverage: Coverage = { pairs: new Set(), phases: new Set(), resultKinds: new Set(), situations: new Set() };
    for (let seed = 1; seed <= 2000; seed += 1) checkSequence(seed, 12, coverage);

    // The generator must actually reach the interesting places, or the invariants prove nothing.
    expect([...coverage.phases].sort()).toEqual(
      (['ambiguous', 'awaiting_webhook', 'done', 'placed', 'placing', 'received', 'waiting_funds'] as const).slice().sort(),
    );
    expect(coverage.pairs.size).toBe(63);
    for (const kind of [
      'completed/poll',
      'completed/webhook',
      'partial/poll',
      'failed/webhook',
      'rejected/worker',
      'unresolved/worker',
    ]) {
      expect([...coverage.resultKinds], kind).toContain(kind);
    }
    expect([...coverage.situations].sort()).toEqual(
      ['deadline kept by maybeLandedAtMs', 'foreign order ignored', 'funds limit reached on an API answer'].sort(),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// 5. Regressions: the three problems found in the first version of the machine.
// ---------------------------------------------------------------------------------------------

describe('regressions', () => {
  it('a 429 on the first attempt does not eat into the webhook\'s time: the deadline counts from the ambiguous answer', () => {
    const limits: LifecyclePolicy = { ...policy, resolveTimeoutMs: 30 * MINUTE };
    const retryAt = T0 + 31 * MINUTE;
    let state = initialState(intent, T0);
    for (const event of [ev.attemptStarted(T0), ev.createNotSent(T0), ev.attemptStarted(retryAt), ev.createAmbiguous(retryAt)]) {
      state = moved(step(state, event, limits));
    }
    expect(state).toMatchObject({ phase: 'ambiguous', firstAttemptAtMs: T0, maybeLandedAtMs: retryAt });

    expect(step(state, ev.deadlineCheck(retryAt + SECOND), limits)).toEqual({ kind: 'ignored', reason: 'the deadline has not passed' });
    const unresolvedAt = retryAt + 30 * MINUTE;
    expect(step(state, ev.deadlineCheck(unresolvedAt - 1), limits)).toEqual({ kind: 'ignored', reason: 'the deadline has not passed' });
    expect(resultOf(moved(step(state, ev.deadlineCheck(unresolvedAt), limits)))).toMatchObject({
      status: 'unresolved',
      resolved_at: iso(unresolvedAt),
    });
  });

  it('repeated API insufficient_balance answers end rejected once balanceWaitMaxMs has passed, not waiting forever', () => {
    const limits: LifecyclePolicy = { ...policy, balanceWaitMaxMs: 10 * MINUTE };
    let state = initialState(intent, T0);
    const phases: Phase[] = [];
    let decidedAt: number | null = null;
    for (let cycle = 0; cycle < 20; cycle += 1) {
      const at = T0 + cycle * 6 * MINUTE;
      for (const event of [ev.attemptStarted(at), ev.createRejected(at + SECOND, 'insufficient_balance', 'balance too low')]) {
        const t = step(state, event, limits);
        if (state.phase === 'done') {
          expect(t).toEqual({ kind: 'ignored', reason: 'the result is already decided' });
          continue;
        }
        state = moved(t);
        if (state.phase === 'done') decidedAt = event.atMs;
      }
      phases.push(state.phase);
    }
    // Waits at +0 min and +6 min; at +12 min the wait that began at the first answer has lasted 12 min.
    expect(phases.slice(0, 3)).toEqual(['waiting_funds', 'waiting_funds', 'done']);
    expect(decidedAt).toBe(T0 + 12 * MINUTE + SECOND);
    expect(state).toMatchObject({ attempts: 3, fundsWaitSinceMs: T0 + SECOND, maybeLanded: false });
    expect(resultOf(state)).toMatchObject({
      status: 'rejected',
      error: 'insufficient_balance',
      source: 'worker',
      order_id: null,
      resolved_at: iso(T0 + 12 * MINUTE + SECOND),
    });
  });

  it('a webhook for another merchant_order_id while ambiguous is ignored, and the right webhook still decides', () => {
    const ambiguous = play(initialState(intent, T0), [ev.attemptStarted(T0 + SECOND), ev.createAmbiguous(T0 + 2 * SECOND)]);
    const foreign = completedOrder({ id: OTHER_ORDER_ID, merchantOrderId: OTHER_MOID });
    expect(step(ambiguous, ev.observed(T0 + MINUTE, foreign, 'webhook'))).toEqual({
      kind: 'ignored',
      reason: 'the observed order belongs to another merchant_order_id',
    });
    const done = play(ambiguous, [ev.observed(T0 + 2 * MINUTE, completedOrder(), 'webhook')]);
    expect(resultOf(done)).toMatchObject({ status: 'completed', order_id: ORDER_ID, merchant_order_id: MOID, source: 'webhook' });
  });
});

describe('when an attempt after a funds wait is not processed (429)', () => {
  it('clears the funds wait, so a later shortage starts a wait of its own', () => {
    const policy: LifecyclePolicy = { balanceWaitMaxMs: 10 * MINUTE, resolveTimeoutMs: 30 * MINUTE };
    let state = initialState(intent, T0);
    state = moved(transition(state, { type: 'funds_short', atMs: T0 }, policy));
    state = moved(transition(state, { type: 'attempt_started', atMs: T0 + MINUTE }, policy));
    state = moved(transition(state, { type: 'create_not_sent', atMs: T0 + MINUTE }, policy));
    expect(state).toMatchObject({ phase: 'received', fundsWaitSinceMs: null });
    state = moved(transition(state, { type: 'attempt_started', atMs: T0 + 15 * MINUTE }, policy));
    const t = transition(state, { type: 'create_rejected', atMs: T0 + 15 * MINUTE, code: 'insufficient_balance', message: 'short' }, policy);
    expect(moved(t)).toMatchObject({ phase: 'waiting_funds', fundsWaitSinceMs: T0 + 15 * MINUTE });
  });
});
