import type { CatalogItem } from './catalog-item.js';

/**
 * The sample catalog shipped in catalog/sample-catalog.lmdb.zst (regenerate with
 * `voodoo-fulfillment catalog sample`). Covers every product type, both field kinds and an
 * out-of-stock item; 4090 is the docs' own sample item.
 */
export function sampleCatalogItems(): CatalogItem[] {
  return [
    {
      id: 4090,
      name: 'Sample Gift Card 10 USD',
      productType: 'key',
      price: 9,
      subscriberPrice: 8.5,
      stock: 100_000,
      minQuantity: 1,
      maxQuantity: 50,
      fields: [],
    },
    {
      id: 4091,
      name: 'Sample Game Key Deluxe',
      productType: 'key',
      price: 24.5,
      subscriberPrice: null,
      stock: 100_000,
      minQuantity: 1,
      maxQuantity: 10,
      fields: [],
    },
    {
      id: 5100,
      name: 'Sample Game Credits Top-up',
      productType: 'topup',
      price: 0.95,
      subscriberPrice: 0.9,
      stock: null,
      minQuantity: 5,
      maxQuantity: 500,
      fields: [
        { kind: 'text', name: 'player_id', label: 'Player ID', required: true },
        {
          kind: 'choice',
          name: 'server',
          label: 'Server',
          required: true,
          options: [
            { id: 17, label: 'Europe (EU-West)' },
            { id: 18, label: 'North America (US-East)' },
            { id: 19, label: 'Asia (SG)' },
          ],
        },
      ],
    },
    {
      id: 6200,
      name: 'Sample Rank Boost Service',
      productType: 'service',
      price: 15,
      subscriberPrice: null,
      stock: null,
      minQuantity: 1,
      maxQuantity: 1,
      fields: [{ kind: 'text', name: 'account_name', label: 'Account name', required: true }],
    },
    {
      id: 7300,
      name: 'Sample Sold-out Gift Card 50 USD',
      productType: 'key',
      price: 45,
      subscriberPrice: null,
      stock: 0,
      minQuantity: 1,
      maxQuantity: 5,
      fields: [],
    },
  ];
}
