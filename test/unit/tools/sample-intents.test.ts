import { describe, expect, it } from 'vitest';
import { sampleCatalogItems } from '../../../src/catalog/sample-items.js';
import { checkOrder } from '../../../src/catalog/order-rules.js';
import { Catalog } from '../../../src/catalog/catalog.js';
import { parseIntent } from '../../../src/lifecycle/intent.js';
import { ALL_INVALID_CASES, PROVABLE_INVALID_CASES, sampleIntents, type SampleIntent } from '../../../tools/samples/sample-intents.js';
import { isRequestRejection } from '../../../src/api/error-mapping.js';

const catalog = Catalog.fromItems(sampleCatalogItems());

/**
 * How the intent is refused without a catalog: by the job-data check (`invalid_intent`), or by the
 * API with a validation detail the lifecycle reads as provable (or not).
 */
function refusal(sample: SampleIntent): 'invalid_intent' | 'provable' | 'not provable' {
  const { intent } = sample;
  if (parseIntent(intent).kind !== 'ok') return 'invalid_intent';
  // The sandbox answers `400 validation_error` with `<field>: <message>` from the same rules.
  const check = checkOrder(catalog.get(intent.item_id), { quantity: intent.quantity, fields: intent.fields });
  if (check.ok) throw new Error(`${intent.merchant_order_id} is accepted`);
  return isRequestRejection(`${check.field}: ${check.message}`) ? 'provable' : 'not provable';
}

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

  it('uses only the chosen invalid cases, in the share asked for; the provable ones are refused in a way no earlier attempt explains', () => {
    const batch = sampleIntents(300, { seed: 3, invalidCases: PROVABLE_INVALID_CASES, invalidShare: 0.03 });
    const invalid = batch.intents.filter((s) => s.kind === 'invalid');
    expect(invalid).toHaveLength(9);
    expect(new Set(invalid.map((s) => s.note))).toEqual(
      new Set(['non-positive quantity', 'quantity above the item maximum', 'unknown item', 'missing required field']),
    );
    expect(invalid.filter((s) => catalogAccepts(s.intent))).toEqual([]);
    expect(invalid.map(refusal).filter((how) => how === 'not provable')).toEqual([]);
    expect(invalid.map(refusal)).toContain('provable');
  });

  it('has the sold-out case among all cases only, and its refusal depends on the moment', () => {
    expect(ALL_INVALID_CASES.filter((name) => !PROVABLE_INVALID_CASES.includes(name))).toEqual(['sold-out']);
    const soldOut = sampleIntents(40).intents.find((s) => s.note === 'sold-out item 7300');
    if (soldOut === undefined) throw new Error('no sold-out intent');
    expect(refusal(soldOut)).toBe('not provable');
  });

  it('has no invalid intent with no case chosen, and refuses a share outside 0..1', () => {
    expect(sampleIntents(100, { invalidCases: [] }).intents.filter((s) => s.kind === 'invalid')).toEqual([]);
    expect(() => sampleIntents(100, { invalidShare: 1.5 })).toThrow(RangeError);
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
