import { afterEach, describe, expect, it } from 'vitest';
import { Catalog } from '../../src/catalog/catalog.js';
import type { CatalogItem } from '../../src/catalog/catalog-item.js';
import { sampleCatalogItems } from '../../src/catalog/sample-items.js';
import { startSandbox, type StartSandboxParams } from '../../src/sandbox/sandbox-server.js';
import type { LocalSandbox } from '../../src/sandbox/sandbox-types.js';
import { call, eventually, token } from './sandbox-test-kit.js';

const API_KEY = 'ak_test_sandbox_api';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let sandbox: LocalSandbox | undefined;

async function start(overrides: Partial<StartSandboxParams> = {}): Promise<LocalSandbox> {
  sandbox = await startSandbox({
    apiKey: API_KEY,
    catalog: Catalog.fromItems(sampleCatalogItems()),
    fulfilment: { minMs: 0, maxMs: 0 },
    seed: 7,
    ...overrides,
  });
  return sandbox;
}

afterEach(async () => {
  await sandbox?.close();
  sandbox = undefined;
});

function decodeJwtPayload(jwt: string): Record<string, unknown> {
  const parts = jwt.split('.');
  expect(parts).toHaveLength(3);
  return JSON.parse(Buffer.from(parts[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}

async function settled(s: LocalSandbox, accessToken: string, id: string): Promise<Record<string, unknown>> {
  return eventually(async () => {
    const answer = await call(s.url, 'GET', `/api/v1/orders/${id}`, { token: accessToken });
    const body = answer.body as Record<string, unknown>;
    return ['completed', 'partial', 'failed'].includes(String(body.status)) ? body : undefined;
  }, 5_000, `order ${id} to settle`);
}

describe('startSandbox', () => {
  it.each<[string, Partial<StartSandboxParams>, RegExp]>([
    ['a fulfilment range upside down', { fulfilment: { minMs: 500, maxMs: 100 } }, /fulfilment\.minMs/],
    ['a webhook URL that is not http(s)', { webhook: { url: 'ftp://example.test/x', secret: 's' } }, /webhook\.url/],
    ['an outcome mix of zeros', { fulfilment: { outcomes: { completed: 0, partial: 0, failed: 0 } } }, /fulfilment\.outcomes/],
    ['a fault probability above 1', { faults: { lookup: { serverError: 1.5 } } }, /faults\.lookup\.serverError/],
  ])('refuses %s, naming the option', async (_what, overrides, message) => {
    await expect(start(overrides)).rejects.toThrow(message);
  });
});

describe('the token exchange', () => {
  it('answers 401 {"error":"Invalid credentials"} for a wrong key, outside the usual envelope', async () => {
    const s = await start();
    const answer = await call(s.url, 'POST', '/api/v1/auth/token/client', { body: { api_key: 'ak_wrong' } });
    expect(answer.status).toBe(401);
    expect(answer.body).toEqual({ error: 'Invalid credentials' });
  });

  it('issues a JWT-shaped bearer token whose exp claim lies about tokenTtlMs ahead', async () => {
    const s = await start({ tokenTtlMs: 2 * 60 * 60 * 1000 });
    const answer = await call(s.url, 'POST', '/api/v1/auth/token/client', { body: { api_key: API_KEY } });
    expect(answer.status).toBe(200);
    const body = answer.body as { access_token: string; token_type: string };
    expect(body.token_type).toBe('Bearer');
    const exp = decodeJwtPayload(body.access_token).exp;
    expect(typeof exp).toBe('number');
    const expectedSeconds = (Date.now() + 2 * 60 * 60 * 1000) / 1000;
    expect(Math.abs((exp as number) - expectedSeconds)).toBeLessThan(60);
  });

  it('answers 403 while API-key auth is disabled, and 200 again once enabled', async () => {
    const s = await start({ apiKeyAuthDisabled: true });
    const refused = await call(s.url, 'POST', '/api/v1/auth/token/client', { body: { api_key: API_KEY } });
    expect(refused.status).toBe(403);
    s.setApiKeyAuthDisabled(false);
    await expect(token(s.url, API_KEY)).resolves.toMatch(/\./);
  });

  it('refuses new exchanges once the key is revoked, while tokens already issued keep working', async () => {
    const s = await start();
    const issued = await token(s.url, API_KEY);
    s.revokeKey();
    const refused = await call(s.url, 'POST', '/api/v1/auth/token/client', { body: { api_key: API_KEY } });
    expect(refused.status).toBe(401);
    expect(refused.body).toEqual({ error: 'Invalid credentials' });
    const balance = await call(s.url, 'GET', '/api/v1/account/balance', { token: issued });
    expect(balance.status).toBe(200);
  });
});

describe('authentication of business calls', () => {
  it('answers 401 not_authenticated without a token', async () => {
    const s = await start();
    const answer = await call(s.url, 'GET', '/api/v1/account/balance');
    expect(answer.status).toBe(401);
    expect(answer.body).toMatchObject({ code: 'not_authenticated' });
    expect(typeof (answer.body as { detail: unknown }).detail).toBe('string');
  });

  it('answers 401 not_authenticated for a token it never issued', async () => {
    const s = await start();
    const answer = await call(s.url, 'POST', '/api/v1/orders', { token: 'eyJhbGciOiJIUzI1NiJ9.e30.forged', body: { item_id: 4090 } });
    expect(answer.status).toBe(401);
    expect(answer.body).toMatchObject({ code: 'not_authenticated' });
    expect(s.orders()).toHaveLength(0);
  });

  it('answers 401 not_authenticated once the token has expired', async () => {
    const s = await start({ tokenTtlMs: 40 });
    const shortLived = await token(s.url, API_KEY);
    await new Promise((r) => setTimeout(r, 80));
    const answer = await call(s.url, 'GET', '/api/v1/account/balance', { token: shortLived });
    expect(answer.status).toBe(401);
    expect(answer.body).toMatchObject({ code: 'not_authenticated' });
  });
});

describe('GET /account/balance', () => {
  it('answers the spendable balance, following top-ups and resets', async () => {
    const s = await start({ initialBalance: 1240.75 });
    const accessToken = await token(s.url, API_KEY);
    expect((await call(s.url, 'GET', '/api/v1/account/balance', { token: accessToken })).body).toEqual({ balance: 1240.75 });
    s.topUp(9.25);
    expect((await call(s.url, 'GET', '/api/v1/account/balance', { token: accessToken })).body).toEqual({ balance: 1250 });
    s.setBalance(3);
    expect((await call(s.url, 'GET', '/api/v1/account/balance', { token: accessToken })).body).toEqual({ balance: 3 });
  });
});

describe('POST /orders', () => {
  it('answers 201 with a pending order for 2 × item 4090 and charges 18 at once', async () => {
    const s = await start({ fulfilment: { minMs: 5_000, maxMs: 5_000 } });
    const accessToken = await token(s.url, API_KEY);
    const answer = await call(s.url, 'POST', '/api/v1/orders', {
      token: accessToken,
      body: { item_id: 4090, quantity: 2, merchant_order_id: 'm-1' },
    });
    expect(answer.status).toBe(201);
    const order = answer.body as Record<string, unknown>;
    expect(order).toMatchObject({
      status: 'pending',
      item: 4090,
      item_name: 'Sample Gift Card 10 USD',
      item_product_type: 'key',
      quantity: 2,
      delivered_quantity: 0,
      price: 18,
      refund_amount: 0,
      fields: {},
      codes: [],
      error: '',
      error_message: '',
      merchant_order_id: 'm-1',
      completed_at: null,
    });
    expect(order.id).toMatch(UUID);
    expect(Number.isNaN(Date.parse(String(order.created_at)))).toBe(false);
    expect(s.balance()).toBe(982);
    expect((await call(s.url, 'GET', '/api/v1/account/balance', { token: accessToken })).body).toEqual({ balance: 982 });
  });

  it('rejects a second order with the same merchant_order_id as a validation_error naming it, charging once', async () => {
    const s = await start();
    const accessToken = await token(s.url, API_KEY);
    const body = { item_id: 4090, quantity: 2, merchant_order_id: 'dup-1' };
    expect((await call(s.url, 'POST', '/api/v1/orders', { token: accessToken, body })).status).toBe(201);
    const again = await call(s.url, 'POST', '/api/v1/orders', { token: accessToken, body });
    expect(again.status).toBe(400);
    expect(again.body).toMatchObject({ code: 'validation_error' });
    expect((again.body as { detail: string }).detail).toContain('merchant_order_id');
    expect(JSON.stringify(again.body)).not.toMatch(UUID);
    expect(s.orders()).toHaveLength(1);
    expect(s.stats().charged).toBe(18);
  });

  it('answers 400 insufficient_balance and stores nothing when the balance cannot cover the order', async () => {
    const s = await start({ initialBalance: 17.99 });
    const accessToken = await token(s.url, API_KEY);
    const answer = await call(s.url, 'POST', '/api/v1/orders', { token: accessToken, body: { item_id: 4090, quantity: 2, merchant_order_id: 'poor-1' } });
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ code: 'insufficient_balance' });
    expect(s.orders()).toHaveLength(0);
    expect(s.balance()).toBe(17.99);
    // The id was not used up: once funded, the same merchant_order_id goes through.
    s.topUp(0.01);
    const retry = await call(s.url, 'POST', '/api/v1/orders', { token: accessToken, body: { item_id: 4090, quantity: 2, merchant_order_id: 'poor-1' } });
    expect(retry.status).toBe(201);
    expect(s.balance()).toBe(0);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['an unknown item', { item_id: 999_999 }, 'item_id'],
    ['a missing item_id', { quantity: 1 }, 'item_id'],
    ['an item_id that is not an integer', { item_id: '4090' }, 'item_id'],
    ['an out-of-stock item', { item_id: 7300 }, 'item_id'],
    ['a key quantity below the minimum', { item_id: 4090, quantity: 0 }, 'quantity'],
    ['a key quantity above the maximum', { item_id: 4090, quantity: 51 }, 'quantity'],
    ['a fractional key quantity', { item_id: 4090, quantity: 1.5 }, 'quantity'],
    ['a topup without an amount', { item_id: 5100, fields: { player_id: 'p1', server: 17 } }, 'quantity'],
    ['a topup amount below the minimum', { item_id: 5100, quantity: 4.99, fields: { player_id: 'p1', server: 17 } }, 'quantity'],
    ['a topup without fields', { item_id: 5100, quantity: 10 }, 'fields'],
    ['a topup missing a required field', { item_id: 5100, quantity: 10, fields: { player_id: 'p1' } }, 'fields.server'],
    ['a choice sent as its label', { item_id: 5100, quantity: 10, fields: { player_id: 'p1', server: 'Europe (EU-West)' } }, 'fields.server'],
    ['a choice id that is not an option', { item_id: 5100, quantity: 10, fields: { player_id: 'p1', server: 99 } }, 'fields.server'],
    ['an empty text field', { item_id: 5100, quantity: 10, fields: { player_id: '', server: 17 } }, 'fields.player_id'],
    ['an unknown field name', { item_id: 5100, quantity: 10, fields: { player_id: 'p1', server: 17, colour: 'red' } }, 'fields.colour'],
    ['a service with a quantity', { item_id: 6200, quantity: 2, fields: { account_name: 'bob' } }, 'quantity'],
    ['a service without its required field', { item_id: 6200, fields: {} }, 'fields.account_name'],
    ['a merchant_order_id over 100 characters', { item_id: 4090, merchant_order_id: 'x'.repeat(101) }, 'merchant_order_id'],
  ])('answers 400 validation_error for %s, naming %s, and charges nothing', async (_what, body, field) => {
    const s = await start();
    const accessToken = await token(s.url, API_KEY);
    const answer = await call(s.url, 'POST', '/api/v1/orders', { token: accessToken, body });
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ code: 'validation_error' });
    expect((answer.body as { detail: string }).detail.startsWith(`${field}:`)).toBe(true);
    expect(s.orders()).toHaveLength(0);
    expect(s.balance()).toBe(1000);
  });

  it('answers 400 validation_error for a body that is not JSON', async () => {
    const s = await start();
    const accessToken = await token(s.url, API_KEY);
    const response = await fetch(`${s.url}/api/v1/orders`, {
      method: 'POST',
      headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
      body: '{not json',
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: 'validation_error' });
  });

  it('prices a topup by amount and echoes a choice as its label', async () => {
    const s = await start({ fulfilment: { minMs: 5_000, maxMs: 5_000 } });
    const accessToken = await token(s.url, API_KEY);
    const answer = await call(s.url, 'POST', '/api/v1/orders', {
      token: accessToken,
      body: { item_id: 5100, quantity: 10.5, fields: { player_id: 'p-77', server: 17 }, merchant_order_id: 't-1' },
    });
    expect(answer.status).toBe(201);
    expect(answer.body).toMatchObject({ price: 9.98, quantity: 10.5, fields: { player_id: 'p-77', server: 'Europe (EU-West)' } });
    expect(s.balance()).toBe(990.02);
  });

  it('prices a service at its whole price, with or without an explicit quantity of 1', async () => {
    const s = await start();
    const accessToken = await token(s.url, API_KEY);
    const omitted = await call(s.url, 'POST', '/api/v1/orders', { token: accessToken, body: { item_id: 6200, fields: { account_name: 'bob' } } });
    const explicit = await call(s.url, 'POST', '/api/v1/orders', { token: accessToken, body: { item_id: 6200, quantity: 1, fields: { account_name: 'ann' } } });
    expect(omitted.body).toMatchObject({ quantity: 1, price: 15 });
    expect(explicit.body).toMatchObject({ quantity: 1, price: 15 });
  });

  it('counts stock down, and refuses an order once the stock cannot cover it', async () => {
    const scarce: CatalogItem = { ...sampleCatalogItems()[0], id: 8000, stock: 3 } as CatalogItem;
    const s = await start({ catalog: Catalog.fromItems([scarce]), fulfilment: { minMs: 5_000, maxMs: 5_000 } });
    const accessToken = await token(s.url, API_KEY);
    expect((await call(s.url, 'POST', '/api/v1/orders', { token: accessToken, body: { item_id: 8000, quantity: 2 } })).status).toBe(201);
    const tooMany = await call(s.url, 'POST', '/api/v1/orders', { token: accessToken, body: { item_id: 8000, quantity: 2 } });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body).toMatchObject({ code: 'validation_error' });
    expect((await call(s.url, 'POST', '/api/v1/orders', { token: accessToken, body: { item_id: 8000, quantity: 1 } })).status).toBe(201);
  });
});

describe('GET /orders/{id}', () => {
  it('answers 404 not_found for an id it does not know', async () => {
    const s = await start();
    const accessToken = await token(s.url, API_KEY);
    for (const id of ['3f1c2a4e-0000-4000-8000-000000000000', 'not-a-uuid']) {
      const answer = await call(s.url, 'GET', `/api/v1/orders/${id}`, { token: accessToken });
      expect(answer.status).toBe(404);
      expect(answer.body).toMatchObject({ code: 'not_found' });
    }
  });

  it('shows a completed key order with one generated code per unit, matching the sandbox record', async () => {
    const s = await start({ fulfilment: { minMs: 10, maxMs: 30, outcomes: { completed: 1, partial: 0, failed: 0 } } });
    const accessToken = await token(s.url, API_KEY);
    const created = (await call(s.url, 'POST', '/api/v1/orders', { token: accessToken, body: { item_id: 4090, quantity: 3, merchant_order_id: 'c-1' } }))
      .body as { id: string };
    const order = await settled(s, accessToken, created.id);
    expect(order).toMatchObject({ status: 'completed', delivered_quantity: 3, refund_amount: 0, price: 27, error: '', error_message: '' });
    const codes = order.codes as string[];
    expect(codes).toHaveLength(3);
    for (const code of codes) expect(code).toMatch(/^VOODOO-[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$/);
    expect(new Set(codes).size).toBe(3);
    expect(order.completed_at).toEqual(expect.any(String));
    const record = s.orders()[0];
    expect(record).toMatchObject({ id: created.id, merchantOrderId: 'c-1', status: 'completed', codes, deliveredQuantity: 3 });
    expect(record?.settledAtMs).toEqual(expect.any(Number));
    // Terminal statuses never change.
    await new Promise((r) => setTimeout(r, 40));
    expect((await call(s.url, 'GET', `/api/v1/orders/${created.id}`, { token: accessToken })).body).toEqual(order);
  });

  it('delivers a topup without codes', async () => {
    const s = await start({ fulfilment: { minMs: 0, maxMs: 0, outcomes: { completed: 0, partial: 1, failed: 0 } } });
    const accessToken = await token(s.url, API_KEY);
    const created = (await call(s.url, 'POST', '/api/v1/orders', {
      token: accessToken,
      body: { item_id: 5100, quantity: 20, fields: { player_id: 'p', server: 18 } },
    })).body as { id: string };
    // A partial outcome makes no sense for a topup: the sandbox falls back to the rest of the mix.
    expect(await settled(s, accessToken, created.id)).toMatchObject({ status: 'completed', delivered_quantity: 20, codes: [], refund_amount: 0 });
  });

  it('refunds the undelivered units of a partial order to the balance', async () => {
    const s = await start({ fulfilment: { minMs: 0, maxMs: 0, outcomes: { completed: 0, partial: 1, failed: 0 } } });
    const accessToken = await token(s.url, API_KEY);
    const created = (await call(s.url, 'POST', '/api/v1/orders', { token: accessToken, body: { item_id: 4090, quantity: 5 } })).body as { id: string };
    const order = await settled(s, accessToken, created.id);
    expect(order.status).toBe('partial');
    const delivered = order.delivered_quantity as number;
    expect(delivered).toBeGreaterThanOrEqual(1);
    expect(delivered).toBeLessThan(5);
    expect(order.codes).toHaveLength(delivered);
    expect(order.refund_amount).toBe((5 - delivered) * 9);
    expect(s.balance()).toBe(1000 - 45 + (5 - delivered) * 9);
    expect(s.stats().refunded).toBe((5 - delivered) * 9);
  });

  it('refunds the whole charge of a failed order and says why', async () => {
    const s = await start({ fulfilment: { minMs: 0, maxMs: 0, outcomes: { completed: 0, partial: 0, failed: 1 } } });
    const accessToken = await token(s.url, API_KEY);
    const created = (await call(s.url, 'POST', '/api/v1/orders', { token: accessToken, body: { item_id: 4091, quantity: 2 } })).body as { id: string };
    const order = await settled(s, accessToken, created.id);
    expect(order).toMatchObject({ status: 'failed', delivered_quantity: 0, codes: [], refund_amount: 49, price: 49 });
    expect(['OUT_OF_STOCK', 'PROVIDER_ERROR']).toContain(order.error);
    expect(String(order.error_message).length).toBeGreaterThan(0);
    expect(s.balance()).toBe(1000);
  });

  it('repeats outcomes and codes for the same seed', async () => {
    const run = async (): Promise<string[]> => {
      const s = await start({ seed: 1234, fulfilment: { minMs: 0, maxMs: 0, outcomes: { completed: 1, partial: 1, failed: 1 } } });
      const accessToken = await token(s.url, API_KEY);
      const seen: string[] = [];
      for (let i = 0; i < 6; i++) {
        const created = (await call(s.url, 'POST', '/api/v1/orders', { token: accessToken, body: { item_id: 4090, quantity: 3 } })).body as { id: string };
        const order = await settled(s, accessToken, created.id);
        seen.push(`${String(order.status)}:${(order.codes as string[]).join(',')}`);
      }
      await s.close();
      return seen;
    };
    const first = await run();
    const second = await run();
    expect(second).toEqual(first);
    expect(new Set(first.map((s) => s.split(':')[0])).size).toBeGreaterThan(1);
  });
});
