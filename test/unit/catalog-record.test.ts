import { describe, expect, it } from 'vitest';
import { itemFromRecord, NO_MAX_QUANTITY, recordFromItem } from '../../src/catalog/catalog-record.js';
import { sampleCatalogItems } from '../../src/catalog/sample-items.js';
import { CatalogError } from '../../src/errors/errors.js';

const topupRecord = {
  id: 5100,
  name: 'Game Credits',
  price: 0.95,
  subscriber_price: 0.9,
  stock: null,
  product_type: 'topup',
  min_quantity: 5,
  max_quantity: 500,
  fields: [
    { name: 'player_id', label: 'Player ID', type: 'text', required: true },
    { name: 'server', label: 'Server', type: 'choice', required: false, options: [{ id: 17, name: 'Europe (EU-West)' }] },
  ],
};

function catalogError(record: unknown): CatalogError {
  try {
    itemFromRecord(record);
  } catch (err) {
    if (err instanceof CatalogError) return err;
    throw err;
  }
  throw new Error('itemFromRecord accepted the record');
}

describe('itemFromRecord / recordFromItem', () => {
  it.each(sampleCatalogItems().map((item) => [item.name, item] as const))('round-trips %s through compact JSON', (_name, item) => {
    const json = JSON.stringify(recordFromItem(item));
    expect(json).not.toMatch(/[:,] /);
    expect(itemFromRecord(JSON.parse(json))).toEqual(item);
  });

  it('maps the snapshot key names to the project names', () => {
    expect(itemFromRecord(topupRecord)).toEqual({
      id: 5100,
      name: 'Game Credits',
      productType: 'topup',
      price: 0.95,
      subscriberPrice: 0.9,
      stock: null,
      minQuantity: 5,
      maxQuantity: 500,
      fields: [
        { kind: 'text', name: 'player_id', label: 'Player ID', required: true },
        { kind: 'choice', name: 'server', label: 'Server', required: false, options: [{ id: 17, label: 'Europe (EU-West)' }] },
      ],
    });
  });

  it('ignores keys it does not know, at every level', () => {
    const record = {
      ...topupRecord,
      currency_hint: 'USD',
      fields: [
        { name: 'player_id', label: 'Player ID', type: 'text', required: true, placeholder: '12345' },
        { name: 'server', label: 'Server', type: 'choice', required: false, options: [{ id: 17, name: 'Europe (EU-West)', icon: 'eu.png' }] },
      ],
    };
    expect(itemFromRecord(record)).toEqual(itemFromRecord(topupRecord));
  });

  describe('when optional keys are missing', () => {
    const bare = { id: 1, name: 'Bare key', price: 2, product_type: 'key' };

    it('has no subscriber price, unknown stock, no fields and an open quantity range', () => {
      expect(itemFromRecord(bare)).toMatchObject({
        subscriberPrice: null,
        stock: null,
        fields: [],
        minQuantity: 1,
        maxQuantity: NO_MAX_QUANTITY,
      });
    });

    it('treats null like missing', () => {
      const item = itemFromRecord({ ...bare, subscriber_price: null, min_quantity: null, max_quantity: null, fields: null });
      expect(item).toMatchObject({ subscriberPrice: null, minQuantity: 1, maxQuantity: NO_MAX_QUANTITY, fields: [] });
    });

    it('labels a field with its name and makes it required', () => {
      const item = itemFromRecord({ ...bare, product_type: 'topup', fields: [{ name: 'player_id', type: 'text' }] });
      expect(item.fields).toEqual([{ kind: 'text', name: 'player_id', label: 'player_id', required: true }]);
    });
  });

  it('always gives a service item the quantity range 1..1, whatever the record says', () => {
    const item = itemFromRecord({ id: 6200, name: 'Boost', price: 15, product_type: 'service', min_quantity: 2, max_quantity: 9 });
    expect([item.minQuantity, item.maxQuantity]).toEqual([1, 1]);
  });

  it('accepts a decimal quantity range for a top-up', () => {
    const item = itemFromRecord({ ...topupRecord, min_quantity: 0.5, max_quantity: 99.5 });
    expect([item.minQuantity, item.maxQuantity]).toEqual([0.5, 99.5]);
  });

  describe('when the record is bad', () => {
    it.each([
      ['is not an object', 'nope', /^catalog record: \(record\)/],
      ['has no id', { ...topupRecord, id: undefined }, /^catalog record: id:/],
      ['has a fractional id', { ...topupRecord, id: 1.5 }, /^catalog item 1\.5: id:/],
      ['has a string price', { ...topupRecord, price: '0.95' }, /^catalog item 5100: price:/],
      ['has a negative price', { ...topupRecord, price: -1 }, /^catalog item 5100: price:/],
      ['has no name', { ...topupRecord, name: undefined }, /^catalog item 5100: name:/],
      ['has an unknown product type', { ...topupRecord, product_type: 'bundle' }, /^catalog item 5100: product_type:/],
      ['has a negative stock', { ...topupRecord, stock: -3 }, /^catalog item 5100: stock:/],
      ['has a zero min_quantity', { ...topupRecord, min_quantity: 0 }, /^catalog item 5100: min_quantity:/],
      ['has fields that are not an array', { ...topupRecord, fields: {} }, /^catalog item 5100: fields:/],
      ['has a field of an unknown type', { ...topupRecord, fields: [{ name: 'x', type: 'date' }] }, /^catalog item 5100: fields\.0\.type:/],
      ['has a choice field without options', { ...topupRecord, fields: [{ name: 'x', type: 'choice' }] }, /^catalog item 5100: fields\.0\.options:/],
      [
        'has a choice option with a string id',
        { ...topupRecord, fields: [{ name: 'x', type: 'choice', options: [{ id: '17', name: 'EU' }] }] },
        /^catalog item 5100: fields\.0\.options\.0\.id:/,
      ],
      ['has min_quantity above max_quantity', { ...topupRecord, min_quantity: 10, max_quantity: 5 }, /^catalog item 5100: min_quantity 10 exceeds max_quantity 5/],
      [
        'gives a key item a fractional quantity',
        { ...topupRecord, product_type: 'key', fields: [], min_quantity: 1.5 },
        /^catalog item 5100: min_quantity\/max_quantity: a key item's quantity is a whole count/,
      ],
    ])('rejects a record that %s with a CatalogError naming the item and key', (_what, record, message) => {
      const err = catalogError(record);
      expect(err.code).toBe('catalog_invalid');
      expect(err.retryable).toBe(false);
      expect(err.message).toMatch(message);
    });
  });
});
