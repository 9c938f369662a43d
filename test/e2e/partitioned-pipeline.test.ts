import { afterEach, describe, expect, it } from 'vitest';
import { enqueueOrder } from '../../src/queue/enqueue-order.js';
import { intentJobId, resultJobId } from '../../src/queue/job-ids.js';
import { partitionOf } from '../../src/redis/partitions.js';
import { exactlyOnce, keyIntents, startPipeline, type Pipeline } from '../support/pipeline.js';

const PARTITIONS = 4;

let pipeline: Pipeline | undefined;
afterEach(async () => {
  await pipeline?.close();
  pipeline = undefined;
});

describe('with QUEUE_PARTITIONS=4 on one Redis', () => {
  it('spreads intents over the partitions and gives each merchant_order_id one result, in its own partition, matching the sandbox', async () => {
    pipeline = await startPipeline({
      partitions: PARTITIONS,
      sandbox: { fulfilment: { minMs: 20, maxMs: 100, outcomes: { completed: 6, partial: 2, failed: 2 } } },
      // As pipeline-basics: the webhook decides, no create is slow enough to be retried.
      env: { BALANCE_CACHE_MS: '10000', POLL_WEBHOOK_DELAY_MS: '10000', POLL_MAX_DELAY_MS: '10000', HTTP_TIMEOUT_MS: '10000' },
    });
    await pipeline.startWebhook();
    await Promise.all([pipeline.startWorker(), pipeline.startWorker()]);
    const intents = keyIntents('part', 60, 2);
    await pipeline.enqueue(intents);
    // The same id again, by the helper and as a careless producer would (no jobId) in its partition.
    const dup = intents[0];
    if (dup === undefined) throw new Error('no intents');
    await enqueueOrder(pipeline.queues, dup);
    await pipeline.queues.forOrder(dup.merchant_order_id).intents.add('order', dup);

    const results = await pipeline.waitForResults(intents.length, 60_000);
    expect(await exactlyOnce(pipeline, intents.map((i) => i.merchant_order_id))).toEqual([]);
    expect([...results.values()].every((r) => r.source === 'webhook')).toBe(true);
    expect(pipeline.sandbox.stats().calls.create).toBe(intents.length);

    const used = new Set(intents.map((i) => partitionOf(i.merchant_order_id, PARTITIONS)));
    expect(used.size).toBe(PARTITIONS);
    for (const { merchant_order_id: mid } of intents) {
      const home = partitionOf(mid, PARTITIONS);
      for (const { partition, intents: intentQueue, results: resultQueue } of pipeline.queues.partitions) {
        const here = partition.index === home;
        // The result (emitted by the receiver from the webhook) and the intent job exist only in the home partition.
        expect({ mid, partition: partition.index, result: (await resultQueue.getJob(resultJobId(mid))) !== undefined }).toEqual({ mid, partition: partition.index, result: here });
        if (!here) expect(await intentQueue.getJob(intentJobId(mid))).toBeUndefined();
      }
      // The receiver stored the order's webhook event in the home partition's record.
      const record = await pipeline.ledgerRecord(mid);
      expect(record.event, mid).toBeDefined();
      expect(record.event, mid).toContain(mid);
    }
    // The fleet-wide keys live in the global area, none under the bare prefix.
    expect(await pipeline.redis.exists(`{${pipeline.prefix}-global}:vf:balance`)).toBe(1);
    expect(await pipeline.redis.keys(`${pipeline.prefix}:*`)).toEqual([]);
  });
});
