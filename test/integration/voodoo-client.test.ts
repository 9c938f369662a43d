import { randomUUID } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ApiEndpoint } from '../../src/api/error-mapping.js';
import { RedisTokenProvider, type TokenExchange, type TokenProvider } from '../../src/api/token-provider.js';
import { createVoodooClient, type VoodooClient, type VoodooClientOptions } from '../../src/api/voodoo-client.js';
import { Catalog } from '../../src/catalog/catalog.js';
import { sampleCatalogItems } from '../../src/catalog/sample-items.js';
import {
  AmbiguousError,
  AuthForbiddenError,
  DuplicateOrderError,
  FulfillmentError,
  InsufficientBalanceError,
  InvalidCredentialsError,
  NotAuthenticatedError,
  NotFoundError,
  RateLimitedError,
  TransientError,
  UnexpectedResponseError,
  ValidationError,
} from '../../src/errors/errors.js';
import { createLogger } from '../../src/logging/logger.js';
import { startSandbox, type StartSandboxParams } from '../../src/sandbox/sandbox-server.js';
import type { LocalSandbox } from '../../src/sandbox/sandbox-types.js';
import { connectRedis, deleteKeys, uniquePrefix } from '../support/redis.js';

const API_KEY = `ak_test_${randomUUID().replaceAll('-', '')}`;
const logger = createLogger({ level: 'silent', destination: { write: () => undefined } });

/** Keeps whatever token it got until told it was rejected: expiry is the server's business. */
class StickyTokens implements TokenProvider {
  readonly invalidated: string[] = [];
  constructor(
    private readonly exchange: TokenExchange | undefined,
    private token?: string,
  ) {}
  async getToken(): Promise<string> {
    if (this.token === undefined) {
      if (this.exchange === undefined) throw new Error('no token and no exchange');
      this.token = (await this.exchange()).token;
    }
    return this.token;
  }
  invalidate(token: string): Promise<void> {
    this.invalidated.push(token);
    if (this.token === token) this.token = undefined;
    return Promise.resolve();
  }
}

/** Lifetime of the sandbox's tokens where a test expires one on purpose, in ms: far longer than any test. */
const TOKEN_TTL_MS = 60_000;

/** A clock for the sandbox's tokens: the wall clock plus however far the test moved it on. */
function tokenClock(): { now: () => number; advance: (ms: number) => void } {
  let offsetMs = 0;
  return {
    now: () => Date.now() + offsetMs,
    advance: (ms) => {
      offsetMs += ms;
    },
  };
}

/** Resolves with the rejection of `promise` (failing the test when it resolves). */
async function failureOf(promise: Promise<unknown>): Promise<FulfillmentError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(FulfillmentError);
    return err as FulfillmentError;
  }
  throw new Error('expected the call to fail');
}

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

describe('VoodooClient against the sandbox', () => {
  let redis: Redis;
  let prefix: string;
  const sandboxes: LocalSandbox[] = [];
  const clients: VoodooClient[] = [];
  const servers: http.Server[] = [];
  let calls: Record<ApiEndpoint, number>;

  beforeEach(() => {
    redis = connectRedis();
    prefix = uniquePrefix('vc');
    calls = { token: 0, balance: 0, create: 0, lookup: 0 };
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await Promise.all(sandboxes.splice(0).map((s) => s.close()));
    const openServers = servers.splice(0);
    for (const server of openServers) server.closeAllConnections();
    await Promise.all(openServers.map((s) => new Promise((resolve) => s.close(resolve))));
    await deleteKeys(redis, prefix);
    await redis.quit();
  });

  async function sandbox(options: Partial<StartSandboxParams> = {}): Promise<LocalSandbox> {
    const started = await startSandbox({ apiKey: API_KEY, catalog: Catalog.fromItems(sampleCatalogItems()), seed: 7, ...options });
    sandboxes.push(started);
    return started;
  }

  function client(baseUrl: string, overrides: Partial<VoodooClientOptions> = {}): VoodooClient {
    const created = createVoodooClient({
      baseUrl,
      apiKey: API_KEY,
      timeoutMs: 2_000,
      logger,
      onCall: ({ endpoint }) => {
        calls[endpoint] += 1;
      },
      tokens: (exchange) => new RedisTokenProvider({ redis, keyPrefix: prefix, exchange, refreshMarginMs: 0, logger }),
      ...overrides,
    });
    clients.push(created);
    return created;
  }

  describe('token exchange', () => {
    it('returns the token with the expiry its exp claim states', async () => {
      const api = await sandbox({ tokenTtlMs: 60_000 });
      const before = Date.now();
      const { token, expiresAtMs } = await client(api.url).exchangeToken();
      expect(token.split('.')).toHaveLength(3);
      // exp has whole-second precision.
      expect(expiresAtMs).toBeGreaterThan(before + 58_000);
      expect(expiresAtMs).toBeLessThanOrEqual(Date.now() + 60_000);
    });

    it('rejects a wrong key with a fatal InvalidCredentialsError', async () => {
      const api = await sandbox();
      const err = await failureOf(client(api.url, { apiKey: 'ak_wrong_key_123456' }).getBalance());
      expect(err).toBeInstanceOf(InvalidCredentialsError);
      expect(err.retryable).toBe(false);
      expect(err.status).toBe(401);
      expect(api.stats().calls.balance).toBe(0);
    });

    it('rejects a revoked key with InvalidCredentialsError', async () => {
      const api = await sandbox();
      api.revokeKey();
      expect(await failureOf(client(api.url).exchangeToken())).toBeInstanceOf(InvalidCredentialsError);
    });

    it('answers AuthForbiddenError when API-key auth is disabled for the account', async () => {
      const api = await sandbox({ apiKeyAuthDisabled: true });
      const err = await failureOf(client(api.url).getBalance());
      expect(err).toBeInstanceOf(AuthForbiddenError);
      expect(err.retryable).toBe(false);
      expect(err.status).toBe(403);
    });

    it('maps a 503 to a retryable TransientError and does not cache the failure', async () => {
      const api = await sandbox({ faults: { token: { unavailable: 1 } } });
      const api1 = client(api.url);
      const err = await failureOf(api1.getBalance());
      expect(err).toBeInstanceOf(TransientError);
      expect(err.retryable).toBe(true);
      expect(err.status).toBe(503);
      api.setFaults({});
      expect(await api1.getBalance()).toBe(1000);
      expect(api.stats().calls.token).toBe(2);
    });
  });

  describe('access tokens', () => {
    it('exchanges once for 20 concurrent calls of a cold client', async () => {
      const api = await sandbox();
      const api1 = client(api.url);
      const balances = await Promise.all(Array.from({ length: 20 }, () => api1.getBalance()));
      expect(balances).toEqual(Array.from({ length: 20 }, () => 1000));
      expect(api.stats().calls.token).toBe(1);
      expect(api.stats().calls.balance).toBe(20);
      expect(calls).toMatchObject({ token: 1, balance: 20 });
    });

    it('re-exchanges once and repeats the call when the token has expired (401)', async () => {
      const clock = tokenClock();
      const api = await sandbox({ tokenTtlMs: TOKEN_TTL_MS, tokenClock: clock.now });
      const tokens: StickyTokens[] = [];
      const api1 = client(api.url, {
        tokens: (exchange) => {
          const sticky = new StickyTokens(exchange);
          tokens.push(sticky);
          return sticky;
        },
      });
      expect(await api1.getBalance()).toBe(1000);
      clock.advance(TOKEN_TTL_MS);
      expect(await api1.getBalance()).toBe(1000);
      expect(tokens[0]?.invalidated).toHaveLength(1);
      expect(api.stats().calls).toMatchObject({ token: 2, balance: 3 });
      expect(calls).toMatchObject({ token: 2, balance: 3 });
    });

    it('retries a create after a 401 too, placing exactly one order', async () => {
      const api = await sandbox();
      const api1 = client(api.url, { tokens: (exchange) => new StickyTokens(exchange, 'stale-token') });
      const order = await api1.createOrder({ itemId: 4090, quantity: 1, merchantOrderId: `m-${randomUUID()}` });
      expect(order.status).toBe('pending');
      expect(api.orders()).toHaveLength(1);
      expect(api.stats().calls).toMatchObject({ token: 1, create: 2 });
    });

    it('gives up with NotAuthenticatedError when the renewed token is refused as well', async () => {
      const api = await sandbox();
      const alwaysBogus: TokenProvider = { getToken: () => Promise.resolve('bogus'), invalidate: () => Promise.resolve() };
      const err = await failureOf(client(api.url, { tokens: () => alwaysBogus }).getBalance());
      expect(err).toBeInstanceOf(NotAuthenticatedError);
      expect(err.status).toBe(401);
      expect(err.apiCode).toBe('not_authenticated');
      expect(api.stats().calls.balance).toBe(2);
    });

    it('shares one token between two clients on one Redis prefix', async () => {
      const api = await sandbox();
      const a = client(api.url);
      const b = client(api.url);
      expect(await a.getBalance()).toBe(1000);
      expect(await b.getBalance()).toBe(1000);
      expect(api.stats().calls.token).toBe(1);
    });

    describe('when the shared token expires before this fleet expects', () => {
      it('re-exchanges exactly once for both clients', async () => {
        const clock = tokenClock();
        const api = await sandbox({ tokenTtlMs: TOKEN_TTL_MS, tokenClock: clock.now });
        // The providers keep the wall clock: they believe the token fresh after the API stopped accepting it.
        const tokens = (exchange: TokenExchange): TokenProvider =>
          new RedisTokenProvider({ redis, keyPrefix: prefix, exchange, refreshMarginMs: 0, logger });
        const a = client(api.url, { tokens });
        const b = client(api.url, { tokens });
        await Promise.all([a.getBalance(), b.getBalance()]);
        expect(api.stats().calls.token).toBe(1);

        clock.advance(TOKEN_TTL_MS);
        expect(await Promise.all([a.getBalance(), b.getBalance()])).toEqual([1000, 1000]);
        expect(api.stats().calls.token).toBe(2);
        // Each client: one refused call and one repeat.
        expect(api.stats().calls.balance).toBe(6);
      });
    });
  });

  describe('business calls', () => {
    it('reads the balance in major units', async () => {
      const api = await sandbox();
      api.setBalance(12.5);
      expect(await client(api.url).getBalance()).toBe(12.5);
    });

    it('places an order and looks it up by id', async () => {
      const api = await sandbox();
      const api1 = client(api.url);
      const merchantOrderId = `m-${randomUUID()}`;
      const created = await api1.createOrder({ itemId: 4090, quantity: 2, merchantOrderId });
      expect(created).toMatchObject({ status: 'pending', itemId: 4090, quantity: 2, price: 18, merchantOrderId });
      const found = await api1.getOrder(created.id);
      expect(found.id).toBe(created.id);
      expect(found.merchantOrderId).toBe(merchantOrderId);
    });

    it('sends fields for a top-up item', async () => {
      const api = await sandbox();
      const order = await client(api.url).createOrder({
        itemId: 5100,
        quantity: 10,
        merchantOrderId: `m-${randomUUID()}`,
        fields: { player_id: 'p-42', server: 17 },
      });
      expect(order.fields).toMatchObject({ player_id: 'p-42', server: 'Europe (EU-West)' });
    });

    it('maps a bad request to ValidationError, keeping the API code and detail', async () => {
      const api = await sandbox();
      const err = await failureOf(client(api.url).createOrder({ itemId: 999_999, merchantOrderId: `m-${randomUUID()}` }));
      expect(err).toBeInstanceOf(ValidationError);
      expect(err.retryable).toBe(false);
      expect(err.status).toBe(400);
      expect(err.apiCode).toBe('validation_error');
      expect(err.detail).toMatch(/item/i);
    });

    it('maps a second create with the same merchant_order_id to DuplicateOrderError', async () => {
      const api = await sandbox();
      const api1 = client(api.url);
      const merchantOrderId = `m-${randomUUID()}`;
      await api1.createOrder({ itemId: 4090, merchantOrderId });
      const err = await failureOf(api1.createOrder({ itemId: 4090, merchantOrderId }));
      expect(err).toBeInstanceOf(DuplicateOrderError);
      expect(err.code).toBe('duplicate_merchant_order_id');
      expect(err.apiCode).toBe('validation_error');
      expect(api.orders()).toHaveLength(1);
    });

    it('refuses an over-long merchant_order_id without sending it', async () => {
      const api = await sandbox();
      const err = await failureOf(client(api.url).createOrder({ itemId: 4090, merchantOrderId: 'x'.repeat(101) }));
      expect(err).toBeInstanceOf(ValidationError);
      expect(api.stats().calls.create).toBe(0);
    });

    it('maps insufficient_balance', async () => {
      const api = await sandbox({ initialBalance: 1 });
      const err = await failureOf(client(api.url).createOrder({ itemId: 4090, merchantOrderId: `m-${randomUUID()}` }));
      expect(err).toBeInstanceOf(InsufficientBalanceError);
      expect(err.retryable).toBe(false);
      expect(err.apiCode).toBe('insufficient_balance');
    });

    it('maps an unknown order id to NotFoundError', async () => {
      const api = await sandbox();
      const err = await failureOf(client(api.url).getOrder(randomUUID()));
      expect(err).toBeInstanceOf(NotFoundError);
      expect(err.status).toBe(404);
    });

    it('maps 429 to RateLimitedError with the Retry-After wait', async () => {
      const api = await sandbox({ faults: { balance: { rateLimited: 1 }, retryAfterSeconds: 3 } });
      const err = await failureOf(client(api.url).getBalance());
      expect(err).toBeInstanceOf(RateLimitedError);
      expect(err.retryable).toBe(true);
      expect(err.retryAfterMs).toBe(3_000);
    });

    it('maps 429 without Retry-After to RateLimitedError without a wait', async () => {
      const api = await sandbox({ faults: { lookup: { rateLimited: 1 }, retryAfterSeconds: null } });
      const err = await failureOf(client(api.url).getOrder(randomUUID()));
      expect(err).toBeInstanceOf(RateLimitedError);
      expect(err.retryAfterMs).toBeUndefined();
    });

    it('maps a rate-limited create to RateLimitedError, not ambiguous', async () => {
      const api = await sandbox({ faults: { create: { rateLimited: 1 } } });
      const err = await failureOf(client(api.url).createOrder({ itemId: 4090, merchantOrderId: `m-${randomUUID()}` }));
      expect(err).toBeInstanceOf(RateLimitedError);
      expect(api.orders()).toHaveLength(0);
    });

    it('maps a lookup 500 to TransientError', async () => {
      const api = await sandbox({ faults: { lookup: { serverError: 1 } } });
      const err = await failureOf(client(api.url).getOrder(randomUUID()));
      expect(err).toBeInstanceOf(TransientError);
      expect(err.status).toBe(500);
    });

    it('maps a balance 500 to TransientError', async () => {
      const api = await sandbox({ faults: { balance: { serverError: 1 } } });
      expect(await failureOf(client(api.url).getBalance())).toBeInstanceOf(TransientError);
    });
  });

  describe('when a create fails after it may have reached the API', () => {
    const place = (api1: VoodooClient) => api1.createOrder({ itemId: 4090, merchantOrderId: `m-${randomUUID()}` });

    it('maps a 503 to AmbiguousError', async () => {
      const api = await sandbox({ faults: { create: { unavailableBeforeCommit: 1 } } });
      const err = await failureOf(place(client(api.url)));
      expect(err).toBeInstanceOf(AmbiguousError);
      expect(err.status).toBe(503);
      expect(err.retryable).toBe(true);
    });

    it('maps a 502 after commit to AmbiguousError, and the order exists', async () => {
      const api = await sandbox({ faults: { create: { badGatewayAfterCommit: 1 } } });
      const err = await failureOf(place(client(api.url)));
      expect(err).toBeInstanceOf(AmbiguousError);
      expect(err.status).toBe(502);
      expect(api.orders()).toHaveLength(1);
    });

    it('maps a connection reset after commit to AmbiguousError', async () => {
      const api = await sandbox({ faults: { create: { resetAfterCommit: 1 } } });
      const err = await failureOf(place(client(api.url)));
      expect(err).toBeInstanceOf(AmbiguousError);
      expect(err.status).toBeUndefined();
      expect(api.orders()).toHaveLength(1);
    });

    it('maps a timeout after commit to AmbiguousError', async () => {
      const api = await sandbox({ faults: { create: { hangAfterCommit: 1 }, hangMs: 5_000 } });
      // 1.5 s against a 5 s hang: only the create can time out, even on a loaded machine.
      const api1 = client(api.url, { timeoutMs: 1_500 });
      await api1.getBalance(); // token first, so only the create can time out
      const err = await failureOf(place(api1));
      expect(err).toBeInstanceOf(AmbiguousError);
      expect(err.message).toMatch(/timeout/);
      expect(api.orders()).toHaveLength(1);
    });
  });

  describe('when nothing listens at the base URL', () => {
    it('maps a refused create to TransientError, not ambiguous', async () => {
      const port = await closedPort();
      const api1 = client(`http://127.0.0.1:${port}`, { tokens: () => new StickyTokens(undefined, 'some-token') });
      const err = await failureOf(api1.createOrder({ itemId: 4090, merchantOrderId: 'm-refused' }));
      expect(err).toBeInstanceOf(TransientError);
      expect(err.message).toMatch(/ECONNREFUSED/);
      expect(err.cause).toMatchObject({ code: 'ECONNREFUSED' });
    });

    it('maps a refused token exchange to TransientError naming VOODOO_API_URL and where it looked', async () => {
      const port = await closedPort();
      const err = await failureOf(client(`http://127.0.0.1:${port}`).getBalance());
      expect(err).toBeInstanceOf(TransientError);
      expect(err.message).toBe(`token failed: ECONNREFUSED: cannot reach the API at 127.0.0.1:${port} (is VOODOO_API_URL right and the API up?)`);
    });
  });

  describe('when the API answers 2xx with something unreadable', () => {
    it('throws UnexpectedResponseError', async () => {
      const server = http.createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html' }).end('<html>maintenance</html>');
      });
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const address = server.address();
      if (typeof address !== 'object' || address === null) throw new Error('no port');
      const api1 = client(`http://127.0.0.1:${address.port}`, { tokens: () => new StickyTokens(undefined, 'some-token') });
      expect(await failureOf(api1.getBalance())).toBeInstanceOf(UnexpectedResponseError);
      expect(await failureOf(api1.getOrder('abc'))).toBeInstanceOf(UnexpectedResponseError);
      expect(await failureOf(api1.exchangeToken())).toBeInstanceOf(UnexpectedResponseError);
    });
  });

  describe('errors it throws', () => {
    it('carry none of the request options (bearer token, API key)', async () => {
      const port = await closedPort();
      const token = 'eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjF9.secret-signature';
      const api1 = client(`http://127.0.0.1:${port}`, { tokens: () => new StickyTokens(undefined, token) });
      const err = await failureOf(api1.createOrder({ itemId: 4090, merchantOrderId: 'm-x' }));
      const seen = new WeakSet<object>();
      const dump = (value: unknown, depth = 0): string => {
        if (typeof value !== 'object' || value === null || depth > 6 || seen.has(value)) return String(value);
        seen.add(value);
        const names = Object.getOwnPropertyNames(value);
        return names.map((name) => `${name}=${dump((value as Record<string, unknown>)[name], depth + 1)}`).join(';');
      };
      const everything = dump(err);
      expect(everything).toContain('ECONNREFUSED');
      expect(everything).not.toContain(token);
      expect(everything).not.toContain('secret-signature');
      expect(everything).not.toContain(API_KEY);
    });
  });
});
