import { describe, expect, it } from 'vitest';
import { sampleCatalogItems } from '../../src/catalog/sample-items.js';
import { checkOrder } from '../../src/catalog/order-rules.js';
import { Catalog } from '../../src/catalog/catalog.js';
import { parseIntent } from '../../src/lifecycle/intent.js';
import { sampleIntents } from '../../src/dev/sample-intents.js';

const catalog = Catalog.fromItems(sampleCatalogItems());

function catalogAccepts(intent: { item_id: number; quantity?: number; fields?: Record<string, string | number> }): boolean {
  const parsed = parseIntent(intent);
  if (parsed.kind !== 'ok') return false;
  return checkOrder(catalog.get(intent.item_id), { quantity: intent.quantity, fields: intent.fields }).ok;
}

describe('sampleIntents', () => {
  it('is the same batch for the same count and seed, and another for another seed', () => {
    expect(sampleIntents(120, { seed: 4 })).toEqual(sampleIntents(120, { seed: 4 }));
    expect(sampleIntents(120, { seed: 4 })).not.toEqual(sampleIntents(120, { seed: 5 }));
  });

  it('covers every orderable product type with intents the sample catalog accepts', () => {
    const { intents } = sampleIntents(300, { seed: 1 });
    const valid = intents.filter((s) => s.kind === 'valid');
    expect(new Set(valid.map((s) => s.intent.item_id))).toEqual(new Set([4090, 4091, 5100, 6200]));
    expect(valid.filter((s) => !catalogAccepts(s.intent))).toEqual([]);
    expect(valid.find((s) => s.intent.item_id === 5100)?.intent.fields).toEqual({ player_id: 'p-123', server: 17 });
  });

  it('includes every kind of invalid intent, each one refused by the catalog', () => {
    const { intents } = sampleIntents(40);
    const invalid = intents.filter((s) => s.kind === 'invalid');
    expect(invalid.map((s) => s.note).sort()).toEqual(
      ['missing required field', 'non-positive quantity', 'quantity above the item maximum', 'sold-out item 7300', 'unknown item'].sort(),
    );
    expect(invalid.filter((s) => catalogAccepts(s.intent))).toEqual([]);
  });

  it('repeats an earlier merchant_order_id with the same content for each duplicate, and counts ids once', () => {
    const batch = sampleIntents(300, { seed: 2 });
    const duplicates = batch.intents.filter((s) => s.kind === 'duplicate');
    expect(duplicates).toHaveLength(3);
    for (const dup of duplicates) {
      const first = batch.intents.find((s) => s.intent.merchant_order_id === dup.intent.merchant_order_id);
      expect(first?.kind).toBe('valid');
      expect(first?.intent).toEqual(dup.intent);
    }
    expect(batch.merchantOrderIds).toHaveLength(300 - duplicates.length);
    expect(new Set(batch.merchantOrderIds).size).toBe(batch.merchantOrderIds.length);
  });

  it('has only valid intents when invalid ones and duplicates are turned off, and none for zero', () => {
    const batch = sampleIntents(50, { invalid: false, duplicates: false });
    expect(batch.intents.every((s) => s.kind === 'valid')).toBe(true);
    expect(batch.merchantOrderIds).toHaveLength(50);
    expect(sampleIntents(0).intents).toEqual([]);
  });
});
