import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrderLedger } from '../../src/ledger/order-ledger.js';
import { createLogger } from '../../src/logging/logger.js';
import { createProcessRegistry } from '../../src/metrics/process-registry.js';
import { createWebhookCounter } from '../../src/metrics/webhook-metrics.js';
import { signWebhook } from '../../src/webhook/signature.js';
import { startWebhookReceiver, WEBHOOK_PATH, type WebhookReceiver } from '../../src/webhook/webhook-receiver.js';
import { total, parseSamples } from '../support/prometheus-text.js';
import { connectRedis, deleteKeys, uniquePrefix } from '../support/redis.js';

const SECRET = 'whsec-test-outcomes-0123456789';
const BODY_LIMIT_BYTES = 4096;

/** A terminal webhook event for `mid`, keys sorted as the API sends them. */
function event(mid: string | null, orderId: string): string {
  return JSON.stringify({
    codes: [],
    completed_at: '2026-06-10T12:00:05Z',
    created_at: '2026-06-10T12:00:00Z',
    delivered_quantity: 0,
    error: 'out_of_stock',
    error_message: 'none left',
    fields: {},
    item_id: 101,
    item_name: 'Gift card 10',
    merchant_order_id: mid,
    order_id: orderId,
    quantity: 1,
    refund_amount: 9,
    status: 'failed',
    total_price: 9,
  });
}

describe('the webhook receiver counts each delivery by outcome', () => {
  const redis = connectRedis();
  const prefix = uniquePrefix('wh-outcomes');
  const registry = createProcessRegistry();
  let receiver: WebhookReceiver;

  const post = async (raw: string, signature: string | null = signWebhook(SECRET, raw)): Promise<number> => {
    const headers: Record<string, string> = { 'content-type': 'application/json', connection: 'close' };
    if (signature !== null) headers['x-webhook-signature'] = signature;
    const res = await fetch(`${receiver.url}${WEBHOOK_PATH}`, { method: 'POST', headers, body: raw });
    await res.arrayBuffer();
    return res.status;
  };

  beforeAll(async () => {
    receiver = await startWebhookReceiver({
      host: '127.0.0.1',
      port: 0,
      secret: SECRET,
      bodyLimitBytes: BODY_LIMIT_BYTES,
      maxConnections: 16,
      ledger: new OrderLedger({ redis, prefix, retentionSeconds: 60, tombstoneTtlSeconds: 60, unmatchedEventTtlSeconds: 60 }),
      wake: () => Promise.resolve(),
      logger: createLogger({ level: 'silent' }),
      countWebhook: createWebhookCounter(registry),
    });
  });
  afterAll(async () => {
    await receiver.close();
    await deleteKeys(redis, prefix);
    await redis.quit();
  });

  it('as stored, duplicate, bad_signature, malformed and too_large', async () => {
    expect(await post(event('wo-1', 'order-1'))).toBe(200);
    expect(await post(event('wo-1', 'order-1'))).toBe(200);
    expect(await post(event(null, 'order-2'))).toBe(200);
    expect(await post(event(null, 'order-2'))).toBe(200);
    expect(await post(event('wo-4', 'order-4'), 'sha256=00')).toBe(401);
    expect(await post(event('wo-5', 'order-5'), null)).toBe(401);
    expect(await post('{not json')).toBe(400);
    expect(await post('[1]')).toBe(400);
    expect(await post(JSON.stringify({ order_id: 'x' }))).toBe(400);
    expect(await post(JSON.stringify({ pad: 'x'.repeat(BODY_LIMIT_BYTES) }))).toBe(413);

    const samples = parseSamples(await registry.metrics());
    const byOutcome = Object.fromEntries(
      ['stored', 'duplicate', 'conflict', 'bad_signature', 'malformed', 'too_large', 'store_failed', 'refused'].map((outcome) => [outcome, total(samples, 'voodoo_webhooks_total', { outcome })]),
    );
    expect(byOutcome).toEqual({ stored: 2, duplicate: 2, conflict: 0, bad_signature: 2, malformed: 3, too_large: 1, store_failed: 0, refused: 0 });
  });
});
