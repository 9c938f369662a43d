import { afterEach, describe, expect, it } from 'vitest';
import { exactlyOnce, keyIntents, mismatches, startPipeline, type Pipeline } from '../support/pipeline.js';

/** Job lock of the workers, ms: a killed worker's jobs are taken over within about two of these. */
const WORKER_LOCK_MS = 4_000;

let pipeline: Pipeline | undefined;
afterEach(async () => {
  await pipeline?.close();
  pipeline = undefined;
});

describe('when a worker process is killed with SIGKILL mid-run', () => {
  it('still gives every intent exactly one correct result and charges no merchant_order_id twice', async () => {
    pipeline = await startPipeline({
      sandbox: {
        fulfilment: { minMs: 50, maxMs: 400, outcomes: { completed: 7, partial: 2, failed: 1 } },
        // Slow answers (under HTTP_TIMEOUT_MS) keep creates in flight, so the kill lands mid-request.
        faults: { create: { hangAfterCommit: 0.5 }, hangMs: 1_500 },
      },
      env: { WORKER_LOCK_MS: String(WORKER_LOCK_MS) },
    });
    await pipeline.startWebhook();
    // The victim runs alone at first, so every job active at the kill is one of its own.
    const victim = await pipeline.startWorker();
    const intents = keyIntents('crash', 300, 2);
    const mids = intents.map((i) => i.merchant_order_id);
    // A steady stream, so work is in flight whenever the kill comes.
    const feeding = (async () => {
      for (let i = 0; i < intents.length; i += 10) {
        await pipeline?.enqueue(intents.slice(i, i + 10));
        await new Promise((r) => setTimeout(r, 40));
      }
    })();

    await expect.poll(() => pipeline?.sandbox.stats().calls.create ?? 0, { timeout: 20_000, interval: 5 }).toBeGreaterThanOrEqual(40);
    await expect.poll(() => pipeline?.intents.getActiveCount() ?? 0, { timeout: 20_000, interval: 5 }).toBeGreaterThan(0);
    expect(await victim.stop('SIGKILL')).toBe('SIGKILL');
    const createsAtKill = pipeline.sandbox.stats().calls.create;
    expect(createsAtKill).toBeLessThan(intents.length);
    await Promise.all([pipeline.startWorker(), pipeline.startWorker()]);
    await feeding;

    const results = await pipeline.waitForResults(intents.length, 60_000);
    expect(await exactlyOnce(pipeline, mids)).toEqual([]);
    expect(mismatches(results, pipeline.sandbox)).toEqual([]);
    expect([...results.values()].filter((r) => r.status === 'rejected' || r.status === 'unresolved')).toEqual([]);
    expect(pipeline.sandbox.orders()).toHaveLength(intents.length);
    // The webhook decides results and removes the parked jobs; wait until no intent job is left
    // unfinished: the dead worker's jobs come back only after its lock expires and a stall check runs.
    await expect
      .poll(() => pipeline?.intents.getJobCountByTypes('waiting', 'delayed', 'active', 'prioritized'), { timeout: 30_000 })
      .toBe(0);
    // The kill did hit work in flight: some intent jobs were recovered from the dead worker.
    const recovered = (await pipeline.intents.getJobs(['completed'])).filter((job) => job.stalledCounter > 0);
    expect(recovered.length).toBeGreaterThan(0);
  }, 120_000);
});
