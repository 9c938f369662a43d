import { describe, expect, it } from 'vitest';
import type { CatalogItem } from '../../src/catalog/catalog-item.js';
import { checkOrder, roundToCents, type OrderRequestParts } from '../../src/catalog/order-rules.js';
import { sampleCatalogItems } from '../../src/catalog/sample-items.js';

function item(id: number): CatalogItem {
  const found = sampleCatalogItems().find((i) => i.id === id);
  if (!found) throw new Error(`no sample item ${id}`);
  return found;
}

const giftCard = item(4090); // key, 9.00, 1..50
const topup = item(5100); // topup, 0.95 per unit, 5..500, player_id text + server choice
const service = item(6200); // service, 15.00, account_name text
const soldOut = item(7300); // key, stock 0

function rejection(target: CatalogItem | undefined, request: OrderRequestParts): string {
  const result = checkOrder(target, request);
  if (result.ok) throw new Error('expected a rejection');
  return result.field;
}

describe('checkOrder', () => {
  it('rejects an unknown item on item_id', () => {
    expect(rejection(undefined, {})).toBe('item_id');
  });

  describe('for key items', () => {
    it('defaults the quantity to 1 and charges the unit price', () => {
      expect(checkOrder(giftCard, {})).toEqual({ ok: true, quantity: 1, cost: 9, fields: {}, displayFields: {} });
    });

    it('charges unit price × quantity', () => {
      expect(checkOrder(giftCard, { quantity: 2 })).toMatchObject({ ok: true, quantity: 2, cost: 18 });
    });

    it.each([0, 51, 1.5, '2', -1, Number.NaN])('rejects the quantity %s', (quantity) => {
      expect(rejection(giftCard, { quantity })).toBe('quantity');
    });

    it('accepts the bounds of the range', () => {
      expect(checkOrder(giftCard, { quantity: 1 }).ok).toBe(true);
      expect(checkOrder(giftCard, { quantity: 50 }).ok).toBe(true);
    });

    it('rejects an out-of-stock item, and a quantity above the stock left', () => {
      expect(rejection(soldOut, {})).toBe('item_id');
      expect(rejection({ ...giftCard, stock: 3 }, { quantity: 4 })).toBe('item_id');
      expect(checkOrder({ ...giftCard, stock: 3 }, { quantity: 3 }).ok).toBe(true);
    });

    it('rejects field names a key item does not have', () => {
      expect(rejection(giftCard, { fields: { note: 'x' } })).toBe('fields.note');
      expect(checkOrder(giftCard, { fields: {} }).ok).toBe(true);
    });
  });

  describe('for topup items', () => {
    const fields = { player_id: 'p-1', server: 17 };

    it('requires an amount', () => {
      expect(rejection(topup, { fields })).toBe('quantity');
    });

    it('accepts a decimal amount within range and rounds the cost to cents', () => {
      expect(checkOrder(topup, { quantity: 10.5, fields })).toEqual({
        ok: true,
        quantity: 10.5,
        cost: 9.98,
        fields: { player_id: 'p-1', server: 17 },
        displayFields: { player_id: 'p-1', server: 'Europe (EU-West)' },
      });
    });

    it.each([4.99, 500.01, 0, -5, '10'])('rejects the amount %s', (quantity) => {
      expect(rejection(topup, { quantity, fields })).toBe('quantity');
    });

    it('requires the fields object and every required field', () => {
      expect(rejection(topup, { quantity: 10 })).toBe('fields');
      expect(rejection(topup, { quantity: 10, fields: [] })).toBe('fields');
      expect(rejection(topup, { quantity: 10, fields: { player_id: 'p-1' } })).toBe('fields.server');
      expect(rejection(topup, { quantity: 10, fields: { server: 17 } })).toBe('fields.player_id');
    });

    it('wants a choice as its numeric id, not its label', () => {
      expect(rejection(topup, { quantity: 10, fields: { player_id: 'p', server: 'Europe (EU-West)' } })).toBe('fields.server');
      expect(rejection(topup, { quantity: 10, fields: { player_id: 'p', server: '17' } })).toBe('fields.server');
      expect(rejection(topup, { quantity: 10, fields: { player_id: 'p', server: 20 } })).toBe('fields.server');
    });

    it('wants a text field as a non-empty string', () => {
      expect(rejection(topup, { quantity: 10, fields: { player_id: '  ', server: 17 } })).toBe('fields.player_id');
      expect(rejection(topup, { quantity: 10, fields: { player_id: 42, server: 17 } })).toBe('fields.player_id');
    });

    it('rejects unknown field names', () => {
      expect(rejection(topup, { quantity: 10, fields: { ...fields, region: 'eu' } })).toBe('fields.region');
    });
  });

  describe('for service items', () => {
    it('is always one unit at the whole price, with the quantity omitted or 1', () => {
      const fields = { account_name: 'bob' };
      expect(checkOrder(service, { fields })).toMatchObject({ ok: true, quantity: 1, cost: 15 });
      expect(checkOrder(service, { quantity: 1, fields })).toMatchObject({ ok: true, quantity: 1, cost: 15 });
      expect(rejection(service, { quantity: 2, fields })).toBe('quantity');
    });

    it('requires its fields', () => {
      expect(rejection(service, {})).toBe('fields');
      expect(rejection(service, { fields: {} })).toBe('fields.account_name');
    });
  });

  it('lets an optional field be left out', () => {
    const optional: CatalogItem = {
      ...service,
      fields: [...service.fields, { kind: 'text', name: 'note', label: 'Note', required: false }],
    };
    expect(checkOrder(optional, { fields: { account_name: 'bob' } })).toMatchObject({ ok: true, fields: { account_name: 'bob' } });
    expect(checkOrder(optional, { fields: { account_name: 'bob', note: 'hi' } })).toMatchObject({ ok: true, fields: { note: 'hi' } });
  });

  it('gives a message for every rejection', () => {
    const result = checkOrder(giftCard, { quantity: 99 });
    expect(result).toEqual({ ok: false, field: 'quantity', message: 'must be between 1 and 50' });
  });
});

describe('roundToCents', () => {
  it('rounds half up despite binary artefacts', () => {
    expect(roundToCents(1.005)).toBe(1.01);
    expect(roundToCents(0.95 * 10.5)).toBe(9.98);
    expect(roundToCents(0.1 + 0.2)).toBe(0.3);
  });
});
