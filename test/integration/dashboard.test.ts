import { Queue } from 'bullmq';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { startDashboardProcess } from '../../src/dashboard/dashboard-process.js';
import type { Dashboard } from '../../src/dashboard/dashboard-server.js';
import { LOG_EVENT, readEventLine } from '../../src/logging/log-events.js';
import { createLogger } from '../../src/logging/logger.js';
import { enqueueOrder } from '../../src/queue/enqueue-order.js';
import { resultJobId } from '../../src/queue/job-ids.js';
import { INTENTS_QUEUE, RESULTS_QUEUE } from '../../src/queue/queue-names.js';
import { createResultEmitter } from '../../src/queue/result-emitter.js';
import { sampleResult } from '../support/fixtures.js';
import { connectRedis, deleteKeys, redisUrl, uniquePrefix } from '../support/redis.js';

const CODES = ['VOODOO-DASH-AAAA-1111', 'VOODOO-DASH-BBBB-2222'];

const result = sampleResult('dash-1', { order_id: 'order-dash-1', codes: CODES, created_at: '2026-11-26T00:00:00.000Z' });

interface QueueListing {
  queues: { name: string; readOnlyMode: boolean; counts: Record<string, number>; jobs: { id: string; data: Record<string, unknown> }[] }[];
}

describe('the dashboard', () => {
  const redis = connectRedis();
  const prefix = uniquePrefix('dash');
  const intents = new Queue(INTENTS_QUEUE, { connection: redis, prefix });
  const results = new Queue(RESULTS_QUEUE, { connection: redis, prefix });
  const logLines: string[] = [];
  let dashboard: Dashboard;

  beforeAll(async () => {
    await enqueueOrder(intents, { merchant_order_id: 'dash-2', item_id: 4090, quantity: 1 });
    await createResultEmitter({ queue: results, retentionSeconds: 60 }).emit(result);
  });
  // One dashboard per test: closing it also closes the keep-alive sockets fetch leaves open.
  beforeEach(async () => {
    const config = loadConfig({ REDIS_URL: redisUrl(), QUEUE_PREFIX: prefix, DASHBOARD_HOST: '127.0.0.1', DASHBOARD_PORT: '0' });
    const logger = createLogger({ level: 'warn', destination: { write: (line: string) => void logLines.push(line) } });
    dashboard = await startDashboardProcess(config, logger);
  });
  afterEach(async () => {
    await dashboard.close();
  });
  afterAll(async () => {
    try {
      // Nothing went wrong: the only lines are each start's "listening" line (five tests), after the startup check's
      // warning that the test Redis runs without AOF.
      const startupWarnings = logLines.filter((line) => (JSON.parse(line) as { check?: string }).check === 'redis');
      expect(startupWarnings.every((line) => line.includes('AOF is off'))).toBe(true);
      const rest = logLines.filter((line) => !startupWarnings.includes(line));
      expect(rest.map((line) => readEventLine(line)?.event)).toEqual(Array(5).fill(LOG_EVENT.dashboardListening));
    } finally {
      await Promise.all([intents.close(), results.close()]);
      await deleteKeys(redis, prefix);
      await redis.quit();
    }
  });

  it('serves /healthz, /readyz and its metrics beside the board', async () => {
    const [health, ready, metrics] = await Promise.all(['healthz', 'readyz', 'metrics'].map((path) => fetch(`${dashboard.url}${path}`)));
    expect(await health?.json()).toEqual({ ok: true });
    expect(ready?.status).toBe(200);
    expect(await ready?.json()).toEqual({ ready: true });
    const text = (await metrics?.text()) ?? '';
    expect(text).toContain('voodoo_ready{component="dashboard"} 1');
    // The queue gauges: the one intent waits (at its priority), the one result waits.
    expect(text).toContain(`voodoo_queue_jobs{queue="${INTENTS_QUEUE}",state="prioritized"} 1`);
    expect(text).toContain(`voodoo_queue_jobs{queue="${RESULTS_QUEUE}",state="waiting"} 1`);
  });

  it('serves the board page', async () => {
    const page = await fetch(dashboard.url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('voodoo-fulfillment');
  });

  it('lists both queues, read-only, with their jobs', async () => {
    const response = await fetch(`${dashboard.url}api/queues?activeQueue=${RESULTS_QUEUE}&status=latest&page=1&jobsPerPage=10`);
    expect(response.status).toBe(200);
    const listing = (await response.json()) as QueueListing;
    expect(listing.queues.map((q) => q.name).sort()).toEqual([INTENTS_QUEUE, RESULTS_QUEUE]);
    expect(listing.queues.every((q) => q.readOnlyMode)).toBe(true);
    const resultsQueue = listing.queues.find((q) => q.name === RESULTS_QUEUE);
    expect(resultsQueue?.jobs.map((j) => j.id)).toEqual([resultJobId('dash-1')]);
    expect(resultsQueue?.jobs[0]?.data).toMatchObject({ merchant_order_id: 'dash-1', status: 'completed', codes: '[2 code(s) hidden]' });
  });

  it('never sends a delivered code, in the listing or a single job', async () => {
    const bodies = await Promise.all([
      fetch(`${dashboard.url}api/queues?activeQueue=${RESULTS_QUEUE}&status=latest&page=1&jobsPerPage=10`).then((r) => r.text()),
      fetch(`${dashboard.url}api/queues/${RESULTS_QUEUE}/${resultJobId('dash-1')}`).then((r) => r.text()),
    ]);
    expect(bodies[1]).toContain('code(s) hidden');
    for (const body of bodies) for (const code of CODES) expect(body).not.toContain(code);
  });

  it('refuses to change anything', async () => {
    const pause = await fetch(`${dashboard.url}api/queues/${INTENTS_QUEUE}/pause`, { method: 'PUT' });
    expect(pause.status).toBe(405);
    expect(await intents.isPaused()).toBe(false);
    const clean = await fetch(`${dashboard.url}api/queues/${RESULTS_QUEUE}/clean/waiting`, { method: 'PUT' });
    expect(clean.status).toBe(405);
    expect(await results.getJob(resultJobId('dash-1'))).toBeDefined();
  });
});
