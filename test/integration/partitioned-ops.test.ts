import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/logging/logger.js';
import { enqueueOrders } from '../../src/queue/enqueue-order.js';
import { openFleetQueues } from '../../src/queue/partition-queues.js';
import { INTENTS_QUEUE, RESULTS_QUEUE } from '../../src/queue/queue-names.js';
import { partitionLayout } from '../../src/redis/partitions.js';
import { defaultSandboxCatalog, startSandbox } from '../../src/sandbox/sandbox-server.js';
import type { LocalSandbox } from '../../src/sandbox/sandbox-types.js';
import { WEBHOOK_PATH } from '../../src/webhook/webhook-receiver.js';
import { startWebhookProcess, type WebhookProcess } from '../../src/webhook/webhook-process.js';
import { startWorkerProcess, type WorkerProcess } from '../../src/worker/worker-process.js';
import { httpGet, scrape, total, type Sample } from '../support/prometheus-text.js';
import { connectRedis, deleteKeys, redisUrl, uniquePrefix } from '../support/redis.js';
import { eventually } from './sandbox-test-kit.js';

const API_KEY = 'ak_test_partitioned_ops_0123456789';
const SECRET = 'whsec_test_partitioned_ops_0123456789';
const PARTITIONS = 3;
const ORDERS = 12;

describe('when a worker and the receiver run with QUEUE_PARTITIONS=3', () => {
  const redis = connectRedis();
  const prefix = uniquePrefix('opsp');
  const queues = openFleetQueues({ connection: redis, prefix, partitions: PARTITIONS });
  const logger = createLogger({ level: 'error', destination: { write: () => undefined } });
  let receiver: WebhookProcess;
  let sandbox: LocalSandbox;
  let worker: WorkerProcess;
  let metrics: Sample[] = [];
  const perPartition: number[] = [];

  beforeAll(async () => {
    const env = { REDIS_URL: redisUrl(), QUEUE_PREFIX: prefix, QUEUE_PARTITIONS: String(PARTITIONS), POLL_INITIAL_DELAY_MS: '100', POLL_MAX_DELAY_MS: '1000', BALANCE_CACHE_MS: '200' };
    receiver = await startWebhookProcess(loadConfig({ ...env, WEBHOOK_HOST: '127.0.0.1', WEBHOOK_PORT: '0', VOODOO_WEBHOOK_SECRET: SECRET }), logger);
    sandbox = await startSandbox({
      apiKey: API_KEY,
      catalog: defaultSandboxCatalog(),
      initialBalance: 1000,
      fulfilment: { minMs: 20, maxMs: 80, outcomes: { completed: 1, partial: 0, failed: 0 } },
      webhook: { url: `${receiver.url}${WEBHOOK_PATH}`, secret: SECRET, retryGapMs: 200 },
    });
    worker = await startWorkerProcess(
      loadConfig({ ...env, VOODOO_API_URL: sandbox.url, VOODOO_API_KEY: API_KEY, METRICS_HOST: '127.0.0.1', METRICS_PORT: '0', WORKER_CONCURRENCY: '4' }),
      logger,
    );
    await enqueueOrders(
      queues,
      Array.from({ length: ORDERS }, (_, i) => ({ merchant_order_id: `opsp-${i}`, item_id: 4090, quantity: 1 })),
    );
    const results = async (): Promise<number> => (await Promise.all(queues.partitions.map((p) => p.results.count()))).reduce((a, b) => a + b, 0);
    await eventually(async () => ((await results()) === ORDERS ? true : undefined), 20_000, 'every result');
    const unfinished = async (): Promise<number> =>
      (await Promise.all(queues.partitions.map((p) => p.intents.getJobCountByTypes('waiting', 'active', 'delayed', 'prioritized')))).reduce((a, b) => a + b, 0);
    await eventually(async () => ((await unfinished()) === 0 ? true : undefined), 10_000, 'every intent job to finish');
    for (const p of queues.partitions) perPartition.push(await p.results.count());
    metrics = await scrape(`${worker.opsUrl}/metrics`);
  }, 60_000);

  afterAll(async () => {
    await worker.close();
    await sandbox.close();
    await receiver.close();
    await queues.close();
    const layout = partitionLayout(prefix, PARTITIONS);
    for (const area of [...layout.partitions, layout.global]) await deleteKeys(redis, area.prefix);
    await redis.quit();
  });

  it('consumes every partition: each holds the results of its own orders', () => {
    const expected = queues.partitions.map(({ partition }) => Array.from({ length: ORDERS }, (_, i) => `opsp-${i}`).filter((mid) => queues.forOrder(mid).partition.index === partition.index).length);
    expect(perPartition).toEqual(expected);
    expect(expected.filter((n) => n > 0).length).toBeGreaterThan(1);
  });

  it('sums the queues of one name over the partitions in voodoo_queue_jobs', () => {
    expect(total(metrics, 'voodoo_queue_jobs', { queue: RESULTS_QUEUE, state: 'waiting' })).toBe(ORDERS);
    expect(total(metrics, 'voodoo_queue_jobs', { queue: INTENTS_QUEUE, state: 'waiting' })).toBe(0);
    // One series per queue name and state, not one per partition.
    expect(metrics.filter((s) => s.name === 'voodoo_queue_jobs')).toHaveLength(12);
  });

  it('reads the fleet-wide balance and funds-waiting count, and is ready', async () => {
    expect(total(metrics, 'voodoo_balance')).toBeGreaterThan(0);
    expect(metrics.find((s) => s.name === 'voodoo_intents_waiting_for_funds')?.value).toBe(0);
    expect(await redis.exists(`{${prefix}-global}:vf:balance`)).toBe(1);
    const ready = await httpGet(`${worker.opsUrl}/readyz`);
    expect(ready.status).toBe(200);
  });
});
