import { afterEach, describe, expect, it } from 'vitest';
import { startPrivateRedis, type PrivateRedis } from '../../tools/fleet/private-redis.js';
import { LOG_EVENT, readEventLine } from '../../src/logging/log-events.js';
import { exactlyOnce, keyIntents, mismatches, startPipeline, type Pipeline } from '../support/pipeline.js';

/** Job lock of the workers, ms: a job orphaned by the outage is taken over within about two of these. */
const WORKER_LOCK_MS = 4_000;

let pipeline: Pipeline | undefined;
let redis: PrivateRedis | undefined;
afterEach(async () => {
  await pipeline?.close();
  pipeline = undefined;
  await redis?.destroy();
  redis = undefined;
});

describe('when Redis restarts mid-run', () => {
  it('reconnects every process and still gives every intent exactly one correct result', async () => {
    redis = await startPrivateRedis({ appendOnly: true });
    pipeline = await startPipeline({
      redisUrl: redis.url,
      sandbox: { fulfilment: { minMs: 50, maxMs: 400, outcomes: { completed: 7, partial: 2, failed: 1 } } },
      env: { WORKER_LOCK_MS: String(WORKER_LOCK_MS) },
    });
    await pipeline.startWebhook();
    await Promise.all([pipeline.startWorker(), pipeline.startWorker()]);
    const intents = keyIntents('restart', 200, 2);
    const mids = intents.map((i) => i.merchant_order_id);
    const half = intents.length / 2;
    await pipeline.enqueue(intents.slice(0, half));

    await expect.poll(() => pipeline?.sandbox.stats().calls.create ?? 0, { timeout: 20_000, interval: 5 }).toBeGreaterThanOrEqual(40);
    // A real outage, not just a blip: every connection drops and stays down for a while.
    await redis.stop();
    await new Promise((r) => setTimeout(r, 1_500));
    await redis.restart();
    await pipeline.enqueue(intents.slice(half));

    // A job Redis moved to active just as it went down (its reply lost) is orphaned until BullMQ's
    // stalled-job check hands it back once its lock expired.
    const results = await pipeline.waitForResults(intents.length, 60_000);
    expect(await exactlyOnce(pipeline, mids)).toEqual([]);
    expect(mismatches(results, pipeline.sandbox)).toEqual([]);
    expect([...results.values()].filter((r) => r.status === 'rejected' || r.status === 'unresolved')).toEqual([]);
    expect(pipeline.sandbox.orders()).toHaveLength(intents.length);
    // Every process noticed the outage and came back, none exited.
    expect(pipeline.logLines().filter((line) => readEventLine(line)?.event === LOG_EVENT.redisRestored).length).toBeGreaterThanOrEqual(3);
    expect(pipeline.processes().every((p) => p.child.exitCode === null && p.child.signalCode === null)).toBe(true);
    // BullMQ reports every failed blocking call while Redis is away (~15 per second per worker):
    // each process says so once per kind of connection error (reset on write, reset on read,
    // refused…), not once per failure. (Per-job lock errors are each their own line, on purpose.)
    const connectionErrors = /ECONNRESET|ECONNREFUSED|Connection is closed|EPIPE|ETIMEDOUT/;
    const noisy = pipeline.processes().map(
      (proc) => proc.lines().filter((line) => readEventLine(line)?.event === LOG_EVENT.bullmqError && connectionErrors.test(line)).length,
    );
    expect(Math.max(...noisy)).toBeLessThanOrEqual(4);
    expect(noisy.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(1);
  }, 120_000);
});
