import { Queue } from 'bullmq';
import type { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessToken } from '../../src/api/token-provider.js';
import { RedisTokenProvider } from '../../src/api/token-provider.js';
import { BalanceGate } from '../../src/balance/balance-gate.js';
import { loadConfig } from '../../src/config/config.js';
import { startDashboardProcess } from '../../src/dashboard/dashboard-process.js';
import { OrderLedger } from '../../src/ledger/order-ledger.js';
import { createLogger } from '../../src/logging/logger.js';
import type { OrderResult } from '../../src/lifecycle/order-state.js';
import { enqueueNewOrders } from '../../src/queue/enqueue-order.js';
import { RESULTS_QUEUE } from '../../src/queue/queue-names.js';
import { openFleetQueues, type FleetQueues } from '../../src/queue/partition-queues.js';
import { connectRedisCluster } from '../../src/redis/connect.js';
import { hashSlot } from '../../src/redis/hash-slot.js';
import { OwnedKey } from '../../src/redis/owned-key.js';
import { partitionLayout } from '../../src/redis/partitions.js';
import { createReplicationWait } from '../../src/redis/replication-wait.js';
import { checkRedisAtStartup, RedisUnsuitableError } from '../../src/redis/startup-checks.js';
import { orderStatus } from '../../src/status/order-status.js';
import { apiOrder, driveLedger } from '../support/lifecycle.js';
import { uniquePrefix } from '../support/redis.js';
import { startPrivateRedisCluster, type PrivateRedisCluster } from '../support/redis-cluster.js';

const PARTITIONS = 6;
const logger = createLogger({ level: 'silent' });

/** ids spread over every partition (several per partition). */
const ids = Array.from({ length: 24 }, (_, i) => `cl-${i}`);

describe('when every script and transaction of the fleet runs on a Redis Cluster (K = 6, 3 primaries)', () => {
  let cluster: PrivateRedisCluster;
  let redis: Cluster;
  let queues: FleetQueues;
  const prefix = uniquePrefix('clsc');
  const layout = partitionLayout(prefix, PARTITIONS, true);

  beforeAll(async () => {
    cluster = await startPrivateRedisCluster();
    redis = connectRedisCluster(cluster.nodes, logger, 'vf-test-cluster-scripts');
    await redis.ping();
    await Promise.all(redis.nodes('master').map((n) => n.ping()));
    queues = openFleetQueues({ connection: redis, prefix, partitions: PARTITIONS, hashTags: true });
  }, 60_000);

  afterAll(async () => {
    await queues?.close();
    if (redis !== undefined && redis.status !== 'end') await redis.quit();
    await cluster?.destroy();
  });

  it('spreads the partitions over every primary (the test would prove nothing on one node)', async () => {
    const owners = new Set(await Promise.all(layout.partitions.map((p) => cluster.primaryPortOf(p.keys.order('x')))));
    expect(owners.size).toBe(3);
    expect(new Set(ids.map((id) => layout.forOrder(id).index)).size).toBe(PARTITIONS);
  });

  it('passes the startup checks on every primary, and names the one primary that would evict', async () => {
    await expect(checkRedisAtStartup(redis, logger)).resolves.toBeUndefined();
    const [first, second] = redis.nodes('master');
    if (first === undefined || second === undefined) throw new Error('the cluster client knows fewer than 2 primaries');
    await second.config('SET', 'maxmemory-policy', 'allkeys-lru');
    try {
      const where = `primary ${second.options.host ?? ''}:${second.options.port ?? ''}`;
      const failure = await checkRedisAtStartup(redis, logger).catch((err: unknown) => err);
      expect(failure).toBeInstanceOf(RedisUnsuitableError);
      expect(String((failure as Error).message)).toMatch(new RegExp(`^REDIS_CLUSTER_NODES: ${where.replace(/\./g, '\\.')}: maxmemory-policy is allkeys-lru`));
      expect(String((failure as Error).message)).not.toContain(`${first.options.port ?? ''}:`);
    } finally {
      await second.config('SET', 'maxmemory-policy', 'noeviction');
    }
  });

  it('claims, loads, saves and records events in the ledger without CROSSSLOT, and views an order in one MULTI', async () => {
    const ledger = new OrderLedger({ redis, prefix, partitions: PARTITIONS, hashTags: true, retentionSeconds: 600, tombstoneTtlSeconds: 1_200, unmatchedEventTtlSeconds: 300 });
    for (const id of ids) {
      for (const key of Object.values(ledger.scriptKeys(id)).flat()) expect(hashSlot(key), key).toBe(hashSlot(layout.forOrder(id).keys.order(id)));
      const state = await driveLedger(ledger, { merchantOrderId: id, itemId: 4090, quantity: 2 }, [
        { type: 'job_started', atMs: Date.now(), check: { kind: 'unpriced' } },
        { type: 'funds_reserved', atMs: Date.now(), cost: null },
      ]);
      expect(state.phase).not.toBe('new');
      const loaded = await ledger.load(id);
      expect(loaded?.state).toEqual(state);
      const stored = await ledger.recordEvent(id, apiOrder(id, `ord-${id}`, 'completed'));
      expect(stored.outcome).toBe('stored');
      expect((await ledger.recordEvent(id, apiOrder(id, `ord-${id}`, 'completed'))).outcome).toBe('duplicate');
      const view = await ledger.view(id);
      expect(view).not.toBeNull();
      // The record lives on the primary serving its partition's slot.
      expect(await redis.exists(layout.forOrder(id).keys.order(id))).toBe(1);
    }
    expect(await ledger.recordEventWithoutMerchantOrderId('ord-orphan', JSON.stringify(apiOrder('', 'ord-orphan', 'completed')))).toBe('stored');
  });

  it('reserves and releases funds in the global area', async () => {
    const gate = new BalanceGate({ redis, prefix: layout.global.prefix, readBalance: () => Promise.resolve(100), freshMs: 60_000, logger });
    expect(await gate.reserve('cl-a', 60)).toBe('ok');
    expect(await gate.reserve('cl-b', 60)).not.toBe('ok');
    await gate.release('cl-a', 'all', 'all');
    expect(await gate.reserve('cl-b', 60)).toBe('ok');
    await gate.recordCharge('cl-b', 60);
  });

  it('takes, renews and releases an owned key, and shares one access token through the cluster', async () => {
    const owned = new OwnedKey(redis, layout.global.keys.tokenLock, 5_000);
    expect(await owned.acquire()).toBe(true);
    expect(await owned.renew()).toBe(true);
    expect(await owned.release()).toBe(true);
    let exchanges = 0;
    const exchange = (): Promise<AccessToken> => {
      exchanges += 1;
      return Promise.resolve({ token: `token-${exchanges}`, expiresAtMs: Date.now() + 60_000 });
    };
    const first = new RedisTokenProvider({ redis, keyPrefix: layout.global.prefix, refreshMarginMs: 1_000, logger, exchange });
    const second = new RedisTokenProvider({ redis, keyPrefix: layout.global.prefix, refreshMarginMs: 1_000, logger, exchange });
    expect(await first.getToken()).toBe('token-1');
    expect(await second.getToken()).toBe('token-1');
    expect(exchanges).toBe(1);
  });

  it('enqueues intents into their partitions, tells duplicates, and reports an order status', async () => {
    const intents = ids.map((id) => ({ merchant_order_id: `enq-${id}`, item_id: 4090, quantity: 1 }));
    const first = await enqueueNewOrders(queues, redis, intents);
    expect(first.added).toHaveLength(ids.length);
    const again = await enqueueNewOrders(queues, redis, intents.slice(0, 5));
    expect(again.alreadyEnqueued).toEqual(intents.slice(0, 5).map((i) => i.merchant_order_id));
    // Fresh intents wait in BullMQ's prioritized set.
    const counts = await Promise.all(queues.partitions.map((p) => p.intents.getPrioritizedCount()));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(ids.length);
    for (const [index, p] of queues.partitions.entries()) {
      expect(await p.intents.getPrioritizedCount()).toBe(intents.filter((i) => layout.forOrder(i.merchant_order_id).index === index).length);
    }
    const ledger = new OrderLedger({ redis, prefix, partitions: PARTITIONS, hashTags: true, retentionSeconds: 600, tombstoneTtlSeconds: 1_200, unmatchedEventTtlSeconds: 300 });
    const mid = intents[0]?.merchant_order_id ?? '';
    const { partition, intents: intentQueue } = queues.forOrder(mid);
    // The status command's own results queue, typed by what it holds.
    const results = new Queue<OrderResult>(RESULTS_QUEUE, { connection: redis, prefix: partition.prefix });
    try {
      const report = await orderStatus({ view: (m) => ledger.view(m), intents: intentQueue, results }, mid);
      expect(JSON.stringify(report)).toContain('prioritized');
    } finally {
      await results.close();
    }
  });

  it('serves the dashboard, ready, with the queues of every partition, from REDIS_CLUSTER_NODES', async () => {
    const config = loadConfig({
      REDIS_CLUSTER_NODES: cluster.seeds,
      QUEUE_PREFIX: prefix,
      QUEUE_PARTITIONS: String(PARTITIONS),
      DASHBOARD_HOST: '127.0.0.1',
      DASHBOARD_PORT: '0',
    });
    const dashboard = await startDashboardProcess(config, logger);
    try {
      await expect.poll(async () => (await fetch(`${dashboard.url}readyz`)).status, { timeout: 10_000 }).toBe(200);
      const metrics = await (await fetch(`${dashboard.url}metrics`)).text();
      // Every partition's intents (enqueued above) counted in the one gauge per queue name.
      expect(metrics).toMatch(new RegExp(`voodoo_queue_jobs\\{queue="order-intents",state="prioritized"\\} ${ids.length}\\b`));
    } finally {
      await dashboard.close();
    }
  });

  it('waits for a replica of the primary holding each record before a create', async () => {
    const wait = createReplicationWait({ redis, replicas: 1, timeoutMs: 5_000, logger });
    for (const id of ids.slice(0, 6)) {
      const key = layout.forOrder(id).keys.order(id);
      await redis.hset(key, 'probe', '1');
      await expect(wait(key)).resolves.toBeUndefined();
    }
    await expect(wait()).rejects.toThrow(/needs the key/);
  });
});
