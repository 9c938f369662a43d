import { describe, expect, it } from 'vitest';
import { isRequestRejection } from '../../src/api/error-mapping.js';
import { Catalog } from '../../src/catalog/catalog.js';
import { sampleCatalogItems } from '../../src/catalog/sample-items.js';
import { checkIntent } from '../../src/lifecycle/intent-check.js';
import { parseIntent, type ParsedIntent } from '../../src/lifecycle/intent.js';

/** The sample catalog, as CATALOG_PATH would load it: 4090 key 9.00 (1..50), 5100 topup 0.95 (5..500, player_id + server), 6200 service 15.00, 7300 sold out. */
const catalog = Catalog.fromItems(sampleCatalogItems());
/** A catalog that knows only one item. */
const tiny = Catalog.fromItems(sampleCatalogItems().filter((i) => i.id === 4091));

function parsed(data: Record<string, unknown>): Exclude<ParsedIntent, { kind: 'garbage' }> {
  const p = parseIntent({ merchant_order_id: 'shop-1', ...data });
  if (p.kind === 'garbage') throw new Error(`garbage intent: ${p.reason}`);
  return p;
}

describe('checkIntent', () => {
  describe('when the job data is invalid', () => {
    it('is invalid_intent with the parser’s message, with or without a catalog', () => {
      const bad = parsed({ item_id: 'abc' });
      expect(bad.kind).toBe('invalid');
      for (const c of [catalog, null]) {
        expect(checkIntent(bad, c)).toEqual({ kind: 'invalid', code: 'invalid_intent', message: 'item_id: expected an integer item id' });
      }
    });

    it('names the field at fault', () => {
      expect(checkIntent(parsed({ item_id: 4090, max_price: -3 }), catalog)).toEqual({
        kind: 'invalid',
        code: 'invalid_intent',
        message: 'max_price: expected a positive number',
      });
    });
  });

  describe('without a catalog (CATALOG_PATH unset)', () => {
    it('knows nothing about the intent: unpriced', () => {
      expect(checkIntent(parsed({ item_id: 4090, quantity: 2 }), null)).toEqual({ kind: 'unpriced' });
      // Even an item that does not exist: only the API can say so.
      expect(checkIntent(parsed({ item_id: 999_999 }), null)).toEqual({ kind: 'unpriced' });
    });

    it('leaves max_price to the machine: the check is still unpriced', () => {
      expect(checkIntent(parsed({ item_id: 4090, quantity: 2, max_price: 10 }), null)).toEqual({ kind: 'unpriced' });
    });
  });

  describe('with a catalog', () => {
    it('prices a key order: unit price × quantity', () => {
      expect(checkIntent(parsed({ item_id: 4090, quantity: 2 }), catalog)).toEqual({ kind: 'priced', cost: 18 });
    });

    it('prices a key order without a quantity at one unit', () => {
      expect(checkIntent(parsed({ item_id: 4090 }), catalog)).toEqual({ kind: 'priced', cost: 9 });
    });

    it('prices a topup order with its fields, rounded to cents', () => {
      expect(checkIntent(parsed({ item_id: 5100, quantity: 7, fields: { player_id: 'p-1', server: 17 } }), catalog)).toEqual({
        kind: 'priced',
        cost: 6.65,
      });
    });

    it('prices a service at its whole price', () => {
      expect(checkIntent(parsed({ item_id: 6200, fields: { account_name: 'neo' } }), catalog)).toEqual({ kind: 'priced', cost: 15 });
    });

    it('does not apply max_price itself (the machine does): an intent above it is still priced', () => {
      expect(checkIntent(parsed({ item_id: 4090, quantity: 2, max_price: 10 }), catalog)).toEqual({ kind: 'priced', cost: 18 });
    });

    const rejections: { what: string; data: Record<string, unknown>; message: string }[] = [
      { what: 'an unknown item', data: { item_id: 4092 }, message: 'item_id: no such item' },
      { what: 'a quantity out of range', data: { item_id: 4090, quantity: 51 }, message: 'quantity: must be between 1 and 50' },
      { what: 'a fractional key quantity', data: { item_id: 4090, quantity: 1.5 }, message: 'quantity: must be a whole number for key items' },
      { what: 'missing fields', data: { item_id: 5100, quantity: 10 }, message: 'fields: is required for topup items' },
      {
        what: 'a missing required field',
        data: { item_id: 5100, quantity: 10, fields: { player_id: 'p-1' } },
        message: 'fields.server: is required',
      },
      {
        what: 'a choice field with an unknown option',
        data: { item_id: 5100, quantity: 10, fields: { player_id: 'p-1', server: 99 } },
        message: 'fields.server: 99 is not a valid choice',
      },
      { what: 'a sold-out item', data: { item_id: 7300 }, message: 'item_id: item 7300 is out of stock' },
    ];
    for (const { what, data, message } of rejections) {
      it(`rejects ${what} as a validation_error naming the field`, () => {
        expect(checkIntent(parsed(data), catalog)).toEqual({ kind: 'invalid', code: 'validation_error', message });
      });
    }

    it('speaks the API’s words: the rejections that do not depend on the moment read as request rejections', () => {
      for (const { data, message } of rejections) {
        expect(isRequestRejection(message), message).toBe(data.item_id !== 7300);
      }
    });

    it('judges by the loaded catalog only', () => {
      expect(checkIntent(parsed({ item_id: 4091, quantity: 2 }), tiny)).toEqual({ kind: 'priced', cost: 49 });
      expect(checkIntent(parsed({ item_id: 4090, quantity: 2 }), tiny)).toEqual({
        kind: 'invalid',
        code: 'validation_error',
        message: 'item_id: no such item',
      });
    });
  });
});
