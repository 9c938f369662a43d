import { afterEach, describe, expect, it } from 'vitest';
import { enqueueOrder } from '../../src/queue/enqueue-order.js';
import { intentJobId } from '../../src/queue/job-ids.js';
import { keyIntents, mismatches, startPipeline, type Pipeline } from '../support/pipeline.js';

let pipeline: Pipeline | undefined;
afterEach(async () => {
  await pipeline?.close();
  pipeline = undefined;
});

describe('with a webhook receiver and two worker processes', () => {
  it('gives every intent exactly one result matching the sandbox, learned from the webhook', async () => {
    pipeline = await startPipeline({
      sandbox: { fulfilment: { minMs: 20, maxMs: 100, outcomes: { completed: 6, partial: 2, failed: 2 } } },
      // Slow-machine margins: a balance reading outlives the run, the first poll comes long after
      // the webhook, and no create is slow enough to be retried (which would count a second call).
      env: { BALANCE_CACHE_MS: '10000', POLL_WEBHOOK_DELAY_MS: '10000', POLL_MAX_DELAY_MS: '10000', HTTP_TIMEOUT_MS: '10000' },
    });
    await pipeline.startWebhook();
    await Promise.all([pipeline.startWorker(), pipeline.startWorker()]);
    const intents = keyIntents('basic', 60, 3);
    for (const intent of intents) await enqueueOrder(pipeline.intents, intent);

    const results = await pipeline.waitForResults(intents.length);
    expect(results.size).toBe(intents.length);
    expect(mismatches(results, pipeline.sandbox)).toEqual([]);
    const statuses = new Set([...results.values()].map((r) => r.status));
    expect(statuses).toContain('completed');
    expect([...results.values()].every((r) => r.source === 'webhook')).toBe(true);
    // Balance first, amortised: the fleet read the balance far less often than once per order.
    expect(pipeline.sandbox.stats().calls.balance).toBeLessThan(intents.length / 4);
    expect(pipeline.sandbox.stats().calls.create).toBe(intents.length);
  });
});

describe('without a webhook receiver', () => {
  it('learns every outcome by polling', async () => {
    pipeline = await startPipeline({ webhook: false });
    await pipeline.startWorker();
    const intents = keyIntents('poll', 20);
    for (const intent of intents) await enqueueOrder(pipeline.intents, intent);

    // enqueueOrder adds fresh intents at priority 1 ...
    const fresh = await pipeline.intents.getJob(intentJobId('poll-0'));
    expect(fresh?.opts.priority).toBe(1);
    // No retention of its own: the worker's RETENTION_SECONDS decides how long finished intents stay.
    expect(fresh?.opts.removeOnComplete).toBeUndefined();

    const results = await pipeline.waitForResults(intents.length);
    expect(mismatches(results, pipeline.sandbox)).toEqual([]);
    expect([...results.values()].every((r) => r.source === 'poll')).toBe(true);
    // ... and a job that parked itself for its poll came back at priority 0, ahead of fresh intents.
    await expect.poll(async () => pipeline?.intents.getCompletedCount(), { timeout: 10_000 }).toBe(intents.length);
    const finished = await pipeline.intents.getJob(intentJobId('poll-0'));
    expect(finished?.priority).toBe(0);
  });
});

describe('when the same intent is enqueued many times', () => {
  it('places one order and emits one result', async () => {
    // No create slow enough to be retried on a loaded machine (a retry would count a second call).
    pipeline = await startPipeline({ env: { HTTP_TIMEOUT_MS: '10000' } });
    await pipeline.startWebhook();
    await Promise.all([pipeline.startWorker(), pipeline.startWorker()]);
    const intent = { merchant_order_id: 'dup-1', item_id: 4090, quantity: 2 };
    // Without a jobId (as a careless producer would) and with enqueueOrder's, interleaved.
    for (let i = 0; i < 5; i++) {
      await pipeline.intents.add('order', intent);
      await enqueueOrder(pipeline.intents, intent);
    }
    const results = await pipeline.waitForResults(1);
    // Give the duplicates time to run; none may add a result or an order. Six jobs: the five without
    // a jobId complete as duplicates (or one of them owns the order); the owner is completed or,
    // when the webhook decided the result, removed by the receiver. None is left parked.
    await expect.poll(async () => pipeline?.intents.getCompletedCount(), { timeout: 10_000 }).toBeGreaterThanOrEqual(5);
    await expect.poll(async () => pipeline?.intents.getJobCountByTypes('waiting', 'delayed', 'active', 'prioritized'), { timeout: 10_000 }).toBe(0);
    expect((await pipeline.readResults()).size).toBe(1);
    expect(pipeline.sandbox.orders().filter((o) => o.merchantOrderId === 'dup-1')).toHaveLength(1);
    expect(pipeline.sandbox.stats().calls.create).toBe(1);
    expect(mismatches(results, pipeline.sandbox)).toEqual([]);
  });
});

describe('when intents are garbage or invalid', () => {
  it('fails garbage jobs with a clear reason, rejects invalid ones by field, and keeps the workers alive', async () => {
    pipeline = await startPipeline();
    const worker = await pipeline.startWorker();
    const garbage = [
      await pipeline.intents.add('order', 'not an object'),
      await pipeline.intents.add('order', { item_id: 4090 }),
      await pipeline.intents.add('order', { merchant_order_id: '', item_id: 4090 }),
    ];
    await pipeline.intents.add('order', { merchant_order_id: 'bad-qty', item_id: 4090, quantity: -1 });
    await pipeline.intents.add('order', { merchant_order_id: 'bad-item', item_id: 'x' });
    await pipeline.intents.add('order', { merchant_order_id: 'unknown-item', item_id: 999999 });
    await pipeline.intents.add('order', { merchant_order_id: 'ok-after-garbage', item_id: 4090 });

    const results = await pipeline.waitForResults(4);
    expect(results.get('bad-qty')).toMatchObject({ status: 'rejected', error: 'invalid_intent', source: 'worker' });
    expect(results.get('bad-qty')?.error_message).toMatch(/^quantity:/);
    expect(results.get('bad-item')?.error_message).toMatch(/^item_id:/);
    expect(results.get('unknown-item')).toMatchObject({ status: 'rejected', error: 'validation_error', order_id: null });
    expect(results.get('ok-after-garbage')?.status).toMatch(/completed|partial|failed/);

    for (const job of garbage) {
      const failed = await pipeline.intents.getJob(job.id ?? '');
      expect(await failed?.getState()).toBe('failed');
      expect(failed?.failedReason).toMatch(/^invalid intent: /);
    }
    expect(worker.child.exitCode).toBeNull();
  });
});

describe('when a process is told to stop', () => {
  it('shuts down gracefully on SIGTERM and SIGINT with exit code 0', async () => {
    pipeline = await startPipeline();
    const webhook = await pipeline.startWebhook();
    const worker = await pipeline.startWorker();
    await enqueueOrder(pipeline.intents, { merchant_order_id: 'stop-1', item_id: 4090 });
    await pipeline.waitForResults(1);
    expect(await worker.stop('SIGTERM')).toBe(0);
    expect(await webhook.stop('SIGINT')).toBe(0);
    expect(worker.lines().some((line) => line.includes('worker stopped'))).toBe(true);
  });
});
