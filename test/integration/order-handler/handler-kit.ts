import type { FleetPauseReason } from '../../../src/lifecycle/order-state.js';
import { Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { vi } from 'vitest';
import { RedisTokenProvider } from '../../../src/api/token-provider.js';
import { createVoodooClient, type VoodooClient } from '../../../src/api/voodoo-client.js';
import { BalanceGate, type SpendLimit } from '../../../src/balance/balance-gate.js';
import type { Catalog } from '../../../src/catalog/catalog.js';
import { createNoticeReporter } from '../../../src/handlers/order-effects.js';
import { createIntentsQueueHandler } from '../../../src/handlers/intents-queue-handler.js';
import { createOrderJobHandler } from '../../../src/handlers/order-job-handler.js';
import { createResolutionJobHandler } from '../../../src/handlers/resolution-job-handler.js';
import { createWebhookFinalizer } from '../../../src/handlers/webhook-finalizer.js';
import { OrderLedger } from '../../../src/ledger/order-ledger.js';
import type { OrderIntent } from '../../../src/lifecycle/intent.js';
import type { LifecyclePolicy, OrderResult, OrderState, Phase } from '../../../src/lifecycle/order-state.js';
import { createLogger, type Logger } from '../../../src/logging/logger.js';
import { FLEET_LIMITER, pauseFleet } from '../../../src/queue/fleet-pause.js';
import { createPipelineMetrics, type PipelineMetrics } from '../../../src/metrics/pipeline-metrics.js';
import { enqueueOrder } from '../../../src/queue/enqueue-order.js';
import { intentJobId, resultJobId } from '../../../src/queue/job-ids.js';
import { INTENTS_QUEUE, RESULTS_QUEUE } from '../../../src/queue/queue-names.js';
import { createResultEmitter } from '../../../src/queue/result-emitter.js';
import { createJobCloser, createJobWaker } from '../../../src/queue/job-waker.js';
import { bullmqKey, projectKeys } from '../../../src/redis/keys.js';
import { defaultSandboxCatalog, startSandbox } from '../../../src/sandbox/sandbox-server.js';
import type { LocalSandbox, SandboxOptions } from '../../../src/sandbox/sandbox-types.js';
import { startWebhookReceiver, WEBHOOK_PATH } from '../../../src/webhook/webhook-receiver.js';
import { testPolicy } from '../../support/lifecycle.js';
import { API_KEY, WEBHOOK_SECRET } from '../../support/pipeline.js';
import { createReplicationWait } from '../../../src/redis/replication-wait.js';
import { canonicalJson } from '../../../src/sandbox/canonical-json.js';
import { SIGNATURE_HEADER, signWebhook } from '../../../src/webhook/signature.js';
import { connectRedis, deleteKeys, uniquePrefix } from '../../support/redis.js';

/**
 * The in-process integration layer of the order lifecycle: the real order job handler wired as
 * src/worker/worker-process.ts wires it (ledger, balance gate, API client, result emitter, notice
 * reporter, metrics), driven by real BullMQ Workers over the shared test Redis, against the
 * in-process sandbox, with an injected clock. Time passes by `clock.advance(ms)` followed by a
 * promote of the parked job, never by sleeping.
 */

/** How long a kit waits for a condition before the test fails, in ms. */
export const WAIT_MS = 10_000;

/** An injectable clock: real time plus an offset a test moves forward. */
export class TestClock {
  private offsetMs = 0;
  /** Epoch ms as the handler, the balance gate and the notice reporter see it. */
  readonly now = (): number => Date.now() + this.offsetMs;
  /** Make `ms` pass for the handler (BullMQ's own timers do not move: promote the parked job). */
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

/**
 * The test policy with every wait long (a minute or more), so a parked job stays parked until the
 * test promotes it. Funds rechecks (1..30 s, not a policy setting) are the one wait that can fire
 * on its own during a test.
 */
export function kitPolicy(overrides: Partial<LifecyclePolicy> = {}): LifecyclePolicy {
  return testPolicy({
    pollInitialDelayMs: 60_000,
    pollWebhookDelayMs: 60_000,
    handOff: true,
    pollMaxDelayMs: 120_000,
    retryBaseDelayMs: 60_000,
    retryMaxDelayMs: 120_000,
    ...overrides,
  });
}

/**
 * Start a sandbox for one test: the sample catalog, plenty of balance, a fixed seed, and fast
 * fulfilment where every order completes (override `fulfilment` fields one by one).
 */
export function startTestSandbox(options: Partial<SandboxOptions> = {}): Promise<LocalSandbox> {
  return startSandbox({
    apiKey: API_KEY,
    catalog: defaultSandboxCatalog(),
    initialBalance: 1_000_000,
    seed: 7,
    ...options,
    fulfilment: { minMs: 20, maxMs: 40, outcomes: { completed: 1, partial: 0, failed: 0 }, ...options.fulfilment },
  });
}

/** Options of {@link startHandlerKit}. */
export interface HandlerKitOptions {
  /** Base URL of the API (a sandbox's, or a proxy in front of it). */
  apiUrl: string;
  /** QUEUE_PREFIX; a fresh one by default (pass one to share it with a receiver started first). */
  prefix?: string;
  clock?: TestClock;
  /** Overrides of {@link kitPolicy}. */
  policy?: Partial<LifecyclePolicy>;
  /** The worker's catalog (CATALOG_PATH); none by default. */
  catalog?: Catalog | null;
  /** SPEND_LIMIT / SPEND_WINDOW_MS; off by default. */
  spendLimit?: SpendLimit;
  /** BALANCE_CACHE_MS. Default 200. */
  balanceCacheMs?: number;
  /** HTTP_TIMEOUT_MS. Default 5000. */
  httpTimeoutMs?: number;
  /** How many worker "processes" (each its own handler, connections, client and gate). Default 1. */
  workers?: number;
  /** WORKER_CONCURRENCY of each. Default 4. */
  concurrency?: number;
  /** The Redis to use (e.g. a primary with a replica); the tests' shared one by default. */
  redisUrl?: string;
  /** REDIS_WAIT_REPLICAS / REDIS_WAIT_TIMEOUT_MS, as the worker process wires them; no wait by default. */
  replication?: { replicas: number; timeoutMs: number };
}

/** One in-process worker: what a worker process would hold. */
export interface KitWorker {
  readonly worker: Worker;
  readonly gate: BalanceGate;
  readonly client: VoodooClient;
  readonly metrics: PipelineMetrics;
  close(): Promise<void>;
}

/** Everything a test drives and observes. */
export interface HandlerKit {
  readonly prefix: string;
  readonly clock: TestClock;
  readonly policy: LifecyclePolicy;
  /** The test's own connection (observation only). */
  readonly redis: Redis;
  readonly ledger: OrderLedger;
  readonly intents: Queue;
  readonly results: Queue;
  readonly workers: readonly KitWorker[];
  /** Warning and error lines the workers logged (JSON). */
  readonly logLines: string[];
  /** Add an intent as producers do (enqueueOrder); returns its job id. */
  enqueue(intent: OrderIntent): Promise<string>;
  /** The ledger state of an order (null when none). */
  state(mid: string): Promise<OrderState | null>;
  /** Wait until the order's ledger state satisfies `predicate` (or is in `phase`); returns it. */
  waitForState(mid: string, expected: Phase | ((state: OrderState) => boolean)): Promise<OrderState>;
  /** Wait until the order's intent job is parked (delayed); returns when it is due (epoch ms) and its delay. */
  parked(mid: string): Promise<{ dueAtMs: number; delayMs: number }>;
  /**
   * Wait until the order's intent job handed the placed order to its webhook (it completed, and the
   * ledger holds a reminder); returns when the reminder is due (epoch ms).
   */
  handedOff(mid: string): Promise<{ remindAtMs: number }>;
  /** Wait until the order's job is parked, then make it run now. */
  promote(mid: string): Promise<void>;
  /** Promote every parked intent job; returns how many were promoted. */
  promoteAll(): Promise<number>;
  /**
   * Wait for the order's result in `order-results` and for whoever emitted it to be done with the
   * order (its effects performed): the intent job completed, or removed by the webhook finalizer.
   */
  result(mid: string): Promise<OrderResult>;
  /**
   * Let time pass for a placed order until its result is out: whenever its job is parked, advance
   * the clock by the longest poll gap and promote it. Returns the result.
   */
  pollUntilResult(mid: string): Promise<OrderResult>;
  /** Every result job in `order-results`. */
  allResults(): Promise<OrderResult[]>;
  /** How many times a result was added for `mid` (BullMQ's `added` and `duplicated` events). */
  emissions(mid: string): Promise<number>;
  /** The BullMQ state of the order's intent job ('unknown' once removed). */
  jobState(mid: string): Promise<string>;
  /** The fleet's funds reservations: merchant_order_id → "epoch:cost". */
  reservations(): Promise<Record<string, string>>;
  /** The fleet's balance reading (value, readAtMs, epoch, spent, windowSpent). */
  balanceReading(): Promise<Record<string, string>>;
  /** A counter summed over every worker (e.g. `voodoo_orders_stuck_total`), optionally for one label set. */
  counter(name: string, labels?: Record<string, string>): Promise<number>;
  close(): Promise<void>;
}

/**
 * The limiter worker-process.ts configures: far above any real rate, it exists so that
 * `queue.rateLimit()` (the fleet pause) bites. Read the pause with `getRateLimitTtl(KIT_LIMITER.max)`.
 */
export const KIT_LIMITER = FLEET_LIMITER;

/** Start the queues and `workers` in-process workers on a fresh prefix. */
export async function startHandlerKit(options: HandlerKitOptions): Promise<HandlerKit> {
  const prefix = options.prefix ?? uniquePrefix('oh');
  const clock = options.clock ?? new TestClock();
  const policy = kitPolicy(options.policy);
  const logLines: string[] = [];
  const logger = createLogger({ level: 'warn', destination: { write: (line: string) => void logLines.push(line) } });
  const redis = connectRedis(options.redisUrl);
  const ledger = new OrderLedger({ redis, prefix, retentionSeconds: 3_600, tombstoneTtlSeconds: 7_200, unmatchedEventTtlSeconds: 3_600 });
  const intents = new Queue(INTENTS_QUEUE, { connection: redis, prefix });
  const results = new Queue(RESULTS_QUEUE, { connection: redis, prefix });
  const workers: KitWorker[] = [];
  for (let i = 0; i < (options.workers ?? 1); i++) workers.push(await startKitWorker(prefix, clock, policy, logger, options));

  const jobOf = async (mid: string): Promise<Job | undefined> => intents.getJob(intentJobId(mid));
  const dueAt = async (mid: string): Promise<number | null> => {
    const score = await redis.zscore(bullmqKey(prefix, INTENTS_QUEUE, 'delayed'), intentJobId(mid));
    return score === null ? null : Math.floor(Number(score) / 0x1000);
  };

  /** The result once it is out and the order's intent job is done with it, else null. */
  const settledResult = async (mid: string): Promise<OrderResult | null> => {
    const job = (await results.getJob(resultJobId(mid))) as Job<OrderResult> | undefined;
    if (job === undefined) return null;
    const intentJob = await intents.getJobState(intentJobId(mid));
    return intentJob === 'completed' || intentJob === 'unknown' ? job.data : null;
  };

  const kit: HandlerKit = {
    prefix,
    clock,
    policy,
    redis,
    ledger,
    intents,
    results,
    workers,
    logLines,
    enqueue: (intent) => enqueueOrder(intents, intent),
    async state(mid) {
      return (await ledger.load(mid))?.state ?? null;
    },
    async waitForState(mid, expected) {
      const ok = typeof expected === 'string' ? (s: OrderState) => s.phase === expected : expected;
      return vi.waitFor(
        async () => {
          const state = await kit.state(mid);
          if (state === null || !ok(state)) throw new Error(`${mid}: ledger state not as expected: ${JSON.stringify(state)}`);
          return state;
        },
        { timeout: WAIT_MS, interval: 20 },
      );
    },
    async parked(mid) {
      return vi.waitFor(
        async () => {
          // The state first: a job read before its move to delayed would carry the delay it had before.
          const state = await intents.getJobState(intentJobId(mid));
          const job = await jobOf(mid);
          const due = await dueAt(mid);
          if (job === undefined || state !== 'delayed' || due === null) throw new Error(`${mid}: job not parked (${String(state)})`);
          return { dueAtMs: due, delayMs: job.delay };
        },
        { timeout: WAIT_MS, interval: 20 },
      );
    },
    async handedOff(mid) {
      return vi.waitFor(
        async () => {
          const job = await jobOf(mid);
          const state = await job?.getState();
          const score = await redis.zscore(projectKeys(prefix).reminders, mid);
          const handed = (job?.returnvalue as { handed_off?: unknown } | null | undefined)?.handed_off === true;
          if (state !== 'completed' || !handed || score === null) throw new Error(`${mid}: not handed off (${String(state)}, reminder ${String(score)})`);
          return { remindAtMs: Number(score) };
        },
        { timeout: WAIT_MS, interval: 20 },
      );
    },
    async promote(mid) {
      await vi.waitFor(
        async () => {
          const job = await jobOf(mid);
          const state = await job?.getState();
          if (job === undefined || state !== 'delayed') throw new Error(`${mid}: job not parked (${String(state)})`);
          await job.promote();
        },
        { timeout: WAIT_MS, interval: 20 },
      );
    },
    async promoteAll() {
      let promoted = 0;
      for (const job of await intents.getDelayed()) {
        try {
          await job.promote();
          promoted += 1;
        } catch {
          // It left the delayed set meanwhile (its own delay ran out): it runs anyway.
        }
      }
      return promoted;
    },
    async result(mid) {
      return vi.waitFor(
        async () => {
          const result = await settledResult(mid);
          if (result === null) throw new Error(`${mid}: no result yet (ledger: ${JSON.stringify(await kit.state(mid))})`);
          return result;
        },
        { timeout: WAIT_MS, interval: 20 },
      );
    },
    async pollUntilResult(mid) {
      return vi.waitFor(
        async () => {
          const result = await settledResult(mid);
          if (result !== null) return result;
          const parked = await jobOf(mid);
          if ((await parked?.getState()) === 'delayed') {
            clock.advance(policy.pollMaxDelayMs);
            await parked?.promote().catch(() => undefined);
          }
          throw new Error(`${mid}: no result yet (ledger: ${JSON.stringify(await kit.state(mid))})`);
        },
        { timeout: WAIT_MS, interval: 50 },
      );
    },
    async allResults() {
      const jobs = (await results.getJobs(['waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized'])) as Job<OrderResult>[];
      return jobs.map((j) => j.data);
    },
    async emissions(mid) {
      const entries = await redis.xrange(bullmqKey(prefix, RESULTS_QUEUE, 'events'), '-', '+');
      const id = resultJobId(mid);
      return entries.filter(([, fields]) => {
        const event = fieldOf(fields, 'event');
        return fieldOf(fields, 'jobId') === id && (event === 'added' || event === 'duplicated');
      }).length;
    },
    async jobState(mid) {
      return intents.getJobState(intentJobId(mid));
    },
    reservations: () => redis.hgetall(projectKeys(prefix).reservations),
    balanceReading: () => redis.hgetall(projectKeys(prefix).balance),
    async counter(name, labels = {}) {
      let total = 0;
      for (const w of workers) total += await counterValue(w.metrics, name, labels);
      return total;
    },
    async close() {
      await Promise.all(workers.map((w) => w.close()));
      await intents.close();
      await results.close();
      await deleteKeys(redis, prefix);
      await redis.quit();
    },
  };
  return kit;
}

/** Build one worker as worker-process.ts does, on the kit's prefix and clock. */
async function startKitWorker(prefix: string, clock: TestClock, policy: LifecyclePolicy, logger: Logger, options: HandlerKitOptions): Promise<KitWorker> {
  const metrics = createPipelineMetrics();
  const redis = connectRedis(options.redisUrl);
  const queueConnection = connectRedis(options.redisUrl);
  const workerConnection = connectRedis(options.redisUrl);
  const client = createVoodooClient({
    baseUrl: options.apiUrl,
    apiKey: API_KEY,
    timeoutMs: options.httpTimeoutMs ?? 5_000,
    logger,
    onCall: (call) => metrics.apiCall(call),
    tokens: (exchange) => new RedisTokenProvider({ redis, keyPrefix: prefix, exchange, refreshMarginMs: 60_000, refusalMemoMs: 15_000, logger }),
  });
  const gate = new BalanceGate({
    redis,
    prefix,
    readBalance: () => client.getBalance(),
    freshMs: options.balanceCacheMs ?? 200,
    logger,
    now: clock.now,
    ...(options.spendLimit === undefined ? {} : { spendLimit: options.spendLimit }),
  });
  const intents = new Queue(INTENTS_QUEUE, { connection: queueConnection, prefix });
  const results = new Queue(RESULTS_QUEUE, { connection: queueConnection, prefix });
  const shared = {
    ledger: new OrderLedger({ redis, prefix, retentionSeconds: 3_600, tombstoneTtlSeconds: 7_200, unmatchedEventTtlSeconds: 3_600 }),
    client,
    gate,
    emitter: createResultEmitter({ queue: results, retentionSeconds: 3_600 }),
    policy,
    webhookAlive: async () => (await redis.exists(projectKeys(prefix).webhookAlive)) === 1,
    pauseFleet: (ms: number, reason: FleetPauseReason) => pauseFleet(intents, redis, prefix, ms, reason),
    metrics,
    report: createNoticeReporter({ metrics, now: clock.now }),
    logger,
    now: clock.now,
    random: () => 0.5,
  };
  // As worker-process.ts dispatches order-intents: resolve requests to their own handler.
  const handler = createIntentsQueueHandler({
    order: createOrderJobHandler({
      ...shared,
      catalog: options.catalog ?? null,
      ...(options.replication === undefined ? {} : { awaitReplication: createReplicationWait({ redis, ...options.replication, logger }) }),
    }),
    resolve: createResolutionJobHandler(shared),
  });
  const worker = new Worker(INTENTS_QUEUE, handler, {
    connection: workerConnection,
    prefix,
    concurrency: options.concurrency ?? 4,
    limiter: KIT_LIMITER,
    maxStalledCount: Number.MAX_SAFE_INTEGER,
    removeOnFail: { count: 1_000 },
    removeOnComplete: { age: 3_600 },
  });
  worker.on('failed', (job, err) => logger.error({ err, job_id: job?.id }, 'intent job failed'));
  worker.on('error', (err) => logger.error({ err }, 'worker error'));
  await worker.waitUntilReady();
  return {
    worker,
    gate,
    client,
    metrics,
    async close() {
      await worker.close();
      await Promise.all([intents.close(), results.close()]);
      client.close();
      await Promise.all([redis.quit(), queueConnection.quit(), workerConnection.quit()]);
    },
  };
}

/** A webhook receiver as webhook-process.ts wires it: the finalizer, the job closer and waker, a heartbeat. */
export interface KitReceiver {
  /** Where the sandbox (or a test) posts events. */
  readonly webhookUrl: string;
  /** The receiver's own counters (results it emitted). */
  readonly metrics: PipelineMetrics;
  close(): Promise<void>;
}

/** Start a receiver on `prefix` (port 0), signing secret WEBHOOK_SECRET, with the kit's policy and clock. */
export async function startKitReceiver(prefix: string, options: { clock?: TestClock; policy?: Partial<LifecyclePolicy> } = {}): Promise<KitReceiver> {
  const logger = createLogger({ level: 'silent' });
  const redis = connectRedis();
  const intents = new Queue(INTENTS_QUEUE, { connection: redis, prefix });
  const results = new Queue(RESULTS_QUEUE, { connection: redis, prefix });
  const wake = createJobWaker(intents, { logger });
  const closeJob = createJobCloser(intents, { logger });
  const ledger = new OrderLedger({ redis, prefix, retentionSeconds: 3_600, tombstoneTtlSeconds: 7_200, unmatchedEventTtlSeconds: 3_600 });
  const metrics = createPipelineMetrics();
  const now = options.clock?.now ?? Date.now;
  const finalize = createWebhookFinalizer({
    ledger,
    emitter: createResultEmitter({ queue: results, retentionSeconds: 3_600 }),
    gate: new BalanceGate({ redis, prefix, freshMs: 200, logger, now }),
    policy: kitPolicy(options.policy),
    closeJob,
    metrics,
    report: createNoticeReporter({ metrics, now }),
    logger,
    now,
  });
  const receiver = await startWebhookReceiver({
    host: '127.0.0.1',
    port: 0,
    secret: WEBHOOK_SECRET,
    bodyLimitBytes: 64 * 1024,
    maxConnections: 64,
    ledger,
    wake,
    finalize,
    logger,
    heartbeat: { redis, prefix },
  });
  return {
    webhookUrl: `${receiver.url}${WEBHOOK_PATH}`,
    metrics,
    async close() {
      await receiver.close();
      await Promise.all([wake.close(), closeJob.close()]);
      await Promise.all([intents.close(), results.close()]);
      await redis.quit();
    },
  };
}

function fieldOf(fields: string[], name: string): string | undefined {
  const i = fields.indexOf(name);
  return i >= 0 && i % 2 === 0 ? fields[i + 1] : undefined;
}

async function counterValue(metrics: PipelineMetrics, name: string, labels: Record<string, string>): Promise<number> {
  const metric = metrics.registry.getSingleMetric(name);
  if (metric === undefined) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => (v.labels as Record<string, unknown>)[k] === want))
    .reduce((sum, v) => sum + v.value, 0);
}

/** Closes what a test opened, last first; call `close()` in afterEach. */
export class Resources {
  private readonly stack: (() => Promise<void>)[] = [];

  /** Register something to close after the test; returns it. */
  add<T extends { close(): Promise<void> }>(resource: T): T {
    this.stack.push(() => resource.close());
    return resource;
  }

  async close(): Promise<void> {
    const errors: unknown[] = [];
    for (const close of this.stack.splice(0).reverse()) {
      try {
        await close();
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length > 0) throw errors[0];
  }
}

/** A completed webhook event for `mid` under `orderId` carrying `codes`, as the API would send it (unsigned body). */
export function completedEvent(mid: string, orderId: string, codes: string[]): string {
  return canonicalJson({
    order_id: orderId,
    merchant_order_id: mid,
    status: 'completed',
    item_id: 4090,
    item_name: 'Sample Gift Card 10 USD',
    quantity: 2,
    total_price: 18,
    delivered_quantity: 2,
    refund_amount: 0,
    fields: {},
    codes,
    error: '',
    error_message: '',
    completed_at: new Date().toISOString(),
    created_at: new Date().toISOString(),
  });
}

/** POST `body` to a kit receiver signed with the test secret; the HTTP status. */
export async function deliverSigned(receiver: KitReceiver, body: string): Promise<number> {
  const res = await fetch(receiver.webhookUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signWebhook(WEBHOOK_SECRET, body) },
    body,
  });
  await res.text();
  return res.status;
}
