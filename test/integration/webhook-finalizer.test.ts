import { Queue, type Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Order } from '../../src/api/order.js';
import { createWebhookFinalizer } from '../../src/handlers/webhook-finalizer.js';
import { OrderLedger } from '../../src/ledger/order-ledger.js';
import { initialState, transition } from '../../src/lifecycle/order-machine.js';
import type { OrderResult, OrderState } from '../../src/lifecycle/order-state.js';
import { createLogger } from '../../src/logging/logger.js';
import { RESULTS_QUEUE } from '../../src/queue/queue-names.js';
import { createResultEmitter } from '../../src/queue/result-emitter.js';
import { connectRedis, deleteKeys, uniquePrefix } from '../support/redis.js';

const policy = { balanceWaitMaxMs: 60_000, resolveTimeoutMs: 60_000 };
const logger = createLogger({ level: 'silent' });

function order(mid: string, id: string, status: Order['status']): Order {
  return {
    id,
    status,
    merchantOrderId: mid,
    itemId: 4090,
    itemName: 'Sample Gift Card 10 USD',
    productType: 'key',
    quantity: 2,
    deliveredQuantity: status === 'completed' ? 2 : 0,
    price: 18,
    refundAmount: 0,
    fields: {},
    codes: status === 'completed' ? ['CODE-1', 'CODE-2'] : [],
    error: null,
    errorMessage: null,
    createdAt: '2026-11-25T00:00:00.000Z',
    completedAt: status === 'completed' ? '2026-11-25T00:00:01.000Z' : null,
  };
}

describe('the webhook finalizer', () => {
  const redis = connectRedis();
  const prefix = uniquePrefix('fin');
  const ledger = new OrderLedger({ redis, prefix, retentionSeconds: 600 });
  const results = new Queue(RESULTS_QUEUE, { connection: redis, prefix });
  const finalize = createWebhookFinalizer({ ledger, emitter: createResultEmitter({ queue: results, retentionSeconds: 600 }), policy, logger });

  /** Claim `mid` and walk it to `placed` with order id `id`, as a worker would. */
  async function placed(mid: string, id: string): Promise<void> {
    const claim = await ledger.claim(mid, `job-${mid}`, initialState({ merchantOrderId: mid, itemId: 4090, quantity: 2 }, Date.now()));
    if (claim.kind !== 'claimed') throw new Error('not claimed');
    let state: OrderState = claim.record.state;
    let version = claim.record.version;
    for (const event of [
      { type: 'attempt_started', atMs: Date.now() } as const,
      { type: 'create_succeeded', atMs: Date.now(), order: order(mid, id, 'pending') } as const,
    ]) {
      const t = transition(state, event, policy);
      if (t.kind !== 'moved') throw new Error('did not move');
      const saved = await ledger.save(mid, version, t.state);
      if (saved === null) throw new Error('conflict');
      state = saved.state;
      version = saved.version;
    }
  }

  async function resultsOf(mid: string): Promise<OrderResult[]> {
    const jobs = (await results.getJobs(['waiting'])) as Job<OrderResult>[];
    return jobs.filter((j) => j.data.merchant_order_id === mid).map((j) => j.data);
  }

  beforeAll(async () => {
    await results.waitUntilReady();
  });
  afterAll(async () => {
    await results.close();
    await deleteKeys(redis, prefix);
    await redis.quit();
  });

  it('decides a placed order from a terminal event and emits its result once', async () => {
    await placed('fin-1', 'ord-1');
    const event = order('fin-1', 'ord-1', 'completed');
    await ledger.recordEvent('fin-1', event);

    expect(await finalize('fin-1', event)).toBe(true);
    const emitted = await resultsOf('fin-1');
    expect(emitted).toHaveLength(1);
    expect(emitted[0]).toMatchObject({ status: 'completed', order_id: 'ord-1', source: 'webhook', codes: ['CODE-1', 'CODE-2'] });
    expect((await ledger.load('fin-1'))?.state.phase).toBe('done');

    // A duplicate delivery changes nothing and emits nothing more.
    expect(await finalize('fin-1', event)).toBe(false);
    expect(await resultsOf('fin-1')).toHaveLength(1);
  });

  it('leaves an order this system never claimed alone', async () => {
    const event = order('fin-unknown', 'ord-x', 'completed');
    await ledger.recordEvent('fin-unknown', event);
    expect(await finalize('fin-unknown', event)).toBe(false);
    expect(await resultsOf('fin-unknown')).toEqual([]);
  });

  it('does not decide anything from a non-terminal event', async () => {
    await placed('fin-2', 'ord-2');
    expect(await finalize('fin-2', order('fin-2', 'ord-2', 'processing'))).toBe(false);
    expect((await ledger.load('fin-2'))?.state.phase).toBe('placed');
    expect(await resultsOf('fin-2')).toEqual([]);
  });

  it('ignores an event for another order id', async () => {
    await placed('fin-3', 'ord-3');
    expect(await finalize('fin-3', order('fin-3', 'ord-other', 'completed'))).toBe(false);
    expect((await ledger.load('fin-3'))?.state.phase).toBe('placed');
  });
});
