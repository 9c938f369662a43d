import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Catalog } from '../../../src/catalog/catalog.js';
import { readCatalogFile } from '../../../src/catalog/catalog-file.js';
import { sampleCatalogItems } from '../../../src/catalog/sample-items.js';
import type { LocalSandbox } from '../../../src/sandbox/sandbox-types.js';
import { SAMPLE_CATALOG_PATH } from '../../support/pipeline.js';
import { Resources, startHandlerKit, startTestSandbox, type HandlerKit } from './handler-kit.js';

/**
 * max_price fails closed (issue 7, item 4): an intent whose cost exceeds it is never sent, with and
 * without CATALOG_PATH. 4090 × 2 costs 18 at the sandbox.
 */

const resources = new Resources();
afterEach(() => resources.close());

let sampleCatalog: Catalog;
beforeAll(async () => {
  sampleCatalog = await readCatalogFile(SAMPLE_CATALOG_PATH);
});

async function setup(catalog: Catalog | null): Promise<{ sandbox: LocalSandbox; kit: HandlerKit }> {
  const sandbox = resources.add(await startTestSandbox());
  const kit = resources.add(await startHandlerKit({ apiUrl: sandbox.url, catalog }));
  return { sandbox, kit };
}

describe('max_price with a catalog (CATALOG_PATH set)', () => {
  it('rejects an intent the catalog prices above max_price as price_exceeds_max, sending nothing', async () => {
    const { sandbox, kit } = await setup(sampleCatalog);
    await kit.enqueue({ merchant_order_id: 'mp-over', item_id: 4090, quantity: 2, max_price: 10 });

    const result = await kit.result('mp-over');
    expect(result).toMatchObject({ status: 'rejected', error: 'price_exceeds_max', order_id: null, price: null });
    expect(result.error_message).toContain('18');
    expect(sandbox.stats().calls.create).toBe(0);
    expect(sandbox.orders()).toEqual([]);
    expect(await kit.reservations()).toEqual({});
  });

  it('places an intent whose cost is within max_price', async () => {
    const { sandbox, kit } = await setup(sampleCatalog);
    await kit.enqueue({ merchant_order_id: 'mp-fits', item_id: 4090, quantity: 2, max_price: 18 });

    expect(await kit.pollUntilResult('mp-fits')).toMatchObject({ status: 'completed', price: 18, warnings: [] });
    expect(sandbox.stats().calls.create).toBe(1);
  });
});

describe('max_price without a catalog (CATALOG_PATH unset)', () => {
  it('rejects any intent carrying max_price as price_unverifiable, naming CATALOG_PATH, sending nothing', async () => {
    const { sandbox, kit } = await setup(null);
    // Even a max_price far above the real cost: without a price it cannot be checked.
    await kit.enqueue({ merchant_order_id: 'mp-blind', item_id: 4090, quantity: 2, max_price: 1_000 });

    const result = await kit.result('mp-blind');
    expect(result).toMatchObject({ status: 'rejected', error: 'price_unverifiable', order_id: null });
    expect(result.error_message).toContain('CATALOG_PATH');
    expect(sandbox.stats().calls.create).toBe(0);
    expect(sandbox.orders()).toEqual([]);
  });
});

describe('max_price with a stale catalog that prices the item lower than the API', () => {
  it('places the order the catalog said fits, and warns price_above_max in the result and the metric', async () => {
    // The catalog says 4090 costs 5 a unit (10 for two); the sandbox charges 9 a unit (18).
    const stale = Catalog.fromItems(sampleCatalogItems().map((item) => (item.id === 4090 ? { ...item, price: 5 } : item)));
    const { sandbox, kit } = await setup(stale);
    await kit.enqueue({ merchant_order_id: 'mp-stale', item_id: 4090, quantity: 2, max_price: 15 });

    const result = await kit.pollUntilResult('mp-stale');
    expect(result).toMatchObject({ status: 'completed', price: 18, warnings: ['price_above_max'] });
    expect(sandbox.stats().calls.create).toBe(1);
    expect(sandbox.stats().charged).toBe(18);
    expect(await kit.counter('voodoo_price_above_max_total')).toBe(1);
    expect(await kit.reservations()).toEqual({});
  });
});
