import { randomUUID } from 'node:crypto';
import type { TerminalStatus } from '../api/order.js';
import type { Catalog } from '../catalog/catalog.js';
import type { CatalogItem } from '../catalog/catalog-item.js';
import { unitPriceCents, type SandboxOrder } from './sandbox-order.js';

/** What a placed order is made of, once the catalog rules have passed. */
export interface PlaceOrderInput {
  item: CatalogItem;
  merchantOrderId: string | null;
  quantity: number;
  /** Cost in major units (already rounded to cents). */
  cost: number;
  displayFields: Record<string, string>;
}

export type PlaceResult = { ok: true; order: SandboxOrder } | { ok: false; reason: 'insufficient_balance' };

/** A terminal outcome to record. */
export interface Settlement {
  status: TerminalStatus;
  deliveredQuantity: number;
  codes: string[];
  error: string;
  errorMessage: string;
}

const toCents = (amount: number): number => Math.round(amount * 100);

/**
 * The one account's books: balance, stock, orders and the merchant_order_id index. Amounts are
 * integer cents inside and major units at the edges.
 */
export class SandboxLedger {
  private balanceCents: number;
  private chargedCents = 0;
  private refundedCents = 0;
  private readonly byId = new Map<string, SandboxOrder>();
  private readonly byMerchantOrderId = new Set<string>();
  /** Stock left per item id, for items whose stock is tracked (not null in the catalog). */
  private readonly stock = new Map<number, number>();

  constructor(
    private readonly catalog: Catalog,
    initialBalance: number,
    private readonly now: () => number,
  ) {
    this.balanceCents = toCents(initialBalance);
  }

  /** The catalog item with its current stock, or undefined when unknown. */
  item(id: number): CatalogItem | undefined {
    const item = this.catalog.get(id);
    if (!item || item.stock === null) return item;
    return { ...item, stock: this.stock.get(id) ?? item.stock };
  }

  hasMerchantOrderId(merchantOrderId: string): boolean {
    return this.byMerchantOrderId.has(merchantOrderId);
  }

  /** Charge and store the order, or refuse when the balance cannot cover it. Nothing else is checked here. */
  place(input: PlaceOrderInput): PlaceResult {
    const priceCents = toCents(input.cost);
    if (priceCents > this.balanceCents) return { ok: false, reason: 'insufficient_balance' };
    this.balanceCents -= priceCents;
    this.chargedCents += priceCents;
    this.adjustStock(input.item, -input.quantity);
    const nowMs = this.now();
    const order: SandboxOrder = {
      id: randomUUID(),
      merchantOrderId: input.merchantOrderId,
      item: input.item,
      quantity: input.quantity,
      priceCents,
      displayFields: input.displayFields,
      createdAtMs: nowMs,
      createdAt: new Date(nowMs).toISOString(),
      hiddenUntilMs: 0,
      processingAtMs: Number.POSITIVE_INFINITY,
      settledStatus: null,
      deliveredQuantity: 0,
      refundCents: 0,
      codes: [],
      error: '',
      errorMessage: '',
      completedAt: null,
      settledAtMs: null,
      webhookAttempts: 0,
    };
    this.byId.set(order.id, order);
    if (input.merchantOrderId !== null) this.byMerchantOrderId.add(input.merchantOrderId);
    return { ok: true, order };
  }

  get(id: string): SandboxOrder | undefined {
    return this.byId.get(id);
  }

  /**
   * Record the terminal outcome once; the refund for undelivered units is credited back to the
   * balance (and the units back to stock). A second call is ignored: terminal statuses never change.
   */
  settle(order: SandboxOrder, settlement: Settlement): boolean {
    if (order.settledStatus !== null) return false;
    const undelivered = order.quantity - settlement.deliveredQuantity;
    const refundCents =
      settlement.status === 'failed'
        ? order.priceCents
        : settlement.status === 'partial'
          ? Math.min(order.priceCents, Math.round(undelivered * unitPriceCents(order)))
          : 0;
    const nowMs = this.now();
    order.settledStatus = settlement.status;
    order.deliveredQuantity = settlement.deliveredQuantity;
    order.codes = settlement.codes;
    order.error = settlement.error;
    order.errorMessage = settlement.errorMessage;
    order.refundCents = refundCents;
    order.completedAt = new Date(nowMs).toISOString();
    order.settledAtMs = nowMs;
    this.balanceCents += refundCents;
    this.refundedCents += refundCents;
    if (undelivered > 0) this.adjustStock(order.item, undelivered);
    return true;
  }

  /** Every order, oldest first. */
  orders(): SandboxOrder[] {
    return [...this.byId.values()];
  }

  /** Balance in major units. */
  balance(): number {
    return this.balanceCents / 100;
  }

  /** Credit the balance, in major units. */
  topUp(amount: number): void {
    this.balanceCents += toCents(amount);
  }

  /** Set the balance outright, in major units. */
  setBalance(amount: number): void {
    this.balanceCents = toCents(amount);
  }

  /** Sum of every charge, major units. */
  charged(): number {
    return this.chargedCents / 100;
  }

  /** Sum of every refund credited, major units. */
  refunded(): number {
    return this.refundedCents / 100;
  }

  private adjustStock(item: CatalogItem, delta: number): void {
    const original = this.catalog.get(item.id);
    if (!original || original.stock === null) return;
    this.stock.set(item.id, (this.stock.get(item.id) ?? original.stock) + delta);
  }
}
