import { setTimeout as delay } from 'node:timers/promises';
import type { Queue } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { KEY_REFUSED_MARK_GRACE_MS } from '../../src/queue/fleet-pause.js';
import { exactlyOnce, keyIntents, mismatches, opsUrlOf, startPipeline, type FleetProcess, type Pipeline } from '../support/pipeline.js';
import { httpGet, scrape, total } from '../support/prometheus-text.js';

const KEY_REFUSED = 'api: the API key was refused; the fleet is paused until it is fixed';

/** Poll a worker's /readyz until `accept` takes its answer, or fail after `timeoutMs`. */
async function readyzOf(worker: FleetProcess, accept: (status: number, reasons: unknown) => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { status, body } = await httpGet(`${await opsUrlOf(worker)}/readyz`);
    if (accept(status, (JSON.parse(body) as { reasons?: unknown }).reasons)) return;
    if (Date.now() > deadline) throw new Error(`/readyz still answered ${status} ${body} after ${timeoutMs} ms`);
    await delay(100);
  }
}

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
    // Every worker says it cannot work and why, and the fleet-paused gauge says so too.
    for (const worker of workers) {
      await readyzOf(worker, (status, reasons) => status === 503 && Array.isArray(reasons) && reasons.includes(KEY_REFUSED), 5_000);
      expect(total(await scrape(`${await opsUrlOf(worker)}/metrics`), 'voodoo_fleet_paused', { reason: 'key_refused' })).toBe(1);
    }
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
    // Summed over the partitions (one with QUEUE_PARTITIONS = 1).
    const intentQueues = pipeline.queues.partitions.map((p) => p.intents);
    expect(await Promise.all(intentQueues.map((queue) => queue.getFailedCount()))).toEqual(intentQueues.map(() => 0));
    const unfinished = await Promise.all(intentQueues.map((queue) => queue.getJobCountByTypes('waiting', 'delayed', 'active', 'prioritized')));
    expect(unfinished.reduce((sum, n) => sum + n, 0)).toBe(intents.length);
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
    // Ready again once the refusal's mark lapsed (it outlives the last pause by a grace period).
    for (const worker of workers) await readyzOf(worker, (status) => status === 200, PAUSE_MS + KEY_REFUSED_MARK_GRACE_MS + 5_000);
  }, RESUME_MS + KEY_REFUSED_MARK_GRACE_MS + 40_000);
});
