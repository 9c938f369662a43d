import { isTerminalStatus, type Order } from '../api/order.js';
import type { OrderResult, OrderState, RejectionCode, ResultSource, ResultWarning } from './order-state.js';

const iso = (ms: number): string => new Date(ms).toISOString();

/** What a consumer should be warned of about an order the API charged. */
function warningsOf(state: OrderState, order: Order): ResultWarning[] {
  const max = state.intent.maxPrice;
  return max !== undefined && order.price > max ? ['price_above_max'] : [];
}

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
    warnings: warningsOf(state, order),
    resolves: null,
  };
}

/** The resolution of an `unresolved` result: the order's real outcome, marked as resolving it. */
export function resolutionFromOrder(state: OrderState, order: Order, source: ResultSource, atMs: number): OrderResult {
  return { ...resultFromOrder(state, order, source, atMs), resolves: 'unresolved' };
}

/** A result the worker decides without a terminal order (rejected or unresolved). */
export function workerResult(
  state: OrderState,
  status: 'rejected' | 'unresolved',
  code: RejectionCode | 'unresolved',
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
    warnings: [],
    resolves: null,
  };
}
