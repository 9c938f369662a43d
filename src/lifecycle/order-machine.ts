import { isTerminalStatus, type Order } from '../api/order.js';
import type { Intent, LifecyclePolicy, NextStep, OrderEvent, OrderResult, OrderState, ResultSource } from './order-state.js';

/** Outcome of applying an event: a new state, or the reason it changes nothing. */
export type Transition = { kind: 'moved'; state: OrderState } | { kind: 'ignored'; reason: string };

/** The state a freshly accepted intent starts in. */
export function initialState(intent: Intent, atMs: number): OrderState {
  return {
    phase: 'received',
    intent,
    attempts: 0,
    maybeLanded: false,
    orderId: null,
    receivedAtMs: atMs,
    firstAttemptAtMs: null,
    maybeLandedAtMs: null,
    fundsWaitSinceMs: null,
    result: null,
  };
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** A result for an order that exists (terminal status known). */
export function resultFromOrder(state: OrderState, order: Order, source: ResultSource, atMs: number): OrderResult {
  return {
    merchant_order_id: state.intent.merchantOrderId,
    order_id: order.id,
    status: isTerminalStatus(order.status) ? order.status : 'unresolved',
    item_id: order.itemId ?? state.intent.itemId,
    quantity: order.quantity,
    price: order.price,
    delivered_quantity: order.deliveredQuantity,
    refund_amount: order.refundAmount,
    codes: order.codes,
    fields: order.fields,
    error: order.error,
    error_message: order.errorMessage,
    created_at: order.createdAt,
    completed_at: order.completedAt,
    resolved_at: iso(atMs),
    source,
  };
}

/** A result the worker decides without a terminal order (rejected or unresolved). */
export function workerResult(
  state: OrderState,
  status: 'rejected' | 'unresolved',
  code: string,
  message: string,
  atMs: number,
): OrderResult {
  return {
    merchant_order_id: state.intent.merchantOrderId,
    order_id: state.orderId,
    status,
    item_id: state.intent.itemId,
    quantity: state.intent.quantity ?? null,
    price: null,
    delivered_quantity: 0,
    refund_amount: 0,
    codes: [],
    fields: state.intent.fields ?? {},
    error: code,
    error_message: message,
    created_at: null,
    completed_at: null,
    resolved_at: iso(atMs),
    source: 'worker',
  };
}

function done(state: OrderState, result: OrderResult): Transition {
  return { kind: 'moved', state: { ...state, phase: 'done', result } };
}

function move(state: OrderState, patch: Partial<OrderState>): Transition {
  return { kind: 'moved', state: { ...state, ...patch } };
}

const ignored = (reason: string): Transition => ({ kind: 'ignored', reason });

function unresolvedMessage(state: OrderState): string {
  return (
    `an order may exist for merchant_order_id "${state.intent.merchantOrderId}" but its outcome could not be learned ` +
    'before the deadline: look it up in the Voodoo Center dashboard'
  );
}

/**
 * The order lifecycle: given a state and an event, the next state. Pure: no I/O, no clock.
 * Every (phase, event) pair is defined; pairs that cannot change anything are `ignored` with a reason.
 */
export function transition(state: OrderState, event: OrderEvent, policy: LifecyclePolicy): Transition {
  if (state.phase === 'done') return ignored('the result is already decided');

  switch (event.type) {
    case 'intent_rejected':
      if (state.phase !== 'received' && state.phase !== 'waiting_funds') {
        return ignored('the intent was already accepted for placement');
      }
      return done(state, workerResult(state, 'rejected', event.code, event.message, event.atMs));

    case 'funds_short':
      if (state.phase !== 'received' && state.phase !== 'waiting_funds') {
        return ignored('funds only gate an order that was never sent');
      }
      return waitForFunds(state, event.atMs, policy);

    case 'attempt_started':
      switch (state.phase) {
        case 'received':
        case 'waiting_funds':
        case 'ambiguous':
          // fundsWaitSinceMs survives the attempt: if the API answers insufficient_balance, the
          // wait goes on against the same limit instead of starting over.
          return move(state, {
            phase: 'placing',
            attempts: state.attempts + 1,
            firstAttemptAtMs: state.firstAttemptAtMs ?? event.atMs,
          });
        case 'placing':
          // The previous attempt's worker died before recording the answer: it may have landed.
          return move(state, {
            attempts: state.attempts + 1,
            maybeLanded: true,
            maybeLandedAtMs: state.maybeLandedAtMs ?? event.atMs,
          });
        case 'placed':
        case 'awaiting_webhook':
          return ignored('the order already exists');
      }
      break;

    case 'create_succeeded':
      if (state.phase !== 'placing') return ignored('no attempt is in flight');
      if (isTerminalStatus(event.order.status)) {
        return done({ ...state, orderId: event.order.id }, resultFromOrder(state, event.order, 'poll', event.atMs));
      }
      return move(state, { phase: 'placed', orderId: event.order.id });

    case 'create_rejected':
      if (state.phase !== 'placing') return ignored('no attempt is in flight');
      if (event.code === 'duplicate_merchant_order_id') {
        if (state.maybeLanded) return move(state, { phase: 'awaiting_webhook' });
        return done(
          state,
          workerResult(state, 'rejected', 'duplicate_merchant_order_id', 'this merchant_order_id was used before this system saw it', event.atMs),
        );
      }
      if (state.maybeLanded) {
        // An earlier attempt may have created the order (and, say, taken the last stock), so a
        // rejection of this retry proves nothing about it: only the webhook can tell.
        return move(state, { phase: 'awaiting_webhook' });
      }
      if (event.code === 'insufficient_balance') return waitForFunds(state, event.atMs, policy);
      return done(state, workerResult(state, 'rejected', event.code, event.message, event.atMs));

    case 'create_ambiguous':
      if (state.phase !== 'placing') return ignored('no attempt is in flight');
      return move(state, { phase: 'ambiguous', maybeLanded: true, maybeLandedAtMs: state.maybeLandedAtMs ?? event.atMs });

    case 'create_not_sent':
      if (state.phase !== 'placing') return ignored('no attempt is in flight');
      // Not processed (429, refused connection): the funds were enough to try, so a later
      // shortage starts its own wait.
      if (state.maybeLanded) return move(state, { phase: 'ambiguous' });
      return move(state, { phase: 'received', fundsWaitSinceMs: null });

    case 'order_observed': {
      if (state.orderId !== null && event.order.id !== state.orderId) {
        return ignored('the observed order is not this one');
      }
      if (event.order.merchantOrderId !== null && event.order.merchantOrderId !== state.intent.merchantOrderId) {
        return ignored('the observed order belongs to another merchant_order_id');
      }
      if (!isTerminalStatus(event.order.status)) {
        if (state.phase === 'placed') return ignored('still in progress');
        if (state.phase === 'received' || state.phase === 'waiting_funds') return ignored('no attempt was made yet');
        return move(state, { phase: 'placed', orderId: event.order.id });
      }
      if (state.phase === 'received' || state.phase === 'waiting_funds') {
        // An event for an order we never sent: someone else used this merchant_order_id.
        return ignored('no attempt was made yet');
      }
      return done({ ...state, orderId: event.order.id }, resultFromOrder(state, event.order, event.source, event.atMs));
    }

    case 'deadline_check': {
      if (state.phase !== 'awaiting_webhook' && state.phase !== 'ambiguous') {
        return ignored('only an unknown outcome has a deadline');
      }
      if (event.atMs < resolveDeadline(state, policy)) return ignored('the deadline has not passed');
      return done(state, workerResult(state, 'unresolved', 'unresolved', unresolvedMessage(state), event.atMs));
    }
  }
  return ignored('unreachable');
}

/** When an unknown outcome becomes `unresolved`, epoch ms. */
export function resolveDeadline(state: OrderState, policy: LifecyclePolicy): number {
  return (state.maybeLandedAtMs ?? state.firstAttemptAtMs ?? state.receivedAtMs) + policy.resolveTimeoutMs;
}

/** Wait for funds, or give up once the wait (counted from when it first began) reaches the limit. */
function waitForFunds(state: OrderState, atMs: number, policy: LifecyclePolicy): Transition {
  const since = state.fundsWaitSinceMs ?? atMs;
  if (atMs - since >= policy.balanceWaitMaxMs) {
    return done(
      state,
      workerResult(state, 'rejected', 'insufficient_balance', 'the balance did not cover the order before BALANCE_WAIT_MAX_MS', atMs),
    );
  }
  return move(state, { phase: 'waiting_funds', fundsWaitSinceMs: since });
}

/** What the handler should do for a record in this state. */
export function nextStep(state: OrderState, policy: LifecyclePolicy): NextStep {
  switch (state.phase) {
    case 'received':
    case 'waiting_funds':
      return { kind: 'place', gateFunds: true };
    case 'placing':
    case 'ambiguous':
      // The order may already be charged: a retry is protected by the merchant_order_id, and the
      // funds gate would only delay learning the truth.
      return { kind: 'place', gateFunds: false };
    case 'placed':
      if (state.orderId === null) throw new Error('invariant: a placed order has an id');
      return { kind: 'poll', orderId: state.orderId };
    case 'awaiting_webhook':
      return { kind: 'await_webhook', deadlineMs: resolveDeadline(state, policy) };
    case 'done':
      if (state.result === null) throw new Error('invariant: a done order has a result');
      return { kind: 'emit', result: state.result };
  }
}
