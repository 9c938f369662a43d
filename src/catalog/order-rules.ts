import type { CatalogField, CatalogItem } from './catalog-item.js';

/** The parts of an order request the catalog can judge (the raw JSON values, unchecked). */
export interface OrderRequestParts {
  /** Raw `quantity` from the request; `undefined` when omitted. */
  quantity?: unknown;
  /** Raw `fields` object from the request; `undefined` when omitted. */
  fields?: unknown;
}

/** The request passes every catalog rule. */
export interface OrderAccepted {
  ok: true;
  /** Effective quantity: the default 1 applied for key items, always 1 for services. */
  quantity: number;
  /** What the order costs, in major currency units, rounded to cents. */
  cost: number;
  /** The fields as they are sent: text as a string, choice as its numeric option id. */
  fields: Record<string, string | number>;
  /** The fields as the API echoes them back: choice values replaced by their option label. */
  displayFields: Record<string, string>;
}

/** The request breaks a rule; `field` is the request field to blame, `message` says why. */
export interface OrderRejected {
  ok: false;
  /** `item_id`, `quantity`, `fields` or `fields.<name>`. */
  field: string;
  message: string;
}

export type OrderCheck = OrderAccepted | OrderRejected;

/** Round a major-unit amount to whole cents, immune to binary artefacts such as 1.005 × 100 = 100.4999. */
export function roundToCents(amount: number): number {
  return Math.round(Number((amount * 100).toPrecision(15))) / 100;
}

function reject(field: string, message: string): OrderRejected {
  return { ok: false, field, message };
}

function checkQuantity(item: CatalogItem, raw: unknown): number | OrderRejected {
  // Snapshots without a maximum carry Number.MAX_SAFE_INTEGER, which reads badly in a message.
  const range =
    item.maxQuantity >= Number.MAX_SAFE_INTEGER
      ? `must be at least ${item.minQuantity}`
      : `must be between ${item.minQuantity} and ${item.maxQuantity}`;
  switch (item.productType) {
    case 'key': {
      if (raw === undefined || raw === null) return 1 >= item.minQuantity && 1 <= item.maxQuantity ? 1 : reject('quantity', range);
      if (typeof raw !== 'number' || !Number.isInteger(raw)) return reject('quantity', 'must be a whole number for key items');
      if (raw < item.minQuantity || raw > item.maxQuantity) return reject('quantity', range);
      return raw;
    }
    case 'topup': {
      if (raw === undefined || raw === null) return reject('quantity', 'is required for topup items');
      if (typeof raw !== 'number' || !Number.isFinite(raw) || raw <= 0) return reject('quantity', 'must be a positive number');
      if (raw < item.minQuantity || raw > item.maxQuantity) return reject('quantity', range);
      return raw;
    }
    case 'service': {
      // Services are always one unit; the API wants the field omitted, and an explicit 1 is harmless.
      if (raw === undefined || raw === null || raw === 1) return 1;
      return reject('quantity', 'must be omitted for service items');
    }
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkField(field: CatalogField, value: unknown): { sent: string | number; shown: string } | OrderRejected {
  const where = `fields.${field.name}`;
  if (field.kind === 'text') {
    if (typeof value !== 'string' || value.trim() === '') return reject(where, 'must be a non-empty string');
    return { sent: value, shown: value };
  }
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    return reject(where, `must be one of the numeric choice ids ${field.options.map((o) => o.id).join(', ')}`);
  }
  const option = field.options.find((o) => o.id === value);
  if (!option) return reject(where, `${value} is not a valid choice`);
  return { sent: option.id, shown: option.label };
}

function checkFields(item: CatalogItem, raw: unknown): Pick<OrderAccepted, 'fields' | 'displayFields'> | OrderRejected {
  const needsFields = item.fields.some((f) => f.required);
  if (raw === undefined || raw === null) {
    if (needsFields) return reject('fields', `is required for ${item.productType} items`);
    return { fields: {}, displayFields: {} };
  }
  if (!isPlainObject(raw)) return reject('fields', 'must be an object keyed by field name');
  const known = new Map(item.fields.map((f) => [f.name, f]));
  for (const name of Object.keys(raw)) {
    if (!known.has(name)) return reject(`fields.${name}`, 'is not a field of this item');
  }
  const fields: Record<string, string | number> = {};
  const displayFields: Record<string, string> = {};
  for (const field of item.fields) {
    const value = raw[field.name];
    if (value === undefined || value === null) {
      if (field.required) return reject(`fields.${field.name}`, 'is required');
      continue;
    }
    const checked = checkField(field, value);
    if ('ok' in checked) return checked;
    fields[field.name] = checked.sent;
    displayFields[field.name] = checked.shown;
  }
  return { fields, displayFields };
}

/**
 * Judge an order request against the catalog, exactly as the API does at create time: the item
 * exists and is in stock, the quantity fits the product type and the item's range, and the fields
 * match the item's form. Pure: the sandbox answers with it, and the worker rejects intents locally
 * with it before spending a request.
 */
export function checkOrder(item: CatalogItem | undefined, request: OrderRequestParts): OrderCheck {
  if (!item) return reject('item_id', 'no such item');
  const quantity = checkQuantity(item, request.quantity);
  if (typeof quantity !== 'number') return quantity;
  if (item.stock !== null && (item.stock <= 0 || item.stock < quantity)) {
    return reject('item_id', item.stock <= 0 ? `item ${item.id} is out of stock` : `only ${item.stock} of item ${item.id} in stock`);
  }
  const fields = checkFields(item, request.fields);
  if ('ok' in fields) return fields;
  const cost = item.productType === 'service' ? roundToCents(item.price) : roundToCents(item.price * quantity);
  return { ok: true, quantity, cost, ...fields };
}
