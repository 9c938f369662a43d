import { Queue, type Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BalanceGate } from '../../src/balance/balance-gate.js';
import { createNoticeReporter } from '../../src/handlers/order-effects.js';
import { createWebhookFinalizer } from '../../src/handlers/webhook-finalizer.js';
import { OrderLedger } from '../../src/ledger/order-ledger.js';
import type { OrderResult } from '../../src/lifecycle/order-state.js';
import { createLogger } from '../../src/logging/logger.js';
import { createPipelineMetrics } from '../../src/metrics/pipeline-metrics.js';
import { INTENTS_QUEUE, RESULTS_QUEUE } from '../../src/queue/queue-names.js';
import { createResultEmitter } from '../../src/queue/result-emitter.js';
import { createJobCloser } from '../../src/queue/job-waker.js';
import { apiOrder as order, driveLedger, testPolicy } from '../support/lifecycle.js';
import { connectRedis, deleteKeys, uniquePrefix } from '../support/redis.js';

const policy = testPolicy();
const logger = createLogger({ level: 'silent' });

describe('the webhook finalizer', () => {
  const redis = connectRedis();
  const prefix = uniquePrefix('fin');
  const ledger = new OrderLedger({ redis, prefix, retentionSeconds: 600, tombstoneTtlSeconds: 1_200, unmatchedEventTtlSeconds: 300 });
  const results = new Queue(RESULTS_QUEUE, { connection: redis, prefix });
  const intents = new Queue(INTENTS_QUEUE, { connection: redis, prefix });
  const closeJob = createJobCloser(intents);
  const metrics = createPipelineMetrics();
  const finalize = createWebhookFinalizer({
    ledger,
    emitter: createResultEmitter({ queue: results, retentionSeconds: 600 }),
    gate: new BalanceGate({ redis, prefix, freshMs: 1_000, logger }),
    policy,
    closeJob,
    metrics,
    report: createNoticeReporter({ metrics }),
    logger,
  });

  /** Claim `mid` and walk it to `placed` with order id `id`, as a worker would; its job parked as delayed. */
  async function placed(mid: string, id: string): Promise<void> {
    await intents.add('order', { merchant_order_id: mid, item_id: 4090, quantity: 2 }, { jobId: `job-${mid}`, delay: 60_000 });
    await driveLedger(ledger, { merchantOrderId: mid, itemId: 4090, quantity: 2 }, [
      { type: 'job_started', atMs: Date.now(), check: { kind: 'unpriced' } },
      { type: 'funds_reserved', atMs: Date.now(), cost: null },
      { type: 'create_succeeded', atMs: Date.now(), order: order(mid, id, 'pending') },
    ]);
  }

  async function resultsOf(mid: string): Promise<OrderResult[]> {
    const jobs = (await results.getJobs(['waiting'])) as Job<OrderResult>[];
    return jobs.filter((j) => j.data.merchant_order_id === mid).map((j) => j.data);
  }

  beforeAll(async () => {
    await results.waitUntilReady();
  });
  afterAll(async () => {
    await closeJob.close();
    await intents.close();
    await results.close();
    await deleteKeys(redis, prefix);
    await redis.quit();
  });

  it('decides a placed order from a terminal event and emits its result once', async () => {
    await placed('fin-1', 'ord-1');
    const event = order('fin-1', 'ord-1', 'completed');
    await ledger.recordEvent('fin-1', event);

    expect(await finalize('fin-1', event)).toBe('finalized');
    await finalize.drain();
    const emitted = await resultsOf('fin-1');
    expect(emitted).toHaveLength(1);
    expect(emitted[0]).toMatchObject({ status: 'completed', order_id: 'ord-1', source: 'webhook', codes: ['CODE-1', 'CODE-2'] });
    expect((await ledger.load('fin-1'))?.state).toMatchObject({ phase: 'done', emitted: true });
    // The parked intent job is gone: it will not wake to emit again.
    expect(await intents.getJobState('job-fin-1')).toBe('unknown');

    // A duplicate delivery changes nothing and emits nothing more.
    expect(await finalize('fin-1', event)).toBe('unchanged');
    expect(await resultsOf('fin-1')).toHaveLength(1);
  });

  it('leaves an order this system never claimed alone', async () => {
    const event = order('fin-unknown', 'ord-x', 'completed');
    await ledger.recordEvent('fin-unknown', event);
    expect(await finalize('fin-unknown', event)).toBe('unchanged');
    expect(await resultsOf('fin-unknown')).toEqual([]);
  });

  it('does not decide anything from a non-terminal event', async () => {
    await placed('fin-2', 'ord-2');
    expect(await finalize('fin-2', order('fin-2', 'ord-2', 'processing'))).toBe('unchanged');
    expect((await ledger.load('fin-2'))?.state.phase).toBe('placed');
    expect(await resultsOf('fin-2')).toEqual([]);
  });

  it('ignores an event for another order id', async () => {
    await placed('fin-3', 'ord-3');
    expect(await finalize('fin-3', order('fin-3', 'ord-other', 'completed'))).toBe('unchanged');
    expect((await ledger.load('fin-3'))?.state.phase).toBe('placed');
    expect(await intents.getJobState('job-fin-3')).toBe('delayed');
  });
});
