import { z } from 'zod';
import { MAX_MERCHANT_ORDER_ID_LENGTH } from '../api/api-limits.js';
import type { Intent } from './order-state.js';

/**
 * What an `order-intents` job's data turned out to be:
 * - `garbage`: no usable merchant_order_id; the job fails (kept for inspection), no result.
 * - `invalid`: a usable merchant_order_id but bad content; ends as a `rejected` result naming the field.
 * - `ok`: a valid intent.
 */
export type ParsedIntent =
  | { kind: 'garbage'; reason: string }
  | { kind: 'invalid'; merchantOrderId: string; field: string; message: string }
  | { kind: 'ok'; intent: Intent };

const merchantOrderIdSchema = z
  .string()
  .min(1)
  .max(MAX_MERCHANT_ORDER_ID_LENGTH)
  .refine((v) => v.trim().length > 0);

const intentSchema = z.object({
  merchant_order_id: merchantOrderIdSchema,
  item_id: z.number({ error: 'expected an integer item id' }).int('expected an integer item id').positive('expected a positive item id'),
  quantity: z.number({ error: 'expected a number' }).finite().positive('expected a positive number').optional(),
  fields: z
    .record(z.string(), z.union([z.string(), z.number().finite()], { error: 'expected string or number values' }), {
      error: 'expected an object of field values',
    })
    .optional(),
  max_price: z.number({ error: 'expected a number' }).finite().positive('expected a positive number').optional(),
});

/** Classify and normalise an intent job's data. Pure. */
export function parseIntent(data: unknown): ParsedIntent {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return { kind: 'garbage', reason: 'intent is not a JSON object' };
  }
  const mid = merchantOrderIdSchema.safeParse((data as Record<string, unknown>).merchant_order_id);
  if (!mid.success) {
    return { kind: 'garbage', reason: `merchant_order_id must be a non-blank string of 1..${MAX_MERCHANT_ORDER_ID_LENGTH} characters` };
  }
  const parsed = intentSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.map(String).join('.') || 'intent';
    return { kind: 'invalid', merchantOrderId: mid.data, field, message: `${field}: ${issue?.message ?? 'invalid'}` };
  }
  const d = parsed.data;
  const intent: Intent = { merchantOrderId: d.merchant_order_id, itemId: d.item_id };
  if (d.quantity !== undefined) intent.quantity = d.quantity;
  if (d.fields !== undefined) intent.fields = d.fields;
  if (d.max_price !== undefined) intent.maxPrice = d.max_price;
  return { kind: 'ok', intent };
}

/** The public intent shape (snake_case), for producers. */
export interface OrderIntent {
  merchant_order_id: string;
  item_id: number;
  quantity?: number;
  fields?: Record<string, string | number>;
  max_price?: number;
}
