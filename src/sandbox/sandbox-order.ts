import type { OrderStatus, TerminalStatus } from '../api/order.js';
import type { CatalogItem } from '../catalog/catalog-item.js';

/**
 * The sandbox's mutable state of one order. Money is kept in integer cents so that thousands of
 * charges and refunds add up exactly; views convert to major units.
 */
export interface SandboxOrder {
  readonly id: string;
  readonly merchantOrderId: string | null;
  readonly item: CatalogItem;
  readonly quantity: number;
  /** Amount charged, in cents. */
  readonly priceCents: number;
  /** Submitted fields as echoed back (choice values as labels). */
  readonly displayFields: Readonly<Record<string, string>>;
  readonly createdAtMs: number;
  readonly createdAt: string;
  /** Until when (epoch ms) lookups pretend the order does not exist; 0 for never. */
  hiddenUntilMs: number;
  /** From when (epoch ms) a not yet settled order reads as `processing`; Infinity for never. */
  processingAtMs: number;
  /** `pending` until settled, then the terminal status. `processing` is derived on read. */
  settledStatus: TerminalStatus | null;
  deliveredQuantity: number;
  /** Refund credited, in cents. */
  refundCents: number;
  codes: string[];
  error: string;
  errorMessage: string;
  completedAt: string | null;
  settledAtMs: number | null;
  webhookAttempts: number;
}

/** The status an observer sees at `nowMs`. */
export function statusAt(order: SandboxOrder, nowMs: number): OrderStatus {
  if (order.settledStatus !== null) return order.settledStatus;
  return nowMs >= order.processingAtMs ? 'processing' : 'pending';
}

/** Unit price of the order in cents (the whole price for a service). */
export function unitPriceCents(order: SandboxOrder): number {
  return order.item.productType === 'service' ? order.priceCents : Math.round(order.item.price * 100);
}
