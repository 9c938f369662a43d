import { z } from 'zod';
import type { ProductType } from '../api/order.js';
import { CatalogError } from '../errors/errors.js';
import type { CatalogField, CatalogItem } from './catalog-item.js';

/*
 * The snapshot's JSON key names are not documented (voodoo-api.md §7), so this project chooses
 * them, in the API's snake_case style, and this file is the only place that knows them:
 *
 *   {"id","name","price","subscriber_price","stock","product_type","min_quantity","max_quantity",
 *    "fields":[{"name","label","type":"text"|"choice","required","options":[{"id","name"}]}]}
 *
 * Reading is defensive: unknown keys are ignored (changes are additive) and optional keys may be
 * missing or null.
 */

/** The `maxQuantity` of an item whose record states no max_quantity: no known bound (the API still enforces its own). */
export const NO_MAX_QUANTITY = Number.MAX_SAFE_INTEGER;

const optionSchema = z.object({
  id: z.number().int(),
  name: z.string(),
});

const fieldBase = {
  name: z.string().min(1),
  label: z.string().nullish(),
  // A field the record does not mark optional is treated as required: asking for a value we did
  // not need costs less than sending an order the API rejects.
  required: z.boolean().nullish(),
};

const fieldSchema = z.discriminatedUnion('type', [
  z.object({ ...fieldBase, type: z.literal('text') }),
  z.object({ ...fieldBase, type: z.literal('choice'), options: z.array(optionSchema) }),
]);

const quantitySchema = z.number().positive().finite().nullish();

const recordSchema = z.object({
  id: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  name: z.string(),
  price: z.number().nonnegative().finite(),
  subscriber_price: z.number().nonnegative().finite().nullish(),
  stock: z.number().int().nonnegative().nullish(),
  product_type: z.enum(['key', 'topup', 'service']),
  min_quantity: quantitySchema,
  max_quantity: quantitySchema,
  fields: z.array(fieldSchema).nullish(),
});

type RecordJson = z.infer<typeof recordSchema>;

/**
 * Map one snapshot record (already JSON-parsed) to a {@link CatalogItem}.
 * @throws CatalogError naming the item id (when readable) and the offending key.
 */
export function itemFromRecord(json: unknown): CatalogItem {
  const what = describeRecord(json);
  const parsed = recordSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = issue === undefined || issue.path.length === 0 ? '(record)' : issue.path.map(String).join('.');
    throw new CatalogError(`${what}: ${key}: ${issue?.message ?? 'invalid'}`, { cause: parsed.error });
  }
  const record = parsed.data;
  const { minQuantity, maxQuantity } = quantityRange(record, what);
  return {
    id: record.id,
    name: record.name,
    productType: record.product_type,
    price: record.price,
    subscriberPrice: record.subscriber_price ?? null,
    stock: record.stock ?? null,
    minQuantity,
    maxQuantity,
    fields: (record.fields ?? []).map(fieldFromRecord),
  };
}

/** Map a {@link CatalogItem} to a snapshot record; `JSON.stringify` it (no spaces) to store it. */
export function recordFromItem(item: CatalogItem): Record<string, unknown> {
  return {
    id: item.id,
    name: item.name,
    price: item.price,
    subscriber_price: item.subscriberPrice,
    stock: item.stock,
    product_type: item.productType,
    min_quantity: item.minQuantity,
    max_quantity: item.maxQuantity,
    fields: item.fields.map((field) =>
      field.kind === 'text'
        ? { name: field.name, label: field.label, type: 'text', required: field.required }
        : {
            name: field.name,
            label: field.label,
            type: 'choice',
            required: field.required,
            options: field.options.map((option) => ({ id: option.id, name: option.label })),
          },
    ),
  };
}

function fieldFromRecord(field: z.infer<typeof fieldSchema>): CatalogField {
  const common = { name: field.name, label: field.label ?? field.name, required: field.required ?? true };
  return field.type === 'text'
    ? { kind: 'text', ...common }
    : { kind: 'choice', ...common, options: field.options.map((option) => ({ id: option.id, label: option.name })) };
}

/** Defaults per product type; the API takes no quantity for a service, so it is always 1..1. */
function quantityRange(record: RecordJson, what: string): { minQuantity: number; maxQuantity: number } {
  const type: ProductType = record.product_type;
  if (type === 'service') return { minQuantity: 1, maxQuantity: 1 };
  const minQuantity = record.min_quantity ?? 1;
  const maxQuantity = record.max_quantity ?? NO_MAX_QUANTITY;
  if (type === 'key' && !(Number.isInteger(minQuantity) && Number.isInteger(maxQuantity))) {
    throw new CatalogError(`${what}: min_quantity/max_quantity: a key item's quantity is a whole count`);
  }
  if (minQuantity > maxQuantity) {
    throw new CatalogError(`${what}: min_quantity ${minQuantity} exceeds max_quantity ${maxQuantity}`);
  }
  return { minQuantity, maxQuantity };
}

function describeRecord(json: unknown): string {
  if (typeof json === 'object' && json !== null && 'id' in json) {
    const id: unknown = json.id;
    if (typeof id === 'number' || typeof id === 'string') return `catalog item ${id}`;
  }
  return 'catalog record';
}
