import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { startDashboardProcess } from '../../src/dashboard/dashboard-process.js';
import type { Dashboard } from '../../src/dashboard/dashboard-server.js';
import { createLogger } from '../../src/logging/logger.js';
import { resultJobId } from '../../src/queue/job-ids.js';
import { openFleetQueues } from '../../src/queue/partition-queues.js';
import { INTENTS_QUEUE, RESULTS_QUEUE } from '../../src/queue/queue-names.js';
import { createResultEmitter } from '../../src/queue/result-emitter.js';
import { sampleResult } from '../support/fixtures.js';
import { connectRedis, deleteKeys, redisUrl, uniquePrefix } from '../support/redis.js';

const CODES = ['VOODOO-DASHP-AAAA-1111'];

interface QueueListing {
  queues: { name: string; readOnlyMode: boolean; jobs: { id: string; data: Record<string, unknown> }[] }[];
}

describe('the dashboard with QUEUE_PARTITIONS=2', () => {
  const redis = connectRedis();
  const prefix = uniquePrefix('dashp');
  const queues = openFleetQueues({ connection: redis, prefix, partitions: 2 });
  const home = queues.forOrder('dashp-1');
  let dashboard: Dashboard;

  beforeAll(async () => {
    await createResultEmitter({ queue: home.results, retentionSeconds: 60 }).emit(sampleResult('dashp-1', { order_id: 'order-dashp-1', codes: CODES }));
  });
  // One dashboard per test: closing it also closes the keep-alive sockets fetch leaves open.
  beforeEach(async () => {
    const config = loadConfig({ REDIS_URL: redisUrl(), QUEUE_PREFIX: prefix, QUEUE_PARTITIONS: '2', DASHBOARD_HOST: '127.0.0.1', DASHBOARD_PORT: '0' });
    dashboard = await startDashboardProcess(config, createLogger({ level: 'error', destination: { write: () => undefined } }));
  });
  afterEach(async () => {
    await dashboard.close();
  });
  afterAll(async () => {
    await queues.close();
    for (const p of queues.partitions) await deleteKeys(redis, p.partition.prefix);
    await redis.quit();
  });

  it("lists each partition's queues under its prefix, with a result in its own partition only, codes hidden", async () => {
    const name = (partitionPrefix: string, queue: string): string => `${partitionPrefix}:${queue}`;
    const homeResults = name(home.partition.prefix, RESULTS_QUEUE);
    const response = await fetch(`${dashboard.url}api/queues?activeQueue=${encodeURIComponent(homeResults)}&status=latest&page=1&jobsPerPage=10`);
    expect(response.status).toBe(200);
    const body = await response.text();
    const listing = JSON.parse(body) as QueueListing;
    expect(listing.queues.map((q) => q.name).sort()).toEqual(
      [`{${prefix}-0}`, `{${prefix}-1}`].flatMap((p) => [name(p, INTENTS_QUEUE), name(p, RESULTS_QUEUE)]).sort(),
    );
    expect(listing.queues.every((q) => q.readOnlyMode)).toBe(true);
    expect(listing.queues.find((q) => q.name === homeResults)?.jobs.map((j) => j.id)).toEqual([resultJobId('dashp-1')]);
    for (const code of CODES) expect(body).not.toContain(code);
  });
});
