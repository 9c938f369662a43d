import type { Catalog } from '../catalog/catalog.js';
import { checkOrder } from '../catalog/order-rules.js';
import type { ParsedIntent } from './intent.js';
import type { IntentCheck } from './order-state.js';

/**
 * What is known about an intent before anything is sent: invalid job data, the catalog's verdict and
 * price when a catalog is loaded, or nothing (`unpriced`). Pure: the catalog is an in-memory
 * snapshot. The money rules built on it (max_price) live in the machine.
 */
export function checkIntent(parsed: Exclude<ParsedIntent, { kind: 'garbage' }>, catalog: Catalog | null): IntentCheck {
  if (parsed.kind === 'invalid') return { kind: 'invalid', code: 'invalid_intent', message: parsed.message };
  const { intent } = parsed;
  if (catalog === null || intent.itemId === null) return { kind: 'unpriced' };
  const check = checkOrder(catalog.get(intent.itemId), { quantity: intent.quantity, fields: intent.fields });
  if (!check.ok) return { kind: 'invalid', code: 'validation_error', message: `${check.field}: ${check.message}` };
  return { kind: 'priced', cost: check.cost };
}
