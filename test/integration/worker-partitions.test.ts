import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors/errors.js';
import { loadConfig } from '../../src/config/config.js';
import { parseWorkerPartitions } from '../../src/config/worker-partitions.js';
import { createLogger } from '../../src/logging/logger.js';
import { enqueueOrders } from '../../src/queue/enqueue-order.js';
import { openFleetQueues } from '../../src/queue/partition-queues.js';
import { partitionLayout } from '../../src/redis/partitions.js';
import { defaultSandboxCatalog, startSandbox } from '../../src/sandbox/sandbox-server.js';
import { startWorkerProcess, type WorkerProcess } from '../../src/worker/worker-process.js';
import { connectRedis, deleteKeys, redisUrl, uniquePrefix } from '../support/redis.js';
import { eventually } from './sandbox-test-kit.js';

const API_KEY = 'ak_test_worker_partitions_0123456789';

describe('WORKER_PARTITIONS', () => {
  it('reads indexes and ranges, and names itself on a bad value or a partition that does not exist', () => {
    expect(parseWorkerPartitions('3, 0-1,1')).toEqual([0, 1, 3]);
    expect(() => loadConfig({ QUEUE_PARTITIONS: '4', WORKER_PARTITIONS: '1-x' })).toThrow(ConfigError);
    expect(() => loadConfig({ QUEUE_PARTITIONS: '4', WORKER_PARTITIONS: '3-1' })).toThrow(/WORKER_PARTITIONS/);
    expect(() => loadConfig({ QUEUE_PARTITIONS: '4', WORKER_PARTITIONS: '2,4' })).toThrow(/WORKER_PARTITIONS: partition 4 does not exist/);
    expect(loadConfig({ QUEUE_PARTITIONS: '4', WORKER_PARTITIONS: '0,2-3' }).WORKER_PARTITIONS).toEqual([0, 2, 3]);
  });

  describe('when a worker is pinned to one partition of two', () => {
    const redis = connectRedis();
    const prefix = uniquePrefix('wpin');
    const queues = openFleetQueues({ connection: redis, prefix, partitions: 2 });
    const logger = createLogger({ level: 'error', destination: { write: () => undefined } });
    const workers: WorkerProcess[] = [];
    let closeSandbox: (() => Promise<void>) | null = null;

    afterAll(async () => {
      await queues.close();
      const layout = partitionLayout(prefix, 2);
      for (const area of [...layout.partitions, layout.global]) await deleteKeys(redis, area.prefix);
      await redis.quit();
    });

    it('consumes only that partition, and a worker pinned to the other takes the rest', async () => {
      try {
        await pinnedRun();
      } finally {
        for (const worker of workers.splice(0)) await worker.close();
        await closeSandbox?.();
      }
    }, 60_000);

    async function pinnedRun(): Promise<void> {
      const sandbox = await startSandbox({ apiKey: API_KEY, catalog: defaultSandboxCatalog(), initialBalance: 1000, fulfilment: { minMs: 10, maxMs: 30, outcomes: { completed: 1, partial: 0, failed: 0 } } });
      closeSandbox = () => sandbox.close();
      const env = {
        REDIS_URL: redisUrl(),
        QUEUE_PREFIX: prefix,
        QUEUE_PARTITIONS: '2',
        VOODOO_API_URL: sandbox.url,
        VOODOO_API_KEY: API_KEY,
        METRICS_HOST: '127.0.0.1',
        METRICS_PORT: '0',
        POLL_INITIAL_DELAY_MS: '100',
        POLL_MAX_DELAY_MS: '500',
        BALANCE_CACHE_MS: '200',
      };
      workers.push(await startWorkerProcess(loadConfig({ ...env, WORKER_PARTITIONS: '0' }), logger));
      const mids = Array.from({ length: 10 }, (_, i) => `wpin-${i}`);
      const home = (mid: string): number => queues.forOrder(mid).partition.index;
      expect(new Set(mids.map(home))).toEqual(new Set([0, 1]));
      await enqueueOrders(queues, mids.map((mid) => ({ merchant_order_id: mid, item_id: 4090, quantity: 1 })));
      const [zero, one] = queues.partitions;
      if (zero === undefined || one === undefined) throw new Error('two partitions expected');

      const inZero = mids.filter((mid) => home(mid) === 0).length;
      await eventually(async () => ((await zero.results.count()) === inZero ? true : undefined), 20_000, 'partition 0’s results');
      expect(await one.results.count()).toBe(0);
      expect(await one.intents.getJobCountByTypes('waiting', 'prioritized')).toBe(mids.length - inZero);
      expect(sandbox.orders().map((o) => o.merchantOrderId).every((mid) => mid !== null && home(mid) === 0)).toBe(true);

      workers.push(await startWorkerProcess(loadConfig({ ...env, WORKER_PARTITIONS: '1' }), logger));
      await eventually(async () => ((await one.results.count()) === mids.length - inZero ? true : undefined), 20_000, 'partition 1’s results');
      expect(sandbox.orders()).toHaveLength(mids.length);
    }
  });
});
