import { randomUUID } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { got, RequestError } from 'got';
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Order } from '../../src/api/order.js';
import { RedisTokenProvider, type TokenExchange } from '../../src/api/token-provider.js';
import { createVoodooClient, type VoodooClient } from '../../src/api/voodoo-client.js';
import { Catalog } from '../../src/catalog/catalog.js';
import { sampleCatalogItems } from '../../src/catalog/sample-items.js';
import { FulfillmentError } from '../../src/errors/errors.js';
import { LOG_EVENT, readEventLine } from '../../src/logging/log-events.js';
import { createLogger, type Logger } from '../../src/logging/logger.js';
import { projectKeys } from '../../src/redis/keys.js';
import { startSandbox } from '../../src/sandbox/sandbox-server.js';
import type { LocalSandbox } from '../../src/sandbox/sandbox-types.js';
import { connectRedis, deleteKeys, uniquePrefix } from '../support/redis.js';

const API_KEY = `ak_live_${randomUUID().replaceAll('-', '')}`;
const WEBHOOK_SECRET = `whsec-${randomUUID()}`;

async function listen(server: http.Server | net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

async function closedPort(): Promise<number> {
  const server = net.createServer();
  const port = await listen(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function settle(promise: Promise<unknown>): Promise<unknown> {
  try {
    return await promise;
  } catch (err) {
    return err;
  }
}

describe('log redaction across API calls', () => {
  let redis: Redis;
  let prefix: string;
  let lines: string[];
  let logger: Logger;
  let sandbox: LocalSandbox | undefined;
  let receiver: http.Server | undefined;
  const clients: VoodooClient[] = [];
  /** Every access token issued during the test. */
  const issuedTokens: string[] = [];
  /** Every delivered code, from lookups and webhook bodies. */
  const deliveredCodes: string[] = [];

  beforeEach(() => {
    redis = connectRedis();
    prefix = uniquePrefix('redact');
    lines = [];
    issuedTokens.length = 0;
    deliveredCodes.length = 0;
    // Configured as a composition root would: secrets named, most verbose level.
    logger = createLogger({ level: 'trace', destination: { write: (line: string) => void lines.push(line) }, secrets: [API_KEY, WEBHOOK_SECRET] });
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await sandbox?.close();
    sandbox = undefined;
    if (receiver) {
      receiver.closeAllConnections();
      const open = receiver;
      await new Promise((resolve) => open.close(resolve));
      receiver = undefined;
    }
    await deleteKeys(redis, prefix);
    await redis.quit();
  });

  function client(baseUrl: string, apiKey = API_KEY): VoodooClient {
    const created = createVoodooClient({
      baseUrl,
      apiKey,
      timeoutMs: 2_000,
      logger,
      tokens: (exchange: TokenExchange) =>
        new RedisTokenProvider({
          redis,
          // Another key must not find this key's shared token (deleteKeys still covers it).
          keyPrefix: apiKey === API_KEY ? prefix : `${prefix}-other`,
          refreshMarginMs: 0,
          logger,
          exchange: async () => {
            const token = await exchange();
            issuedTokens.push(token.token);
            return token;
          },
        }),
    });
    clients.push(created);
    return created;
  }

  async function completedOrder(api: VoodooClient, id: string): Promise<Order> {
    for (let i = 0; i < 100; i += 1) {
      const order = await api.getOrder(id);
      if (order.status === 'completed') return order;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('order did not complete');
  }

  it('never writes the API key, an access token, the webhook secret or a delivered code', async () => {
    receiver = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const event = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { codes?: string[] };
        deliveredCodes.push(...(event.codes ?? []));
        res.writeHead(200).end();
      });
    });
    const receiverPort = await listen(receiver);
    sandbox = await startSandbox({
      apiKey: API_KEY,
      catalog: Catalog.fromItems(sampleCatalogItems()),
      seed: 3,
      logger,
      tokenTtlMs: 60_000,
      fulfilment: { minMs: 10, maxMs: 30, outcomes: { completed: 1, partial: 0, failed: 0 } },
      webhook: { url: `http://127.0.0.1:${receiverPort}/hook`, secret: WEBHOOK_SECRET, retryGapMs: 50 },
    });

    // Calls that succeed, codes included.
    const api = client(sandbox.url);
    await api.getBalance();
    const placed = await api.createOrder({ itemId: 4090, quantity: 3, merchantOrderId: `m-${randomUUID()}` });
    const order = await completedOrder(api, placed.id);
    deliveredCodes.push(...order.codes);
    expect(order.codes).toHaveLength(3);
    logger.info({ order }, 'order completed');
    logger.info({ orderId: order.id, codes: order.codes }, 'codes delivered');
    logger.debug(order, 'order as the merging object');
    logger.info({ job: { id: 'j1', result: { order } } }, 'job finished');
    logger.info({ orders: [order] }, 'batch');

    // A 401 and its re-exchange: the rejected token goes through invalidate().
    await redis.set(projectKeys(prefix).token, JSON.stringify({ token: 'eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjk5OTk5OTk5OTl9.forged', expiresAtMs: Date.now() + 60_000 }), 'PX', 60_000);
    const second = client(sandbox.url);
    await second.getBalance();

    // Calls that fail, logged the way a caller would.
    const failures = await Promise.all([
      settle(client(sandbox.url, 'ak_wrong_but_secret_looking_key').getBalance()),
      settle(api.getOrder(randomUUID())),
      settle(api.createOrder({ itemId: 4090, merchantOrderId: order.merchantOrderId ?? 'dup' })),
      settle(client(`http://127.0.0.1:${await closedPort()}`).getBalance()),
    ]);
    sandbox.setFaults({ create: { resetAfterCommit: 1 } });
    failures.push(await settle(api.createOrder({ itemId: 4090, merchantOrderId: `m-${randomUUID()}` })));
    for (const err of failures) {
      expect(err).toBeInstanceOf(FulfillmentError);
      logger.error({ err }, 'api call failed');
    }

    // got's own error holds the request options: the Authorization header and the API key in the body.
    const liveToken = issuedTokens[0] ?? 'missing';
    const gotError = await settle(
      got.post(`http://127.0.0.1:${await closedPort()}/api/v1/orders`, {
        headers: { authorization: `Bearer ${liveToken}` },
        json: { api_key: API_KEY },
        retry: { limit: 0 },
      }),
    );
    expect(gotError).toBeInstanceOf(RequestError);
    expect(JSON.stringify((gotError as RequestError).options)).toContain(liveToken);
    logger.error({ err: gotError }, 'raw got error');
    logger.error({ error: gotError }, 'raw got error under error');
    logger.error(gotError as Error, 'raw got error as the object');
    logger.warn(`free text naming the secret ${WEBHOOK_SECRET}`);

    // Wait for the webhook to be delivered so its codes are part of what must not appear.
    for (let i = 0; i < 100 && deliveredCodes.length < 6; i += 1) await new Promise((r) => setTimeout(r, 20));

    // The test exercised what it claims to.
    expect(issuedTokens.length).toBeGreaterThanOrEqual(2);
    expect(deliveredCodes.length).toBeGreaterThanOrEqual(3);
    const apiCalls = lines.filter((line) => readEventLine(line)?.event === LOG_EVENT.apiCall);
    expect(apiCalls.length).toBeGreaterThan(5);
    expect(apiCalls[0]).toMatch(/"endpoint":"token".*"status":200.*"durationMs":\d+/);
    expect(lines.some((line) => line.includes('"status":401'))).toBe(true);
    expect(lines.some((line) => line.includes('ECONNREFUSED'))).toBe(true);

    const output = lines.join("\n");
    expect(output).not.toContain(API_KEY);
    expect(output).not.toContain('ak_wrong_but_secret_looking_key');
    expect(output).not.toContain(WEBHOOK_SECRET);
    expect(output).not.toContain('forged');
    for (const token of issuedTokens) expect(output).not.toContain(token);
    for (const code of deliveredCodes) expect(output).not.toContain(code);
  });

  it('lets the client log its calls without needing any scrubbing', async () => {
    sandbox = await startSandbox({ apiKey: API_KEY, catalog: Catalog.fromItems(sampleCatalogItems()), seed: 4 });
    const api = client(sandbox.url);
    await api.getBalance();
    await settle(api.getOrder(randomUUID()));
    await settle(client(sandbox.url, 'ak_wrong_key_0000').getBalance());
    const clientLines = lines.filter((line) => line.includes('"endpoint"'));
    expect(clientLines.length).toBeGreaterThanOrEqual(4);
    // Nothing secret was ever handed to the logger, so nothing needed censoring.
    for (const line of clientLines) expect(line).not.toContain('[Redacted]');
  });
});
