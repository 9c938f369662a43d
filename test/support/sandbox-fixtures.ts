import type { OrderResult } from '../../src/lifecycle/order-state.js';
import type { SandboxOrderRecord } from '../../src/sandbox/sandbox-types.js';

/** When the fixture results were decided. */
export const RESOLVED_AT = '2026-06-10T12:00:30.000Z';

/** A settled sandbox order of item 4090 × 2 (completed, one code) for `mid`; override any field. */
export function sandboxOrder(mid: string, over: Partial<SandboxOrderRecord> = {}): SandboxOrderRecord {
  return {
    id: `order-${mid}`,
    merchantOrderId: mid,
    itemId: 4090,
    productType: 'key',
    quantity: 2,
    status: 'completed',
    deliveredQuantity: 2,
    price: 18,
    refundAmount: 0,
    codes: [`VOODOO-AAAA-BBBB-${mid.toUpperCase().slice(-4).padStart(4, 'C')}`],
    error: '',
    errorMessage: '',
    createdAt: '2026-06-10T12:00:00.000Z',
    completedAt: '2026-06-10T12:00:01.000Z',
    settledAtMs: Date.parse('2026-06-10T12:00:01.000Z'),
    webhookAttempts: 1,
    ...over,
  };
}

/** The result a correct worker emits for `truth`; override any field. */
export function resultOfSandboxOrder(truth: SandboxOrderRecord, over: Partial<OrderResult> = {}): OrderResult {
  return {
    merchant_order_id: truth.merchantOrderId ?? '',
    order_id: truth.id,
    status: truth.status === 'completed' || truth.status === 'partial' || truth.status === 'failed' ? truth.status : 'unresolved',
    item_id: truth.itemId,
    quantity: truth.quantity,
    price: truth.price,
    delivered_quantity: truth.deliveredQuantity,
    refund_amount: truth.refundAmount,
    codes: [...truth.codes],
    fields: {},
    error: truth.error,
    error_message: truth.errorMessage,
    created_at: truth.createdAt,
    completed_at: truth.completedAt,
    resolved_at: RESOLVED_AT,
    source: 'webhook',
    warnings: [],
    resolves: null,
    ...over,
  };
}
