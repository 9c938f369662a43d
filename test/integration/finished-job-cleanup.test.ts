import { setTimeout as sleep } from 'node:timers/promises';
import { Queue, Worker } from 'bullmq';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logging/logger.js';
import { startFinishedJobCleanup, type FinishedJobCleanup } from '../../src/queue/finished-job-cleanup.js';
import { INTENTS_QUEUE, RESULTS_QUEUE } from '../../src/queue/queue-names.js';
import { connectRedis, deleteKeys, redisUrl, uniquePrefix } from '../support/redis.js';

const RETENTION_S = 2;
/** Longest a test waits for the cleanup to act (it runs every TICK_MS here). */
const ACT_WITHIN_MS = 10_000;
const TICK_MS = 100;

interface Setup {
  prefix: string;
  intents: Queue;
  results: Queue;
  lines: string[];
  logger: ReturnType<typeof createLogger>;
}

const redis = connectRedis();
const opened: { queues: Queue[]; cleanups: FinishedJobCleanup[]; prefixes: string[] } = { queues: [], cleanups: [], prefixes: [] };

afterEach(async () => {
  for (const cleanup of opened.cleanups.splice(0)) await cleanup.close();
  for (const queue of opened.queues.splice(0)) await queue.close();
  for (const prefix of opened.prefixes.splice(0)) await deleteKeys(redis, prefix);
});
afterAll(async () => {
  await redis.quit();
});

function setUp(): Setup {
  const prefix = uniquePrefix('cleanup');
  const intents = new Queue(INTENTS_QUEUE, { connection: redis, prefix });
  const results = new Queue(RESULTS_QUEUE, { connection: redis, prefix });
  opened.queues.push(intents, results);
  opened.prefixes.push(prefix);
  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (line: string) => void lines.push(line) } });
  return { prefix, intents, results, lines, logger };
}

/**
 * Add jobs `ids` to `queue` and let a worker complete them. The worker keeps every completed job
 * (no removeOnComplete), so nothing but the cleanup under test removes one.
 */
async function complete(queue: Queue, prefix: string, ids: readonly string[]): Promise<void> {
  const done = new Set<string>();
  const worker = new Worker(queue.name, () => Promise.resolve('ok'), { connection: { url: redisUrl() }, prefix, autorun: false });
  worker.on('completed', (job) => done.add(job.id ?? ''));
  try {
    await queue.addBulk(ids.map((id) => ({ name: 'job', data: {}, opts: { jobId: id } })));
    void worker.run();
    const deadline = Date.now() + ACT_WITHIN_MS;
    while (!ids.every((id) => done.has(id))) {
      if (Date.now() > deadline) throw new Error(`only ${done.size} of ${ids.length} jobs completed`);
      await sleep(20);
    }
  } finally {
    await worker.close();
  }
}

async function statesOf(queue: Queue, ids: readonly string[]): Promise<string[]> {
  return Promise.all(ids.map((id) => queue.getJobState(id)));
}

describe('when the fleet is idle past RETENTION_SECONDS', () => {
  it('removes the completed intents and consumed results older than the retention with no further traffic, and keeps younger ones and waiting results', async () => {
    const { prefix, intents, results, logger } = setUp();
    const oldIntents = ['intent-old-1', 'intent-old-2', 'intent-old-3'];
    const oldResults = ['result-old-1', 'result-old-2'];
    await complete(intents, prefix, oldIntents);
    await complete(results, prefix, oldResults);
    await sleep(RETENTION_S * 1000 + 300);
    const youngIntents = ['intent-young-1'];
    const youngResults = ['result-young-1'];
    await complete(intents, prefix, youngIntents);
    await complete(results, prefix, youngResults);
    // Results no consumer has taken yet, added long before (after the last consumer stopped, so none takes them).
    const waiting = ['result-waiting-1', 'result-waiting-2'];
    const addedAt = Date.now() - 10 * RETENTION_S * 1000;
    await results.addBulk(waiting.map((id) => ({ name: 'delivered', data: {}, opts: { jobId: id, timestamp: addedAt } })));

    // Batches of 2 and a round of at most 2 batches: three old intents take two calls in one round.
    const cleanup = startFinishedJobCleanup({ queues: [intents, results], connection: redis, retentionSeconds: RETENTION_S, logger, intervalMs: TICK_MS, batchSize: 2, maxBatchesPerRound: 2 });
    opened.cleanups.push(cleanup);
    const deadline = Date.now() + ACT_WITHIN_MS;
    while ((await intents.getCompletedCount()) + (await results.getCompletedCount()) > youngIntents.length + youngResults.length) {
      if (Date.now() > deadline) throw new Error('the aged completed jobs were not removed');
      await sleep(TICK_MS);
    }

    expect(await statesOf(intents, oldIntents)).toEqual(['unknown', 'unknown', 'unknown']);
    expect(await statesOf(results, oldResults)).toEqual(['unknown', 'unknown']);
    expect(await redis.exists(`${prefix}:${INTENTS_QUEUE}:intent-old-1`)).toBe(0);
    expect(await statesOf(intents, youngIntents)).toEqual(['completed']);
    expect(await statesOf(results, youngResults)).toEqual(['completed']);
    expect(await statesOf(results, waiting)).toEqual(['waiting', 'waiting']);
  });

  it('removes at most batch × batches per queue in one round, the rest in the next', async () => {
    const { prefix, intents, logger } = setUp();
    const ids = Array.from({ length: 5 }, (_, i) => `intent-burst-${i}`);
    await complete(intents, prefix, ids);
    await sleep(RETENTION_S * 1000 + 300);
    // A long interval: only runOnce() acts here.
    const cleanup = startFinishedJobCleanup({ queues: [intents], connection: redis, retentionSeconds: RETENTION_S, logger, intervalMs: 3_600_000, batchSize: 2, maxBatchesPerRound: 2 });
    opened.cleanups.push(cleanup);
    expect(await cleanup.runOnce()).toBe(4);
    expect(await intents.getCompletedCount()).toBe(1);
    expect(await cleanup.runOnce()).toBe(1);
    expect(await cleanup.runOnce()).toBe(0);
  });

  it('removes an aged id left in the completed set without its job, and the aged jobs behind it', async () => {
    const { prefix, intents, logger } = setUp();
    await complete(intents, prefix, ['intent-orphan-1', 'intent-behind-1']);
    await redis.del(`${prefix}:${INTENTS_QUEUE}:intent-orphan-1`);
    await sleep(RETENTION_S * 1000 + 300);
    const cleanup = startFinishedJobCleanup({ queues: [intents], connection: redis, retentionSeconds: RETENTION_S, logger, intervalMs: 3_600_000 });
    opened.cleanups.push(cleanup);
    expect(await cleanup.runOnce()).toBe(2);
    expect(await intents.getCompletedCount()).toBe(0);
  });

  it('stops its rounds on close', async () => {
    const { prefix, intents, logger } = setUp();
    await complete(intents, prefix, ['intent-kept-1']);
    await sleep(RETENTION_S * 1000 + 300);
    const cleanup = startFinishedJobCleanup({ queues: [intents], connection: redis, retentionSeconds: RETENTION_S, logger, intervalMs: TICK_MS });
    await cleanup.close();
    await sleep(TICK_MS * 5);
    expect(await statesOf(intents, ['intent-kept-1'])).toEqual(['completed']);
  });

  it('skips its rounds, without a line, while its connection is not ready', async () => {
    const { prefix, intents, lines, logger } = setUp();
    await complete(intents, prefix, ['intent-unreached-1']);
    await sleep(RETENTION_S * 1000 + 300);
    const cleanup = startFinishedJobCleanup({ queues: [intents], connection: { status: 'reconnecting' }, retentionSeconds: RETENTION_S, logger, intervalMs: TICK_MS });
    opened.cleanups.push(cleanup);
    await sleep(TICK_MS * 5);
    expect(await statesOf(intents, ['intent-unreached-1'])).toEqual(['completed']);
    expect(lines).toEqual([]);
  });
});
