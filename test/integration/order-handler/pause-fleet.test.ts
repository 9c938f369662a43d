import { afterEach, describe, expect, it } from 'vitest';
import { defaultSandboxCatalog } from '../../../src/sandbox/sandbox-server.js';
import { KIT_LIMITER, Resources, startHandlerKit, startTestSandbox } from './handler-kit.js';

/** pause_fleet: a 429 on the create pauses the whole queue for the Retry-After, and loses nothing. */

const resources = new Resources();
afterEach(() => resources.close());

describe('pause_fleet after a 429 on the create', () => {
  it('sets BullMQ’s rate limit for the Retry-After, keeps the intent unsent, and places it once after the pause', async () => {
    const sandbox = resources.add(await startTestSandbox({ faults: { create: { rateLimited: 1 }, retryAfterSeconds: 1 } }));
    // Concurrency 1: with more, BullMQ's worker sits in a blocking fetch that only returns after its
    // drainDelay (5 s), not when the pause ends; the pause itself is what this test is about.
    const kit = resources.add(await startHandlerKit({ apiUrl: sandbox.url, catalog: defaultSandboxCatalog(), concurrency: 1 }));
    const pauseLeft = () => kit.intents.getRateLimitTtl(KIT_LIMITER.max);
    expect(await pauseLeft()).toBe(0);
    await kit.enqueue({ merchant_order_id: 'rl-1', item_id: 4090, quantity: 2 });

    await expect.poll(() => sandbox.stats().faults['create.rateLimited']).toBe(1);
    // The next create is answered normally; the job may only send it once the pause is over.
    sandbox.setFaults({});
    await expect.poll(pauseLeft).toBeGreaterThan(0);
    expect(await pauseLeft()).toBeLessThanOrEqual(1_000);
    // The job went back to the queue (at its priority), not to failed or delayed.
    await expect.poll(() => kit.jobState('rl-1')).toBe('prioritized');
    // The 429 proves nothing was processed: the order is back where it was before the attempt.
    expect(await kit.state('rl-1')).toMatchObject({ phase: 'received', attempts: 1, maybeLanded: false, orderId: null });
    expect(await kit.counter('voodoo_rate_limited_total')).toBe(1);

    const result = await kit.pollUntilResult('rl-1');
    expect(result).toMatchObject({ status: 'completed', price: 18 });
    expect(sandbox.orders().filter((o) => o.merchantOrderId === 'rl-1')).toHaveLength(1);
    expect(sandbox.stats().calls.create).toBe(2);
    expect(await kit.state('rl-1')).toMatchObject({ phase: 'done', attempts: 2 });
    expect(kit.logLines.filter((l) => l.includes('intent job failed'))).toEqual([]);
  });
});
