import { afterEach, describe, expect, it } from 'vitest';
import { Catalog } from '../../src/catalog/catalog.js';
import { sampleCatalogItems } from '../../src/catalog/sample-items.js';
import { startSandbox, type StartSandboxParams } from '../../src/sandbox/sandbox-server.js';
import type { LocalSandbox } from '../../src/sandbox/sandbox-types.js';
import { verifyWebhookSignature } from '../../src/webhook/signature.js';
import { call, eventually, startWebhookReceiver, token, type WebhookReceiver } from './sandbox-test-kit.js';

const API_KEY = 'ak_test_sandbox_webhooks';
const SECRET = 'whsec_test_secret_value';

let sandbox: LocalSandbox | undefined;
let receiver: WebhookReceiver | undefined;

async function start(webhook: Partial<NonNullable<StartSandboxParams['webhook']>> & { url: string }, overrides: Partial<StartSandboxParams> = {}) {
  sandbox = await startSandbox({
    apiKey: API_KEY,
    catalog: Catalog.fromItems(sampleCatalogItems()),
    fulfilment: { minMs: 0, maxMs: 0, outcomes: { completed: 1, partial: 0, failed: 0 } },
    webhook: { secret: SECRET, retryGapMs: 10, timeoutMs: 2_000, ...webhook },
    seed: 11,
    ...overrides,
  });
  return sandbox;
}

afterEach(async () => {
  await sandbox?.close();
  await receiver?.close();
  sandbox = undefined;
  receiver = undefined;
});

async function placeOrder(s: LocalSandbox, body: Record<string, unknown>): Promise<{ id: string; accessToken: string }> {
  const accessToken = await token(s.url, API_KEY);
  const created = await call(s.url, 'POST', '/api/v1/orders', { token: accessToken, body });
  expect(created.status).toBe(201);
  return { id: (created.body as { id: string }).id, accessToken };
}

/** Re-serialise with keys sorted at every depth, to compare against the raw bytes. */
function sortedCompact(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(sortedCompact).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${sortedCompact((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

describe('webhook delivery', () => {
  it('posts compact, key-sorted JSON signed over the raw bytes, agreeing with the lookup', async () => {
    receiver = await startWebhookReceiver();
    const s = await start({ url: receiver.url });
    const { id, accessToken } = await placeOrder(s, {
      item_id: 5100,
      quantity: 12,
      fields: { server: 19, player_id: 'zed' },
      merchant_order_id: 'wh-1',
    });
    const delivery = await eventually(() => receiver?.deliveries[0], 5_000, 'a webhook');
    expect(delivery.path).toBe('/webhooks/voodoo');
    expect(delivery.headers['content-type']).toBe('application/json');
    const signature = delivery.headers['x-webhook-signature'];
    expect(verifyWebhookSignature(SECRET, delivery.raw, typeof signature === 'string' ? signature : undefined)).toBe(true);
    expect(verifyWebhookSignature('another-secret', delivery.raw, typeof signature === 'string' ? signature : undefined)).toBe(false);

    const text = delivery.raw.toString('utf8');
    const event = JSON.parse(text) as Record<string, unknown>;
    expect(text).toBe(sortedCompact(event));
    expect(Object.keys(event).sort()).toEqual(
      [
        'codes',
        'completed_at',
        'created_at',
        'delivered_quantity',
        'error',
        'error_message',
        'fields',
        'item_id',
        'item_name',
        'merchant_order_id',
        'order_id',
        'quantity',
        'refund_amount',
        'status',
        'total_price',
      ].sort(),
    );

    const lookup = (await call(s.url, 'GET', `/api/v1/orders/${id}`, { token: accessToken })).body as Record<string, unknown>;
    expect(event).toMatchObject({
      order_id: lookup.id,
      merchant_order_id: 'wh-1',
      status: lookup.status,
      item_id: lookup.item,
      item_name: lookup.item_name,
      quantity: lookup.quantity,
      total_price: lookup.price,
      delivered_quantity: lookup.delivered_quantity,
      refund_amount: lookup.refund_amount,
      fields: { player_id: 'zed', server: 'Asia (SG)' },
      codes: lookup.codes,
      error: lookup.error,
      error_message: lookup.error_message,
      completed_at: lookup.completed_at,
      created_at: lookup.created_at,
    });
    // The receiver has the delivery before the sandbox has read the 200 back.
    await eventually(() => (s.stats().webhooks.acknowledged === 1 ? true : undefined), 5_000, 'the acknowledgement');
    expect(s.stats().webhooks).toMatchObject({ sent: 1, acknowledged: 1, failed: 0 });
  });

  it('retries a delivery answered with anything but 200 until one is acknowledged', async () => {
    receiver = await startWebhookReceiver((n, res) => res.writeHead(n < 2 ? 500 : 200).end());
    const s = await start({ url: receiver.url, retries: 3 });
    const { id } = await placeOrder(s, { item_id: 4090, quantity: 1 });
    await eventually(() => (s.stats().webhooks.acknowledged === 1 ? true : undefined), 5_000, 'an acknowledged webhook');
    expect(receiver.deliveries).toHaveLength(3);
    expect(new Set(receiver.deliveries.map((d) => d.raw.toString('utf8'))).size).toBe(1);
    expect(s.stats().webhooks).toMatchObject({ sent: 3, acknowledged: 1, failed: 2 });
    expect(s.orders().find((o) => o.id === id)?.webhookAttempts).toBe(3);
  });

  it('gives up after the configured retries', async () => {
    receiver = await startWebhookReceiver((_n, res) => res.writeHead(503).end());
    const s = await start({ url: receiver.url, retries: 2 });
    await placeOrder(s, { item_id: 4090 });
    await eventually(() => (s.stats().webhooks.abandoned === 1 ? true : undefined), 5_000, 'the webhook to be abandoned');
    expect(receiver.deliveries).toHaveLength(3);
    expect(s.stats().webhooks).toMatchObject({ sent: 3, acknowledged: 0, failed: 3 });
  });

  it('treats a redirect as a failure and does not follow it', async () => {
    receiver = await startWebhookReceiver((_n, res) => res.writeHead(302, { location: '/elsewhere' }).end());
    const s = await start({ url: receiver.url, retries: 1 });
    await placeOrder(s, { item_id: 4090 });
    await eventually(() => (s.stats().webhooks.abandoned === 1 ? true : undefined), 5_000, 'the webhook to be abandoned');
    expect(receiver.deliveries.map((d) => d.path)).toEqual(['/webhooks/voodoo', '/webhooks/voodoo']);
  });

  it('counts a delivery not answered within timeoutMs as failed and retries it', async () => {
    // The first delivery is left hanging; the retry is answered.
    receiver = await startWebhookReceiver((n, res) => {
      if (n > 0) res.writeHead(200).end();
    });
    // 500 ms and three retries: on a loaded machine a retry may time out too; one must get through.
    const s = await start({ url: receiver.url, retries: 3, timeoutMs: 500 });
    await placeOrder(s, { item_id: 4090 });
    await eventually(() => (s.stats().webhooks.acknowledged === 1 ? true : undefined), 10_000, 'the retry to be acknowledged');
    const { sent, failed, acknowledged } = s.stats().webhooks;
    expect(acknowledged).toBe(1);
    expect(failed).toBeGreaterThanOrEqual(1);
    expect(sent).toBe(failed + 1);
  });

  it('sends one event per terminal order, for refunds too', async () => {
    receiver = await startWebhookReceiver();
    const s = await start({ url: receiver.url }, { fulfilment: { minMs: 0, maxMs: 0, outcomes: { completed: 0, partial: 1, failed: 1 } } });
    const accessToken = await token(s.url, API_KEY);
    for (let i = 0; i < 6; i++) {
      expect((await call(s.url, 'POST', '/api/v1/orders', { token: accessToken, body: { item_id: 4090, quantity: 4, merchant_order_id: `r-${i}` } })).status).toBe(201);
    }
    await eventually(() => (receiver?.deliveries.length === 6 ? true : undefined), 5_000, 'six webhooks');
    const events = receiver.deliveries.map((d) => JSON.parse(d.raw.toString('utf8')) as { status: string; refund_amount: number; delivered_quantity: number; total_price: number });
    for (const event of events) {
      expect(['partial', 'failed']).toContain(event.status);
      expect(event.refund_amount).toBe((4 - event.delivered_quantity) * 9);
    }
    const refunded = events.reduce((sum, e) => sum + e.refund_amount, 0);
    expect(s.stats().refunded).toBe(refunded);
    expect(s.balance()).toBe(1000 - 6 * 36 + refunded);
  });
});

describe('webhook faults', () => {
  it('drops an event entirely under webhook.drop', async () => {
    receiver = await startWebhookReceiver();
    const s = await start({ url: receiver.url }, { faults: { webhook: { drop: 1 } } });
    const { id } = await placeOrder(s, { item_id: 4090 });
    await eventually(() => (s.stats().webhooks.dropped === 1 ? true : undefined), 5_000, 'a dropped webhook');
    expect(s.stats().faults['webhook.drop']).toBe(1);
    expect(s.orders().find((o) => o.id === id)?.webhookAttempts).toBe(0);
    expect(receiver.deliveries).toHaveLength(0);
  });

  it('sends an event twice under webhook.duplicate', async () => {
    receiver = await startWebhookReceiver();
    const s = await start({ url: receiver.url }, { faults: { webhook: { duplicate: 1 } } });
    await placeOrder(s, { item_id: 4090, merchant_order_id: 'dup-wh' });
    await eventually(() => (receiver?.deliveries.length === 2 ? true : undefined), 5_000, 'two deliveries');
    const [first, second] = receiver.deliveries;
    expect(first?.raw.equals(second?.raw ?? Buffer.alloc(0))).toBe(true);
    expect(s.stats().faults['webhook.duplicate']).toBe(1);
    // The receiver has the second delivery before the sandbox has read its 200 back.
    await eventually(() => (s.stats().webhooks.acknowledged === 2 ? true : undefined), 5_000, 'both acknowledgements');
    expect(s.stats().webhooks).toMatchObject({ sent: 2, acknowledged: 2, failed: 0 });
  });

  it('holds an event back by delayMs under webhook.delay', async () => {
    receiver = await startWebhookReceiver();
    // 2 s: long enough that even a stalled test process looks before the delivery is due.
    const s = await start({ url: receiver.url }, { faults: { webhook: { delay: 1, delayMs: 2_000 } } });
    const { id } = await placeOrder(s, { item_id: 4090 });
    await eventually(() => (s.orders().find((o) => o.id === id)?.settledAtMs ? true : undefined), 5_000, 'settlement');
    expect(receiver.deliveries).toHaveLength(0);
    await eventually(() => receiver?.deliveries[0], 5_000, 'the delayed webhook');
    expect(s.stats().faults['webhook.delay']).toBe(1);
  });

  it('abandons pending deliveries when the sandbox closes', async () => {
    receiver = await startWebhookReceiver((_n, res) => res.writeHead(500).end());
    const s = await start({ url: receiver.url, retries: 3, retryGapMs: 60_000 });
    await placeOrder(s, { item_id: 4090 });
    await eventually(() => (s.stats().webhooks.failed === 1 ? true : undefined), 5_000, 'the first failure');
    await s.close();
    expect(receiver.deliveries).toHaveLength(1);
  });
});
