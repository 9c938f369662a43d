import { z } from 'zod';
import { UnexpectedResponseError } from '../errors/errors.js';

/** The API's order statuses. */
export const ORDER_STATUSES = ['pending', 'processing', 'completed', 'partial', 'failed'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];
/** Statuses that never change again. */
export type TerminalStatus = Extract<OrderStatus, 'completed' | 'partial' | 'failed'>;
export const TERMINAL_STATUSES: readonly TerminalStatus[] = ['completed', 'partial', 'failed'];

export function isTerminalStatus(status: string): status is TerminalStatus {
  return (TERMINAL_STATUSES as readonly string[]).includes(status);
}

/** Product types of catalog items. */
export type ProductType = 'key' | 'topup' | 'service';

/**
 * The one internal order shape. Both the REST order object (`id`, `item`, `price`) and the webhook
 * event (`order_id`, `item_id`, `total_price`) map into it. Money is in major currency units.
 */
export interface Order {
  /** Order id (uuid). */
  id: string;
  status: OrderStatus;
  merchantOrderId: string | null;
  itemId: number | null;
  itemName: string | null;
  productType: ProductType | null;
  quantity: number;
  deliveredQuantity: number;
  /** Amount charged, major units. */
  price: number;
  /** Amount refunded for undelivered units, major units. */
  refundAmount: number;
  /** Submitted inputs; choice values come back as display names. */
  fields: Record<string, unknown>;
  /** Delivered key strings. Money: never log. */
  codes: string[];
  /** Machine error code when failed; null otherwise. */
  error: string | null;
  errorMessage: string | null;
  createdAt: string | null;
  completedAt: string | null;
}

const money = z.coerce.number().finite();
const optionalString = z
  .string()
  .nullish()
  .transform((v) => (v === undefined || v === null || v === '' ? null : v));

// Defensive reading: unknown fields are ignored (zod strips them), optional ones default.
const common = {
  status: z.enum(ORDER_STATUSES),
  merchant_order_id: optionalString,
  item_name: optionalString,
  item_product_type: z.enum(['key', 'topup', 'service']).nullish(),
  quantity: z.coerce.number().finite().default(0),
  delivered_quantity: z.coerce.number().finite().default(0),
  refund_amount: money.nullish(),
  fields: z.record(z.string(), z.unknown()).nullish(),
  codes: z.array(z.string()).nullish(),
  error: optionalString,
  error_message: optionalString,
  created_at: optionalString,
  completed_at: optionalString,
};

const restSchema = z.object({
  id: z.string().min(1),
  item: z.coerce.number().int().nullish(),
  price: money.nullish(),
  ...common,
});

const webhookSchema = z.object({
  order_id: z.string().min(1),
  item_id: z.coerce.number().int().nullish(),
  total_price: money.nullish(),
  ...common,
});

function describeIssue(issue: z.core.$ZodIssue | undefined): string {
  if (issue === undefined) return 'invalid';
  const path = issue.path.map(String).join('.');
  return path === '' ? issue.message : `${path}: ${issue.message}`;
}

type Common = z.output<z.ZodObject<typeof common>>;

function fromCommon(c: Common): Omit<Order, 'id' | 'itemId' | 'price'> {
  return {
    status: c.status,
    merchantOrderId: c.merchant_order_id,
    itemName: c.item_name,
    productType: c.item_product_type ?? null,
    quantity: c.quantity,
    deliveredQuantity: c.delivered_quantity,
    refundAmount: c.refund_amount ?? 0,
    fields: c.fields ?? {},
    codes: c.codes ?? [],
    error: c.error,
    errorMessage: c.error_message,
    createdAt: c.created_at,
    completedAt: c.completed_at,
  };
}

/** Map a REST order object (create response or lookup). Throws `UnexpectedResponseError` when unusable. */
export function orderFromRest(body: unknown): Order {
  const parsed = restSchema.safeParse(body);
  if (!parsed.success) {
    throw new UnexpectedResponseError(`unusable order object: ${describeIssue(parsed.error.issues[0])}`);
  }
  const d = parsed.data;
  return { id: d.id, itemId: d.item ?? null, price: d.price ?? 0, ...fromCommon(d) };
}

/** Map a webhook event body. Throws `UnexpectedResponseError` when unusable. */
export function orderFromWebhook(body: unknown): Order {
  const parsed = webhookSchema.safeParse(body);
  if (!parsed.success) {
    throw new UnexpectedResponseError(`unusable webhook event: ${describeIssue(parsed.error.issues[0])}`);
  }
  const d = parsed.data;
  return { id: d.order_id, itemId: d.item_id ?? null, price: d.total_price ?? 0, ...fromCommon(d) };
}
