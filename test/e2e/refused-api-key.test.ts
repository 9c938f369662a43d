import { setTimeout as delay } from 'node:timers/promises';
import type { Queue } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { exactlyOnce, keyIntents, mismatches, startPipeline, type Pipeline } from '../support/pipeline.js';

/** The fleet's pause after a refused key, in ms (AUTH_FAILURE_PAUSE_MS). */
const PAUSE_MS = 3_000;
/** Longest the fleet may take to notice a fixed key (one pause), plus slack, in ms. */
const RESUME_MS = PAUSE_MS + 20_000;

let pipeline: Pipeline | undefined;
afterEach(async () => {
  await pipeline?.close();
  pipeline = undefined;
});

/**
 * Counts the fleet's pauses. Each refusal pauses the fleet with `queue.rateLimit(ms)`, which BullMQ
 * stores as the queue's limiter key set to MAX_SAFE_INTEGER for the pause (its job counter never
 * gets near that). A new pause shows as the pause's remaining time jumping up by more than half a
 * pause: from nothing when the last one ran out, or from what was left of it. Jobs of one round
 * that meet the refusal a little apart only push it up by that little.
 */
function pauseCounter(intents: Queue): { until(count: number, timeoutMs: number): Promise<void> } {
  let pauses = 0;
  let left = 0;
  return {
    async until(count, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (pauses < count) {
        if (Date.now() > deadline) throw new Error(`the fleet paused ${pauses} times, not ${count}, within ${timeoutMs} ms`);
        const now = await intents.getRateLimitTtl(Number.MAX_SAFE_INTEGER);
        if (now > left + PAUSE_MS / 2) pauses += 1;
        left = now;
        await delay(25);
      }
    },
  };
}

describe('when the account refuses the API key', () => {
  it('places nothing, keeps intents waiting with live workers and one loud error, and resumes once fixed', async () => {
    pipeline = await startPipeline({ sandbox: { apiKeyAuthDisabled: true }, env: { AUTH_FAILURE_PAUSE_MS: String(PAUSE_MS) } });
    await pipeline.startWebhook();
    const workers = await Promise.all([pipeline.startWorker(), pipeline.startWorker()]);
    const intents = keyIntents('nokey', 20);
    const mids = intents.map((i) => i.merchant_order_id);
    await pipeline.enqueue(intents);
    const { sandbox } = pipeline;

    const pauses = pauseCounter(pipeline.intents);
    // The first refusal pauses the fleet...
    await pauses.until(1, 10_000);
    expect(sandbox.stats().calls.token).toBeGreaterThan(0);
    const exchangesBefore = sandbox.stats().calls.token;
    // ...and each time a pause runs out the jobs resume, meet the refusal again and pause it anew:
    // three such rounds are the workers' chance to place something, or to exchange once per job.
    await pauses.until(4, 3 * (PAUSE_MS + 10_000));
    expect(sandbox.stats().calls.create).toBe(0);
    // About one refused exchange per worker process per round (three rounds, one more starting),
    // not one per job that resumes (20 jobs).
    expect(sandbox.stats().calls.token - exchangesBefore).toBeLessThanOrEqual(workers.length * 4);
    expect(sandbox.orders()).toEqual([]);
    expect((await pipeline.readResults()).size).toBe(0);
    expect(await pipeline.intents.getFailedCount()).toBe(0);
    expect(await pipeline.intents.getJobCountByTypes('waiting', 'delayed', 'active', 'prioritized')).toBe(intents.length);
    expect(workers.every((w) => w.child.exitCode === null && w.child.signalCode === null)).toBe(true);
    // One loud error per worker process for the whole outage, not one per job (20 jobs met it).
    const errors = pipeline.logLines().filter((line) => /"level":(50|60)/.test(line));
    expect(errors.length).toBeGreaterThanOrEqual(1);
    expect(errors.length).toBeLessThanOrEqual(workers.length);
    for (const line of errors) expect(line).toContain('the API key was refused');

    // Fixed on the dashboard: the fleet notices by itself when its pause runs out.
    sandbox.setApiKeyAuthDisabled(false);
    const results = await pipeline.waitForResults(intents.length, RESUME_MS);
    expect(await exactlyOnce(pipeline, mids)).toEqual([]);
    expect(mismatches(results, sandbox)).toEqual([]);
    expect(workers.every((w) => w.child.exitCode === null && w.child.signalCode === null)).toBe(true);
  }, RESUME_MS + 30_000);
});
