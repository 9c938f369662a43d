import type { SandboxOrderRecord } from './sandbox-types.js';
import { statusAt, type SandboxOrder } from './sandbox-order.js';

const toMajor = (cents: number): number => cents / 100;

/** The REST order object (create response and lookup), per shared/voodoo-api.md §3. */
export function restOrder(order: SandboxOrder, nowMs: number): Record<string, unknown> {
  return {
    id: order.id,
    status: statusAt(order, nowMs),
    item: order.item.id,
    item_name: order.item.name,
    item_product_type: order.item.productType,
    quantity: order.quantity,
    delivered_quantity: order.deliveredQuantity,
    price: toMajor(order.priceCents),
    refund_amount: toMajor(order.refundCents),
    fields: { ...order.displayFields },
    codes: [...order.codes],
    error: order.error,
    error_message: order.errorMessage,
    merchant_order_id: order.merchantOrderId,
    created_at: order.createdAt,
    completed_at: order.completedAt,
  };
}

/** The webhook event of a settled order, per shared/voodoo-api.md §6 (serialise with canonicalJson). */
export function webhookEvent(order: SandboxOrder): Record<string, unknown> {
  return {
    order_id: order.id,
    merchant_order_id: order.merchantOrderId,
    status: order.settledStatus,
    item_id: order.item.id,
    item_name: order.item.name,
    quantity: order.quantity,
    total_price: toMajor(order.priceCents),
    delivered_quantity: order.deliveredQuantity,
    refund_amount: toMajor(order.refundCents),
    fields: { ...order.displayFields },
    codes: [...order.codes],
    error: order.error,
    error_message: order.errorMessage,
    completed_at: order.completedAt,
    created_at: order.createdAt,
  };
}

/** The ground-truth record tests and the benchmark compare against. */
export function orderRecord(order: SandboxOrder, nowMs: number): SandboxOrderRecord {
  return {
    id: order.id,
    merchantOrderId: order.merchantOrderId,
    itemId: order.item.id,
    productType: order.item.productType,
    quantity: order.quantity,
    status: statusAt(order, nowMs),
    deliveredQuantity: order.deliveredQuantity,
    price: toMajor(order.priceCents),
    refundAmount: toMajor(order.refundCents),
    codes: [...order.codes],
    error: order.error,
    errorMessage: order.errorMessage,
    createdAt: order.createdAt,
    completedAt: order.completedAt,
    settledAtMs: order.settledAtMs,
    webhookAttempts: order.webhookAttempts,
  };
}
