import type { OrderResult } from '../../src/lifecycle/order-state.js';

/** A completed result of item 4090 × 2 for `mid`, with two codes; override any field. */
export function sampleResult(mid: string, overrides: Partial<OrderResult> = {}): OrderResult {
  return {
    merchant_order_id: mid,
    order_id: `id-${mid}`,
    status: 'completed',
    item_id: 4090,
    quantity: 2,
    price: 18,
    delivered_quantity: 2,
    refund_amount: 0,
    codes: ['A', 'B'],
    fields: {},
    error: null,
    error_message: null,
    created_at: null,
    completed_at: null,
    resolved_at: '2026-01-01T00:00:02Z',
    source: 'webhook',
    warnings: [],
    resolves: null,
    ...overrides,
  };
}
