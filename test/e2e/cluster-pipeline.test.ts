import { afterEach, describe, expect, it } from 'vitest';
import { intentJobId } from '../../src/queue/job-ids.js';
import { exactlyOnce, keyIntents, startPipeline, type Pipeline } from '../support/pipeline.js';
import { runCli } from '../support/run-cli.js';

const PARTITIONS = 6;
/** Some of every fault a create, lookup and webhook can meet, so retries, ambiguity and polls happen on the cluster too. */
const FAULTS = {
  balance: { serverError: 0.02 },
  create: { unavailableBeforeCommit: 0.03, badGatewayAfterCommit: 0.03 },
  lookup: { serverError: 0.03 },
  webhook: { drop: 0.1, duplicate: 0.1 },
};

let pipeline: Pipeline | undefined;
afterEach(async () => {
  await pipeline?.close();
  pipeline = undefined;
});

/** A fleet with K = 6 on a private 3 + 3 Redis Cluster: receiver and two workers running. */
async function clusterPipeline(): Promise<Pipeline> {
  const started = await startPipeline({
    cluster: true,
    partitions: PARTITIONS,
    sandbox: { fulfilment: { minMs: 20, maxMs: 100, outcomes: { completed: 6, partial: 2, failed: 2 } }, faults: FAULTS },
    env: { BALANCE_CACHE_MS: '10000', HTTP_TIMEOUT_MS: '3000' },
  });
  pipeline = started;
  await started.startWebhook();
  await Promise.all([started.startWorker(), started.startWorker()]);
  return started;
}

/**
 * ~300 intents: `valid` routed ones, a few ids enqueued again (by the helper and, as a careless
 * producer would, without a jobId in their partition), and a few invalid ones added raw to their
 * partition. Returns every merchant_order_id that must get exactly one result.
 */
async function enqueueMix(p: Pipeline, label: string, valid: number): Promise<string[]> {
  const intents = keyIntents(label, valid, 2);
  await p.enqueue(intents);
  const again = intents.slice(0, 20);
  await p.enqueue(again);
  for (const dup of again.slice(0, 5)) await p.queues.forOrder(dup.merchant_order_id).intents.add('order', dup);
  const invalid = Array.from({ length: 5 }, (_, i) => ({ merchant_order_id: `${label}-bad-${i}`, item_id: 4090, quantity: -1 }));
  for (const bad of invalid) await p.queues.forOrder(bad.merchant_order_id).intents.add('order', bad, { jobId: intentJobId(bad.merchant_order_id) });
  return [...intents, ...invalid].map((i) => i.merchant_order_id);
}

describe('with QUEUE_PARTITIONS=6 on a Redis Cluster (3 primaries, 3 replicas)', () => {
  it('gives every merchant_order_id exactly one result matching the sandbox, through faults, duplicates and invalid intents', { timeout: 120_000 }, async () => {
    const p = await clusterPipeline();
    const expected = await enqueueMix(p, 'clu', 290);
    const results = await p.waitForResults(expected.length, 90_000);
    expect(await exactlyOnce(p, expected)).toEqual([]);
    expect(results.get('clu-bad-0')).toMatchObject({ status: 'rejected', error: 'invalid_intent' });
    // Every primary had its replica: each create waited for its record's replica (WAIT), none skipped it.
    expect(p.logLines().filter((line) => line.includes('no replica connected'))).toEqual([]);
    // The intents really went to every partition, on every primary of the cluster.
    const perPartition = await Promise.all(p.queues.partitions.map((q) => q.results.getJobCountByTypes('completed', 'waiting', 'active', 'delayed', 'prioritized')));
    expect(perPartition.every((n) => n > 0)).toBe(true);
    const cluster = p.redisCluster;
    if (cluster === null) throw new Error('the pipeline runs on no cluster');
    const primaries = new Set(await Promise.all(p.queues.partitions.map((q) => cluster.primaryPortOf(q.partition.keys.order('x')))));
    expect(primaries.size).toBe(3);

    // The one-shot commands on the cluster: enqueue (a new id, a known one), status, resolve.
    const env = { REDIS_CLUSTER_NODES: cluster.seeds, QUEUE_PREFIX: p.prefix, QUEUE_PARTITIONS: String(PARTITIONS), LOG_LEVEL: 'warn' };
    const enqueued = await runCli(['enqueue', '--file', '-'], env, '{"merchant_order_id":"clu-cli","item_id":4090,"quantity":1}\n{"merchant_order_id":"clu-0","item_id":4090,"quantity":2}\n');
    expect(enqueued.stderr).toBe('');
    // clu-0's finished intent job may be gone (the receiver removes it when the webhook decided): its
    // tombstone, in its partition, still keeps it to one result.
    expect(enqueued.stdout).toMatch(/^enqueued [12] intent\(s\) to order-intents of 6 partitions/m);
    await p.waitForResults(expected.length + 1, 60_000);
    const pending = async (): Promise<number> =>
      (await Promise.all(p.queues.partitions.map((q) => q.intents.getJobCountByTypes('waiting', 'prioritized', 'active')))).reduce((a, n) => a + n, 0);
    await expect.poll(pending, { timeout: 30_000, interval: 200 }).toBe(0);
    expect(await exactlyOnce(p, [...expected, 'clu-cli'])).toEqual([]);
    const status = await runCli(['status', '--json', 'clu-cli'], env);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ merchant_order_id: 'clu-cli' });
    const done = (await p.readResults()).get('clu-1');
    const resolve = await runCli(['resolve', 'clu-1', '--order-id', done?.order_id ?? 'none', '--timeout', '20', '--json'], env);
    // Not unresolved: refused by a worker, the answer carried back by QueueEvents on the cluster.
    expect({ code: resolve.code, stderr: resolve.stderr }).toEqual({ code: 2, stderr: '' });
    expect(JSON.parse(resolve.stdout)).toMatchObject({ merchant_order_id: 'clu-1', outcome: 'refused' });
  });

  it('completes a run through a primary SIGKILLed mid-run: none charged twice, none lost', { timeout: 150_000 }, async () => {
    const p = await clusterPipeline();
    const cluster = p.redisCluster;
    if (cluster === null) throw new Error('the pipeline runs on no cluster');
    const expected = await enqueueMix(p, 'fo', 290);
    // Mid-run: some results in, most orders still in flight.
    await expect.poll(() => p.resultCount(), { timeout: 60_000, interval: 100 }).toBeGreaterThanOrEqual(60);
    // The primary serving the most partitions: its orders' queues, records and scripts move to its replica.
    const servedBy = await Promise.all(p.queues.partitions.map((q) => cluster.primaryPortOf(q.partition.keys.order('x'))));
    const victim = [...new Set(servedBy)].sort((a, b) => servedBy.filter((x) => x === b).length - servedBy.filter((x) => x === a).length)[0];
    const inAtKill = await p.resultCount();
    const failover = await cluster.killPrimary({ port: victim ?? 0 });
    expect(inAtKill).toBeLessThan(expected.length);
    expect(failover.killedPort).toBe(victim);
    expect(failover.promotedPort).not.toBe(failover.killedPort);
    // The documented procedure after a primary failover (README: "a worker can stop fetching after a
    // failover", a known defect): replace the worker processes. What they held is re-run by the new
    // ones, which the ledger makes safe — what this test checks.
    const before = p.processes().filter((proc) => proc.role === 'worker' && proc.running);
    await Promise.all([p.startWorker(), p.startWorker()]);
    await Promise.all(before.map((proc) => proc.stop('SIGTERM', 10_000)));
    const results = await p.waitForResults(expected.length, 100_000);
    expect(await exactlyOnce(p, expected)).toEqual([]);
    expect(results.size).toBe(expected.length);
    // No process crashed: the receiver rode it out, the old workers stopped when asked.
    expect(p.crashed()).toEqual([]);
  });
});
