import { afterEach, describe, expect, it } from 'vitest';
import { Catalog } from '../../src/catalog/catalog.js';
import { sampleCatalogItems } from '../../src/catalog/sample-items.js';
import { startSandbox, type StartSandboxParams } from '../../src/sandbox/sandbox-server.js';
import type { FaultConfig, LocalSandbox } from '../../src/sandbox/sandbox-types.js';
import { call, eventually, token } from './sandbox-test-kit.js';

const API_KEY = 'ak_test_sandbox_faults';

let sandbox: LocalSandbox | undefined;

async function start(faults: FaultConfig, overrides: Partial<StartSandboxParams> = {}): Promise<{ s: LocalSandbox; accessToken: string }> {
  sandbox = await startSandbox({
    apiKey: API_KEY,
    catalog: Catalog.fromItems(sampleCatalogItems()),
    fulfilment: { minMs: 0, maxMs: 0 },
    seed: 3,
    ...overrides,
  });
  const accessToken = await token(sandbox.url, API_KEY);
  // Faults are switched on after the token exchange so that the exchange itself is never faulted.
  sandbox.setFaults(faults);
  return { s: sandbox, accessToken };
}

afterEach(async () => {
  await sandbox?.close();
  sandbox = undefined;
});

const order = (merchantOrderId: string) => ({ item_id: 4090, quantity: 2, merchant_order_id: merchantOrderId });

describe('token faults', () => {
  it('answers 503 to the exchange under token.unavailable', async () => {
    const { s } = await start({ token: { unavailable: 1 } });
    const answer = await call(s.url, 'POST', '/api/v1/auth/token/client', { body: { api_key: API_KEY } });
    expect(answer.status).toBe(503);
    expect(s.stats().faults['token.unavailable']).toBe(1);
  });
});

describe('balance faults', () => {
  it('answers 429 rate_limited with Retry-After under balance.rateLimited', async () => {
    const { s, accessToken } = await start({ balance: { rateLimited: 1 } });
    const answer = await call(s.url, 'GET', '/api/v1/account/balance', { token: accessToken });
    expect(answer.status).toBe(429);
    expect(answer.body).toMatchObject({ code: 'rate_limited' });
    expect(answer.headers.get('retry-after')).toBe('1');
  });

  it('sends the configured Retry-After, or none when it is null', async () => {
    const { s, accessToken } = await start({ balance: { rateLimited: 1 }, retryAfterSeconds: 7 });
    expect((await call(s.url, 'GET', '/api/v1/account/balance', { token: accessToken })).headers.get('retry-after')).toBe('7');
    s.setFaults({ balance: { rateLimited: 1 }, retryAfterSeconds: null });
    const answer = await call(s.url, 'GET', '/api/v1/account/balance', { token: accessToken });
    expect(answer.status).toBe(429);
    expect(answer.headers.get('retry-after')).toBeNull();
  });

  it('answers 500 under balance.serverError', async () => {
    const { s, accessToken } = await start({ balance: { serverError: 1 } });
    expect((await call(s.url, 'GET', '/api/v1/account/balance', { token: accessToken })).status).toBe(500);
    expect(s.stats().faults['balance.serverError']).toBe(1);
  });

  it('injects roughly the configured share of faults', async () => {
    const { s, accessToken } = await start({ balance: { serverError: 0.5 } });
    const statuses: number[] = [];
    for (let i = 0; i < 60; i++) statuses.push((await call(s.url, 'GET', '/api/v1/account/balance', { token: accessToken })).status);
    const failures = statuses.filter((st) => st === 500).length;
    expect(failures).toBeGreaterThan(10);
    expect(failures).toBeLessThan(50);
    expect(s.stats().faults['balance.serverError']).toBe(failures);
    expect(s.stats().calls.balance).toBe(60);
  });
});

describe('create faults', () => {
  it('answers 503 before commit under create.unavailableBeforeCommit: no order, no charge', async () => {
    const { s, accessToken } = await start({ create: { unavailableBeforeCommit: 1 } });
    const answer = await call(s.url, 'POST', '/api/v1/orders', { token: accessToken, body: order('f-503') });
    expect(answer.status).toBe(503);
    expect(s.orders()).toHaveLength(0);
    expect(s.balance()).toBe(1000);
    // Nothing landed, so the same merchant_order_id goes through once the fault clears.
    s.setFaults({});
    expect((await call(s.url, 'POST', '/api/v1/orders', { token: accessToken, body: order('f-503') })).status).toBe(201);
  });

  it('answers 429 with Retry-After before commit under create.rateLimited', async () => {
    const { s, accessToken } = await start({ create: { rateLimited: 1 }, retryAfterSeconds: 2 });
    const answer = await call(s.url, 'POST', '/api/v1/orders', { token: accessToken, body: order('f-429') });
    expect(answer.status).toBe(429);
    expect(answer.body).toMatchObject({ code: 'rate_limited' });
    expect(answer.headers.get('retry-after')).toBe('2');
    expect(s.orders()).toHaveLength(0);
    expect(s.stats().faults['create.rateLimited']).toBe(1);
  });

  it('answers 502 after commit under create.badGatewayAfterCommit: the order exists and is charged', async () => {
    const { s, accessToken } = await start({ create: { badGatewayAfterCommit: 1 } });
    const answer = await call(s.url, 'POST', '/api/v1/orders', { token: accessToken, body: order('f-502') });
    expect(answer.status).toBe(502);
    expect(s.orders()).toMatchObject([{ merchantOrderId: 'f-502', price: 18 }]);
    expect(s.balance()).toBe(982);
    const retry = await call(s.url, 'POST', '/api/v1/orders', { token: accessToken, body: order('f-502') });
    expect(retry.status).toBe(400);
    expect((retry.body as { detail: string }).detail).toContain('merchant_order_id');
    expect(s.stats().charged).toBe(18);
  });

  it('resets the connection after commit under create.resetAfterCommit', async () => {
    const { s, accessToken } = await start({ create: { resetAfterCommit: 1 } });
    await expect(call(s.url, 'POST', '/api/v1/orders', { token: accessToken, body: order('f-reset') })).rejects.toThrow();
    expect(s.orders()).toMatchObject([{ merchantOrderId: 'f-reset' }]);
    expect(s.balance()).toBe(982);
    expect(s.stats().faults['create.resetAfterCommit']).toBe(1);
  });

  it('commits and then keeps the client waiting under create.hangAfterCommit', async () => {
    const { s, accessToken } = await start({ create: { hangAfterCommit: 1 }, hangMs: 30_000 });
    await expect(
      // 1 s: on a loaded machine the server must have read and committed the request by then.
      call(s.url, 'POST', '/api/v1/orders', { token: accessToken, body: order('f-hang'), signal: AbortSignal.timeout(1_000) }),
    ).rejects.toThrow();
    expect(s.orders()).toMatchObject([{ merchantOrderId: 'f-hang' }]);
    expect(s.balance()).toBe(982);
  });

  it('answers a hanging create after hangMs with the order as it was at commit', async () => {
    const { s, accessToken } = await start({ create: { hangAfterCommit: 1 }, hangMs: 100 });
    const answer = await call(s.url, 'POST', '/api/v1/orders', { token: accessToken, body: order('f-late') });
    expect(answer.status).toBe(201);
    expect(answer.body).toMatchObject({ status: 'pending', merchant_order_id: 'f-late' });
  });

  it('does not let a hanging create keep the sandbox from closing', async () => {
    const { s, accessToken } = await start({ create: { hangAfterCommit: 1 }, hangMs: 60_000 });
    const pending = call(s.url, 'POST', '/api/v1/orders', { token: accessToken, body: order('f-close') });
    await eventually(() => (s.orders().length === 1 ? true : undefined), 5_000, 'the commit');
    await s.close();
    await expect(pending).rejects.toThrow();
  });
});

describe('lookup faults', () => {
  it('answers 500 under lookup.serverError and 429 under lookup.rateLimited', async () => {
    const { s, accessToken } = await start({});
    const created = (await call(s.url, 'POST', '/api/v1/orders', { token: accessToken, body: order('l-1') })).body as { id: string };
    s.setFaults({ lookup: { serverError: 1 } });
    expect((await call(s.url, 'GET', `/api/v1/orders/${created.id}`, { token: accessToken })).status).toBe(500);
    s.setFaults({ lookup: { rateLimited: 1 } });
    const limited = await call(s.url, 'GET', `/api/v1/orders/${created.id}`, { token: accessToken });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
    expect(s.stats().faults).toMatchObject({ 'lookup.serverError': 1, 'lookup.rateLimited': 1 });
  });

  it('answers 404 for a new order during notFoundWindowMs under lookup.notFoundAfterCreate, then the order', async () => {
    // 2 s: create and the early lookup must both fit in the window, even on a loaded machine.
    const { s, accessToken } = await start({ lookup: { notFoundAfterCreate: 1, notFoundWindowMs: 2_000 } });
    const created = (await call(s.url, 'POST', '/api/v1/orders', { token: accessToken, body: order('l-404') })).body as { id: string };
    const early = await call(s.url, 'GET', `/api/v1/orders/${created.id}`, { token: accessToken });
    expect(early.status).toBe(404);
    expect(early.body).toMatchObject({ code: 'not_found' });
    const later = await eventually(async () => {
      const answer = await call(s.url, 'GET', `/api/v1/orders/${created.id}`, { token: accessToken });
      return answer.status === 200 ? answer : undefined;
    }, 5_000, 'the order to become visible');
    expect(later.body).toMatchObject({ id: created.id });
    expect(s.stats().faults['lookup.notFoundAfterCreate']).toBeGreaterThanOrEqual(1);
  });
});

describe('fault configuration', () => {
  it('rejects a probability outside 0..1, naming the fault', async () => {
    const { s } = await start({});
    expect(() => s.setFaults({ create: { resetAfterCommit: 2 } })).toThrow(/faults\.create\.resetAfterCommit/);
  });

  it('rejects a misspelt fault name instead of silently injecting nothing', async () => {
    const { s } = await start({});
    expect(() => s.setFaults({ create: { resetAfterComit: 1 } } as unknown as FaultConfig)).toThrow(/faults\.create/);
  });
});
