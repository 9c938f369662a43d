import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import type { OrderResult } from '../../src/lifecycle/order-state.js';
import { createLogger } from '../../src/logging/logger.js';
import { enqueueOrders } from '../../src/queue/enqueue-order.js';
import { INTENTS_QUEUE, RESULTS_QUEUE } from '../../src/queue/queue-names.js';
import { defaultSandboxCatalog, startSandbox } from '../../src/sandbox/sandbox-server.js';
import type { LocalSandbox } from '../../src/sandbox/sandbox-types.js';
import { WEBHOOK_PATH } from '../../src/webhook/webhook-receiver.js';
import { startWebhookProcess, type WebhookProcess } from '../../src/webhook/webhook-process.js';
import { startWorkerProcess, type WorkerProcess } from '../../src/worker/worker-process.js';
import { has, httpGet, scrape, total, type Sample } from '../support/prometheus-text.js';
import { connectRedis, deleteKeys, redisUrl, uniquePrefix } from '../support/redis.js';
import { eventually } from './sandbox-test-kit.js';

const API_KEY = 'ak_test_ops_metrics_0123456789';
const SECRET = 'whsec_test_ops_metrics_0123456789';
const ORDERS = 8;
/** Starting balance of the sandbox, major units. */
const BALANCE = 1000;

describe('when a few orders went through a worker and the receiver', () => {
  const redis = connectRedis();
  const prefix = uniquePrefix('ops');
  const results = new Queue(RESULTS_QUEUE, { connection: redis, prefix });
  const intents = new Queue(INTENTS_QUEUE, { connection: redis, prefix });
  const logger = createLogger({ level: 'error', destination: { write: () => undefined } });
  let receiver: WebhookProcess;
  let sandbox: LocalSandbox;
  let worker: WorkerProcess;
  let emitted: OrderResult[] = [];
  let fromWorker: Sample[] = [];
  let fromReceiver: Sample[] = [];

  beforeAll(async () => {
    const env = {
      REDIS_URL: redisUrl(),
      QUEUE_PREFIX: prefix,
      POLL_INITIAL_DELAY_MS: '100',
      POLL_WEBHOOK_DELAY_MS: '2000',
      POLL_MAX_DELAY_MS: '1000',
      BALANCE_CACHE_MS: '200',
    };
    receiver = await startWebhookProcess(loadConfig({ ...env, WEBHOOK_HOST: '127.0.0.1', WEBHOOK_PORT: '0', VOODOO_WEBHOOK_SECRET: SECRET }), logger);
    sandbox = await startSandbox({
      apiKey: API_KEY,
      catalog: defaultSandboxCatalog(),
      initialBalance: BALANCE,
      fulfilment: { minMs: 20, maxMs: 80, outcomes: { completed: 1, partial: 0, failed: 0 } },
      webhook: { url: `${receiver.url}${WEBHOOK_PATH}`, secret: SECRET, retryGapMs: 200 },
    });
    worker = await startWorkerProcess(
      loadConfig({ ...env, VOODOO_API_URL: sandbox.url, VOODOO_API_KEY: API_KEY, METRICS_HOST: '127.0.0.1', METRICS_PORT: '0' }),
      logger,
    );
    await enqueueOrders(
      intents,
      Array.from({ length: ORDERS }, (_, i) => ({ merchant_order_id: `ops-${i}`, item_id: 4090, quantity: 1 })),
    );
    await eventually(async () => ((await results.count()) === ORDERS ? true : undefined), 20_000, 'every result');
    // The receiver's bookkeeping (closing the parked job) runs after it emitted: let the intents queue settle.
    const unfinished = async (): Promise<number> => Object.values(await intents.getJobCounts('waiting', 'active', 'delayed')).reduce((a, b) => a + b, 0);
    await eventually(async () => ((await unfinished()) === 0 ? true : undefined), 10_000, 'every intent job to finish');
    emitted = (await results.getJobs(['waiting'])).map((job) => job.data as OrderResult);
    [fromWorker, fromReceiver] = await Promise.all([scrape(`${worker.opsUrl}/metrics`), scrape(`${receiver.url}/metrics`)]);
  }, 60_000);

  afterAll(async () => {
    await worker.close();
    await sandbox.close();
    await receiver.close();
    await Promise.all([results.close(), intents.close()]);
    await deleteKeys(redis, prefix);
    await redis.quit();
  });

  it('counts each result once, when emitted, in the process that emitted it', () => {
    expect(emitted).toHaveLength(ORDERS);
    const bySource = (source: OrderResult['source']): number => emitted.filter((r) => r.source === source).length;
    // Webhook results are emitted by the receiver's fast path, poll results by the worker.
    expect(total(fromReceiver, 'voodoo_results_total')).toBe(total(fromReceiver, 'voodoo_results_total', { source: 'webhook' }));
    expect(total(fromWorker, 'voodoo_results_total', { source: 'poll' })).toBe(bySource('poll'));
    expect(total(fromWorker, 'voodoo_results_total') + total(fromReceiver, 'voodoo_results_total')).toBe(ORDERS);
    expect(total(fromWorker, 'voodoo_results_total', { status: 'completed' }) + total(fromReceiver, 'voodoo_results_total', { status: 'completed' })).toBe(ORDERS);
  });

  it('gives every emitted result an enqueue → result and a settle → result observation', () => {
    for (const name of ['voodoo_enqueue_to_result_seconds_count', 'voodoo_settle_to_result_seconds_count']) {
      expect(total(fromWorker, name, { status: 'completed' }) + total(fromReceiver, name, { status: 'completed' }), name).toBe(ORDERS);
    }
    // An order takes more than nothing from its enqueue to its result.
    expect(total(fromWorker, 'voodoo_enqueue_to_result_seconds_sum') + total(fromReceiver, 'voodoo_enqueue_to_result_seconds_sum')).toBeGreaterThan(0);
  });

  it('times every API request by endpoint and outcome, and counts them by endpoint', () => {
    expect(total(fromWorker, 'voodoo_api_request_duration_seconds_count', { endpoint: 'create', outcome: 'ok' })).toBe(ORDERS);
    expect(total(fromWorker, 'voodoo_api_request_duration_seconds_count', { endpoint: 'token', outcome: 'ok' })).toBeGreaterThanOrEqual(1);
    expect(total(fromWorker, 'voodoo_api_request_duration_seconds_count', { endpoint: 'balance', outcome: 'ok' })).toBeGreaterThanOrEqual(1);
    expect(total(fromWorker, 'voodoo_api_request_duration_seconds_count')).toBe(total(fromWorker, 'voodoo_api_calls_total'));
    expect(total(fromWorker, 'voodoo_api_errors_total')).toBe(0);
  });

  it('shows both queues by state, read at scrape time', () => {
    expect(total(fromWorker, 'voodoo_queue_jobs', { queue: RESULTS_QUEUE, state: 'waiting' })).toBe(ORDERS);
    for (const state of ['waiting', 'active', 'delayed', 'failed']) {
      expect(total(fromWorker, 'voodoo_queue_jobs', { queue: INTENTS_QUEUE, state }), state).toBe(0);
    }
    // Every state of both queues is there, zero or not.
    expect(fromWorker.filter((s) => s.name === 'voodoo_queue_jobs')).toHaveLength(12);
  });

  it('shows the last balance reading, no intent waiting for funds and no pause', () => {
    const balance = total(fromWorker, 'voodoo_balance');
    expect(balance).toBeGreaterThan(0);
    expect(balance).toBeLessThanOrEqual(BALANCE);
    expect(fromWorker.find((s) => s.name === 'voodoo_intents_waiting_for_funds')?.value).toBe(0);
    expect(fromWorker.filter((s) => s.name === 'voodoo_fleet_paused').map((s) => [s.labels.reason, s.value])).toEqual([
      ['rate_limited', 0],
      ['key_refused', 0],
    ]);
  });

  it('counts webhook deliveries by outcome in the receiver', () => {
    expect(total(fromReceiver, 'voodoo_webhooks_total', { outcome: 'stored' })).toBe(sandbox.stats().webhooks.acknowledged);
    expect(total(fromReceiver, 'voodoo_webhooks_total', { outcome: 'bad_signature' })).toBe(0);
  });

  it('says both processes are ready, the Redis checks pass, and carries the Node process metrics', async () => {
    expect(fromWorker.find((s) => s.name === 'voodoo_ready')).toMatchObject({ labels: { component: 'worker' }, value: 1 });
    expect(fromReceiver.find((s) => s.name === 'voodoo_ready')).toMatchObject({ labels: { component: 'webhook' }, value: 1 });
    expect(total(fromWorker, 'voodoo_redis_checks_ok')).toBe(1);
    for (const samples of [fromWorker, fromReceiver]) {
      expect(has(samples, 'process_cpu_user_seconds_total')).toBe(true);
      expect(has(samples, 'nodejs_eventloop_lag_seconds')).toBe(true);
    }
    for (const base of [worker.opsUrl, receiver.url]) {
      expect(await httpGet(`${base}/readyz`)).toEqual({ status: 200, body: '{"ready":true}' });
      expect(await httpGet(`${base}/healthz`)).toEqual({ status: 200, body: '{"ok":true}' });
    }
  });
});
