import { afterEach, describe, expect, it } from 'vitest';
import { exactlyOnce, keyIntents, mismatches, startPipeline, type Pipeline } from '../support/pipeline.js';

let pipeline: Pipeline | undefined;
afterEach(async () => {
  await pipeline?.close();
  pipeline = undefined;
});

describe('when the API answers 429 to most creates and lookups for a while', () => {
  it('backs off as a fleet and, once the storm ends, completes everything correctly', async () => {
    // No webhook receiver: outcomes come from lookups, so lookups meet the storm too.
    pipeline = await startPipeline({
      webhook: false,
      sandbox: {
        fulfilment: { minMs: 50, maxMs: 300, outcomes: { completed: 7, partial: 2, failed: 1 } },
        faults: { create: { rateLimited: 0.7 }, lookup: { rateLimited: 0.7 }, retryAfterSeconds: 1 },
      },
      env: { RESOLVE_TIMEOUT_MS: '60000' },
    });
    await Promise.all([pipeline.startWorker(), pipeline.startWorker()]);
    const intents = keyIntents('storm', 50, 2);
    const mids = intents.map((i) => i.merchant_order_id);
    await pipeline.enqueue(intents);
    const { sandbox, intents: queue } = pipeline;

    // The whole fleet pauses (BullMQ's queue-wide limiter), not just the job that met the 429.
    await expect.poll(() => queue.getRateLimitTtl(), { timeout: 10_000, interval: 20 }).toBeGreaterThan(0);
    await expect
      .poll(() => sandbox.stats().faults['lookup.rateLimited'] ?? 0, { timeout: 15_000 })
      .toBeGreaterThanOrEqual(3);
    expect(sandbox.stats().faults['create.rateLimited']).toBeGreaterThan(0);
    expect((await pipeline.readResults()).size).toBeLessThan(intents.length);
    sandbox.setFaults({});

    const results = await pipeline.waitForResults(intents.length, 30_000);
    expect(await exactlyOnce(pipeline, mids)).toEqual([]);
    expect(mismatches(results, sandbox)).toEqual([]);
    expect([...results.values()].filter((r) => r.status === 'rejected' || r.status === 'unresolved')).toEqual([]);
    expect(sandbox.orders()).toHaveLength(intents.length);
    expect(pipeline.logLines().some((line) => line.includes('rate limited: the fleet backs off'))).toBe(true);
  });
});
