import { afterEach, describe, expect, it } from 'vitest';
import { Catalog } from '../../src/catalog/catalog.js';
import { sampleCatalogItems } from '../../src/catalog/sample-items.js';
import { startSandbox } from '../../src/sandbox/sandbox-server.js';
import type { LocalSandbox, SandboxOrderRecord, SandboxStats } from '../../src/sandbox/sandbox-types.js';
import { call, eventually, token } from './sandbox-test-kit.js';

const API_KEY = 'ak_test_sandbox_admin';

let sandbox: LocalSandbox | undefined;

async function start(): Promise<LocalSandbox> {
  sandbox = await startSandbox({
    apiKey: API_KEY,
    catalog: Catalog.fromItems(sampleCatalogItems()),
    fulfilment: { minMs: 0, maxMs: 0, outcomes: { completed: 1, partial: 0, failed: 0 } },
  });
  return sandbox;
}

afterEach(async () => {
  await sandbox?.close();
  sandbox = undefined;
});

describe('the /sandbox admin surface', () => {
  it('lists the order records and the stats over HTTP', async () => {
    const s = await start();
    const accessToken = await token(s.url, API_KEY);
    const created = (await call(s.url, 'POST', '/api/v1/orders', { token: accessToken, body: { item_id: 4090, quantity: 2, merchant_order_id: 'a-1' } }))
      .body as { id: string };
    const records = await eventually(async () => {
      const list = (await call(s.url, 'GET', '/sandbox/orders')).body as SandboxOrderRecord[];
      return list[0]?.status === 'completed' ? list : undefined;
    }, 5_000, 'the order to complete');
    expect(records).toEqual(s.orders());
    expect(records[0]).toMatchObject({ id: created.id, merchantOrderId: 'a-1', itemId: 4090, productType: 'key', price: 18, deliveredQuantity: 2 });
    const stats = (await call(s.url, 'GET', '/sandbox/stats')).body as SandboxStats;
    expect(stats.calls).toEqual({ token: 1, balance: 0, create: 1, lookup: 0 });
    expect(stats.charged).toBe(18);
  });

  it('tops up and sets the balance', async () => {
    const s = await start();
    expect((await call(s.url, 'POST', '/sandbox/balance', { body: { amount: 25.5 } })).body).toEqual({ balance: 1025.5 });
    expect((await call(s.url, 'PUT', '/sandbox/balance', { body: { balance: 10 } })).body).toEqual({ balance: 10 });
    expect(s.balance()).toBe(10);
    const bad = await call(s.url, 'POST', '/sandbox/balance', { body: { amount: -5 } });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 'validation_error' });
    expect(s.balance()).toBe(10);
  });

  it('replaces the fault configuration, and refuses an invalid one', async () => {
    const s = await start();
    const accessToken = await token(s.url, API_KEY);
    const set = await call(s.url, 'PUT', '/sandbox/faults', { body: { balance: { serverError: 1 } } });
    expect(set.status).toBe(200);
    expect((await call(s.url, 'GET', '/api/v1/account/balance', { token: accessToken })).status).toBe(500);
    const bad = await call(s.url, 'PUT', '/sandbox/faults', { body: { balance: { serverError: 'often' } } });
    expect(bad.status).toBe(400);
    expect((bad.body as { detail: string }).detail).toContain('faults.balance.serverError');
    expect((await call(s.url, 'GET', '/sandbox/faults')).body).toEqual({ balance: { serverError: 1 } });
  });

  it('revokes the key and toggles API-key auth', async () => {
    const s = await start();
    expect((await call(s.url, 'PUT', '/sandbox/api-key-auth', { body: { enabled: false } })).status).toBe(200);
    expect((await call(s.url, 'POST', '/api/v1/auth/token/client', { body: { api_key: API_KEY } })).status).toBe(403);
    expect((await call(s.url, 'PUT', '/sandbox/api-key-auth', { body: { enabled: true } })).status).toBe(200);
    expect((await call(s.url, 'POST', '/sandbox/revoke-key')).status).toBe(200);
    expect((await call(s.url, 'POST', '/api/v1/auth/token/client', { body: { api_key: API_KEY } })).status).toBe(401);
  });

  it('answers 404 not_found in the envelope for an unknown path', async () => {
    const s = await start();
    const answer = await call(s.url, 'GET', '/api/v1/nothing-here');
    expect(answer.status).toBe(404);
    expect(answer.body).toMatchObject({ code: 'not_found' });
  });
});
