import { afterEach, describe, expect, it } from 'vitest';
import { exactlyOnce, keyIntents, mismatches, startPipeline, type FleetProcess, type Pipeline } from '../support/pipeline.js';

const PARTITIONS = 6;
/** Job lock of the workers, ms: a killed worker's jobs are taken over within about two of these. */
const WORKER_LOCK_MS = 3_000;
/** How many times a worker is SIGKILLed mid-run, each time replaced by a fresh one. */
const KILLS = 3;

let pipeline: Pipeline | undefined;
afterEach(async () => {
  await pipeline?.close();
  pipeline = undefined;
});

describe('with QUEUE_PARTITIONS=6 on a Redis Cluster, when worker processes are SIGKILLed repeatedly mid-run', () => {
  it('still gives every merchant_order_id exactly one result matching the sandbox: none charged twice, none lost', { timeout: 120_000 }, async () => {
    const p = await startPipeline({
      cluster: true,
      partitions: PARTITIONS,
      sandbox: {
        fulfilment: { minMs: 50, maxMs: 300, outcomes: { completed: 7, partial: 2, failed: 1 } },
        // Slow answers (under HTTP_TIMEOUT_MS) keep creates in flight, so each kill lands mid-request.
        faults: { create: { hangAfterCommit: 0.5 }, hangMs: 1_200 },
      },
      env: { WORKER_LOCK_MS: String(WORKER_LOCK_MS) },
    });
    pipeline = p;
    await p.startWebhook();
    const intents = keyIntents('ckill', 240, 2);
    const mids = intents.map((i) => i.merchant_order_id);
    // A steady stream, so work is in flight whenever a kill comes.
    const feeding = (async () => {
      for (let i = 0; i < intents.length; i += 10) {
        await p.enqueue(intents.slice(i, i + 10));
        await new Promise((r) => setTimeout(r, 40));
      }
    })();
    const active = async (): Promise<number> =>
      (await Promise.all(p.queues.partitions.map((q) => q.intents.getActiveCount()))).reduce((a, n) => a + n, 0);

    // Each victim runs alone, so every job active at its kill is one of its own.
    let victim: FleetProcess = await p.startWorker();
    for (let kill = 1; kill <= KILLS; kill += 1) {
      const createsBefore = p.sandbox.stats().calls.create;
      await expect.poll(() => p.sandbox.stats().calls.create, { timeout: 20_000, interval: 5 }).toBeGreaterThanOrEqual(createsBefore + 15);
      await expect.poll(active, { timeout: 20_000, interval: 5 }).toBeGreaterThan(0);
      expect(await victim.stop('SIGKILL')).toBe('SIGKILL');
      victim = await p.startWorker();
    }
    expect(p.sandbox.stats().calls.create).toBeLessThan(intents.length);
    await p.startWorker();
    await feeding;

    const results = await p.waitForResults(intents.length, 60_000);
    expect(await exactlyOnce(p, mids)).toEqual([]);
    expect(mismatches(results, p.sandbox)).toEqual([]);
    expect([...results.values()].filter((r) => r.status === 'rejected' || r.status === 'unresolved')).toEqual([]);
    // One charge per merchant_order_id, none lost.
    expect(p.sandbox.orders()).toHaveLength(intents.length);
    // The dead workers' jobs come back only after their locks expire and a stall check runs.
    const unfinished = async (): Promise<number> =>
      (await Promise.all(p.queues.partitions.map((q) => q.intents.getJobCountByTypes('waiting', 'delayed', 'active', 'prioritized')))).reduce((a, n) => a + n, 0);
    await expect.poll(unfinished, { timeout: 30_000 }).toBe(0);
    // The kills did hit work in flight: intent jobs were recovered from dead workers, in more than one partition.
    const recovered = await Promise.all(p.queues.partitions.map(async (q) => (await q.intents.getJobs(['completed'])).filter((job) => job.stalledCounter > 0).length));
    expect(recovered.reduce((a, n) => a + n, 0)).toBeGreaterThan(0);
    expect(recovered.filter((n) => n > 0).length).toBeGreaterThan(1);
    // Only the killed workers ended; the receiver and the survivors rode it out.
    expect(p.crashed()).toEqual([]);
  });
});
