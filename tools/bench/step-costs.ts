import { randomUUID } from 'node:crypto';
import { DelayedError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { RedisTokenProvider } from '../../src/api/token-provider.js';
import { createVoodooClient } from '../../src/api/voodoo-client.js';
import { BalanceGate } from '../../src/balance/balance-gate.js';
import { Catalog } from '../../src/catalog/catalog.js';
import { sampleCatalogItems } from '../../src/catalog/sample-items.js';
import { ledgerRetention, lifecyclePolicy, loadConfig, type Config } from '../../src/config/config.js';
import { errorMessage } from '../../src/errors/errors.js';
import { createIntentsQueueHandler } from '../../src/handlers/intents-queue-handler.js';
import { createNoticeReporter } from '../../src/handlers/order-effects.js';
import { createOrderJobHandler } from '../../src/handlers/order-job-handler.js';
import { createResolutionJobHandler } from '../../src/handlers/resolution-job-handler.js';
import { createWebhookFinalizer, type WebhookFinalizer } from '../../src/handlers/webhook-finalizer.js';
import { OrderLedger } from '../../src/ledger/order-ledger.js';
import type { FleetPauseReason } from '../../src/lifecycle/order-state.js';
import { createLogger } from '../../src/logging/logger.js';
import { createPipelineMetrics } from '../../src/metrics/pipeline-metrics.js';
import { enqueueOrders } from '../../src/queue/enqueue-order.js';
import { FLEET_LIMITER, pauseFleet } from '../../src/queue/fleet-pause.js';
import { createJobCloser, createJobWaker } from '../../src/queue/job-waker.js';
import { openFleetQueues, type PartitionQueues } from '../../src/queue/partition-queues.js';
import { INTENTS_QUEUE } from '../../src/queue/queue-names.js';
import { createResultEmitter } from '../../src/queue/result-emitter.js';
import { createReplicationWait } from '../../src/redis/replication-wait.js';
import { startSandbox } from '../../src/sandbox/sandbox-server.js';
import type { LocalSandbox } from '../../src/sandbox/sandbox-types.js';
import { startWebhookReceiver, WEBHOOK_PATH, type WebhookReceiver } from '../../src/webhook/webhook-receiver.js';
import { FleetError } from '../fleet/fleet-error.js';
import { deletePrefixKeys } from '../fleet/fleet-redis.js';
import { hasRedisServer, startPrivateRedis } from '../fleet/private-redis.js';
import { parseCommandStats, readRedisVersion } from './redis-stats.js';
import { countSentCommands } from './sent-commands.js';
import type { StepCostsReport, StepTrace, StepTraceMode } from './step-costs-report.js';
import { summarizeSteps } from './step-summary.js';
import { GAP, STEP_DEFINITIONS, STEP_RULES, traced, tracedFunction } from './step-table.js';
import { StepTimeline } from './step-timeline.js';

/** Options of {@link runStepCosts}. */
export interface StepCostsOptions {
  /** Orders traced per mode, one at a time. Default 20. */
  orders?: number;
  /** Modes to trace, in this order. Default webhook, polling. */
  modes?: readonly StepTraceMode[];
  /**
   * A Redis nothing else uses while the trace runs (its counters are server-wide). A private
   * redis-server is started (and stopped) when omitted.
   */
  redisUrl?: string;
  /** The sandbox's fulfilment time of each order, in ms. Default 20. */
  fulfilmentMs?: number;
  /** Longest one order may take, in ms. Default 15 000. */
  orderTimeoutMs?: number;
  /** Aborting stops the trace between orders with a FleetError. */
  signal?: AbortSignal;
  /** Receives a progress line per mode. */
  onProgress?: (line: string) => void;
}

/** Every mode the tracer knows, in the order a default run traces them. */
export const STEP_TRACE_MODES: readonly StepTraceMode[] = ['webhook', 'polling'];

/** Steps every order goes through in each mode (shown even when 0, so a step that went away is seen to). */
export const EXPECTED_STEPS: Readonly<Record<StepTraceMode, readonly string[]>> = {
  webhook: ['enqueue', 'fetch', 'claim', 'reserve', 'attempt record', 'create', 'placed record', GAP.finishJob, 'wake', 'finalize', 'emit', 'release', 'complete'],
  polling: ['enqueue', 'fetch', 'claim', 'reserve', 'attempt record', 'create', 'placed record', 'park', 'lookup', 'finalize', 'emit', 'release', 'complete', GAP.finishJob],
};

/** How long the receiver holds an event for the job to hand the order off (or park) first, at most, in ms. */
const PARK_GATE_MS = 2_000;

const API_KEY = `ak_steps_${randomUUID().replace(/-/g, '')}`;
const WEBHOOK_SECRET = `whsec_steps_${randomUUID().replace(/-/g, '')}`;

/** A promise and its resolve. */
interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
}

function deferred(): Deferred {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

function wholeNumber(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new FleetError(`${name} must be a whole number >= ${min} (got ${value})`);
  return value;
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: () => Promise<string>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      void what().then(
        (text) => reject(new FleetError(text)),
        (err: unknown) => reject(new FleetError(errorMessage(err))),
      );
    }, ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Trace where an order's Redis commands go: for each mode, the real components in this process
 * (BullMQ Worker with concurrency 1 running the order job handler, the webhook receiver and its
 * finalizer, the sandbox with no latency and no faults) drive `orders` orders one at a time, and
 * every command is attributed to a step (see step-table.ts, step-timeline.ts).
 */
export async function runStepCosts(options: StepCostsOptions = {}): Promise<StepCostsReport> {
  const orders = wholeNumber('orders', options.orders ?? 20, 1);
  const fulfilmentMs = wholeNumber('fulfilmentMs', options.fulfilmentMs ?? 20, 0);
  const orderTimeoutMs = wholeNumber('orderTimeoutMs', options.orderTimeoutMs ?? 15_000, 100);
  const modes = [...(options.modes ?? STEP_TRACE_MODES)];
  const date = new Date().toISOString();
  let url = options.redisUrl;
  let stopServer = (): Promise<void> => Promise.resolve();
  if (url === undefined) {
    if (!hasRedisServer()) throw new FleetError('the step tracer needs redis-server on PATH (it reads server-wide counters, so it runs its own): apt-get install redis-server');
    const server = await startPrivateRedis();
    url = server.url;
    stopServer = () => server.destroy();
  }
  try {
    const admin = new Redis(url, { maxRetriesPerRequest: null, connectionName: 'vf-step-tracer' });
    try {
      const redis = await readRedisVersion(admin);
      const traces: StepTrace[] = [];
      for (const mode of modes) {
        if (options.signal?.aborted) throw new FleetError('the step trace was interrupted');
        options.onProgress?.(`steps: tracing ${orders} orders one at a time, ${mode} mode`);
        const trace = await traceMode({ url, port: Number(new URL(url).port || 6379), admin, mode, orders, fulfilmentMs, orderTimeoutMs, ...(options.signal === undefined ? {} : { signal: options.signal }) });
        const { perOrder } = trace.summary;
        options.onProgress?.(`steps: ${mode}: ${perOrder.commands.median} commands run, ${perOrder.sent.median} sent per order (median)`);
        traces.push(trace);
      }
      return { date, redis, traces };
    } finally {
      await admin.quit();
    }
  } finally {
    await stopServer();
  }
}

interface TraceParams {
  url: string;
  /** The Redis's port: the sent commands counted are those to it. */
  port: number;
  admin: Redis;
  mode: StepTraceMode;
  orders: number;
  fulfilmentMs: number;
  orderTimeoutMs: number;
  signal?: AbortSignal;
}

/** Configuration as a worker and receiver would load it: production defaults, the bench's poll delays. */
function traceConfig(prefix: string): Config {
  return loadConfig({ QUEUE_PREFIX: prefix, POLL_WEBHOOK_DELAY_MS: '5000', POLL_INITIAL_DELAY_MS: '200', VOODOO_API_KEY: API_KEY, VOODOO_WEBHOOK_SECRET: WEBHOOK_SECRET });
}

async function traceMode(p: TraceParams): Promise<StepTrace> {
  const prefix = `steps-${p.mode}-${randomUUID().slice(0, 8)}`;
  const config = traceConfig(prefix);
  const warnings: string[] = [];
  const logger = createLogger({ level: 'warn', destination: { write: (line: string) => void warnings.push(line) } });
  const policy = lifecyclePolicy(config);
  const connect = (name: string): Redis => new Redis(p.url, { maxRetriesPerRequest: null, connectionName: name });
  const closers: (() => Promise<void>)[] = [];
  const closeAll = async (): Promise<void> => {
    for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
  };
  const sent = countSentCommands(p.port);
  closers.push(() => Promise.resolve(sent.stop()));
  const timeline = new StepTimeline(async () => parseCommandStats(await p.admin.info('commandstats')), GAP.other, () => sent.count());

  /** Resolved when the current run of the job is over: parked (the handler threw) or completed (BullMQ moved it). */
  let handlerSettled = deferred();
  /** Resolved when the current order is done with (its last step ran). */
  let orderDone = deferred();
  const doneAfterStep = p.mode === 'webhook' ? 'emit' : null;

  try {
    // The receiver first: the sandbox needs its URL.
    let receiver: WebhookReceiver | null = null;
    let finalizer: WebhookFinalizer | null = null;
    if (p.mode === 'webhook') {
      const rRedis = connect('vf-webhook');
      closers.push(async () => void (await rRedis.quit()));
      const rQueues = openFleetQueues({ connection: rRedis, prefix });
      closers.push(() => rQueues.close());
      const part = rQueues.partitions[0] as PartitionQueues;
      const wake = createJobWaker(part.intents, { logger });
      const closeJob = createJobCloser(part.intents, { logger });
      closers.push(async () => void (await Promise.all([wake.close(), closeJob.close()])));
      const ledger = traced(new OrderLedger({ redis: rRedis, prefix, ...ledgerRetention(config) }), STEP_RULES.ledger, timeline);
      const metrics = createPipelineMetrics();
      const fin = createWebhookFinalizer({
        ledger,
        emitter: traced(createResultEmitter({ queue: part.results, retentionSeconds: config.RETENTION_SECONDS }), STEP_RULES.emitter, timeline),
        gate: traced(new BalanceGate({ redis: rRedis, prefix: rQueues.layout.global.prefix, freshMs: config.BALANCE_CACHE_MS, logger }), STEP_RULES.gate, timeline),
        policy,
        closeJob: tracedFunction((jobId: string) => closeJob(jobId), STEP_RULES.functions.closeJob, timeline),
        metrics,
        report: createNoticeReporter({ metrics }),
        logger,
      });
      finalizer = fin;
      // The usual path, the same every order: the job hands the order off and completes, then the event
      // comes (held until then).
      const gatedLedger = new Proxy(ledger, {
        get(obj, key) {
          if (key !== 'recordEvent') return Reflect.get(obj, key, obj) as unknown;
          return async (...args: Parameters<OrderLedger['recordEvent']>) => {
            await Promise.race([handlerSettled.promise, new Promise((resolve) => setTimeout(resolve, PARK_GATE_MS).unref())]);
            return obj.recordEvent(...args);
          };
        },
      });
      const started = await startWebhookReceiver({
        host: '127.0.0.1',
        port: 0,
        secret: WEBHOOK_SECRET,
        bodyLimitBytes: config.WEBHOOK_BODY_LIMIT_BYTES,
        maxConnections: config.WEBHOOK_MAX_CONNECTIONS,
        ledger: gatedLedger,
        wake: (jobId) => wake(jobId),
        finalize: fin,
        logger,
        heartbeat: { redis: rRedis, prefix: rQueues.layout.global.prefix },
      });
      receiver = started;
      closers.push(() => started.close());
    }

    const items = sampleCatalogItems().map((item) => (item.stock === 0 ? item : { ...item, stock: null }));
    const catalog = Catalog.fromItems(items);
    const sandbox: LocalSandbox = await startSandbox({
      apiKey: API_KEY,
      catalog,
      initialBalance: 1_000_000_000,
      seed: 1,
      fulfilment: { minMs: p.fulfilmentMs, maxMs: p.fulfilmentMs, outcomes: { completed: 1, partial: 0, failed: 0 } },
      ...(receiver === null ? {} : { webhook: { url: `${receiver.url}${WEBHOOK_PATH}`, secret: WEBHOOK_SECRET, retryGapMs: 200 } }),
    });
    closers.push(() => sandbox.close());

    // The worker, wired as src/worker/worker-process.ts wires it (one partition, concurrency 1).
    const redis = connect('vf-worker-state');
    const queueConnection = connect('vf-worker-queues');
    const workerConnection = connect('vf-worker');
    closers.push(async () => void (await Promise.all([redis.quit(), queueConnection.quit(), workerConnection.quit()])));
    const queues = openFleetQueues({ connection: queueConnection, prefix });
    closers.push(() => queues.close());
    const part = queues.partitions[0] as PartitionQueues;
    const globalPrefix = queues.layout.global.prefix;
    closers.push(async () => void (await deletePrefixKeys(p.admin, prefix)));
    const metrics = createPipelineMetrics();
    const rawClient = createVoodooClient({
      baseUrl: sandbox.url,
      apiKey: API_KEY,
      timeoutMs: config.HTTP_TIMEOUT_MS,
      tokenTtlMs: config.TOKEN_TTL_MS,
      logger,
      onCall: (call) => metrics.apiCall(call),
      tokens: (exchange) =>
        new RedisTokenProvider({
          redis,
          keyPrefix: globalPrefix,
          exchange,
          refreshMarginMs: config.TOKEN_REFRESH_MARGIN_MS,
          refusalMemoMs: Math.floor(config.AUTH_FAILURE_PAUSE_MS / 2),
          logger,
        }),
    });
    closers.push(() => Promise.resolve(rawClient.close()));
    const webhookAliveKey = queues.layout.global.keys.webhookAlive;
    let aliveUntil = 0;
    let alive = false;
    const webhookAlive = async (): Promise<boolean> => {
      if (Date.now() < aliveUntil) return alive;
      alive = (await redis.exists(webhookAliveKey)) === 1;
      aliveUntil = Date.now() + 1_000;
      return alive;
    };
    const waitFor = createReplicationWait({ redis, replicas: config.REDIS_WAIT_REPLICAS, timeoutMs: config.REDIS_WAIT_TIMEOUT_MS, logger });
    const workerLedger = new OrderLedger({ redis, prefix, ...ledgerRetention(config) });
    const shared = {
      ledger: traced(workerLedger, STEP_RULES.ledger, timeline),
      client: traced(rawClient, STEP_RULES.client, timeline),
      gate: traced(
        new BalanceGate({ redis, prefix: globalPrefix, readBalance: () => rawClient.getBalance(), freshMs: config.BALANCE_CACHE_MS, logger }),
        STEP_RULES.gate,
        timeline,
      ),
      emitter: traced(createResultEmitter({ queue: part.results, retentionSeconds: config.RETENTION_SECONDS }), STEP_RULES.emitter, timeline),
      policy,
      webhookAlive: tracedFunction(webhookAlive, STEP_RULES.functions.webhookAlive, timeline),
      pauseFleet: (ms: number, reason: FleetPauseReason) => pauseFleet(part.intents, redis, globalPrefix, ms, reason),
      metrics,
      report: createNoticeReporter({ metrics }),
      logger,
    };
    const handler = createIntentsQueueHandler({
      order: createOrderJobHandler({
        ...shared,
        catalog,
        awaitReplication: tracedFunction((mid: string) => waitFor(queues.layout.forOrder(mid).keys.order(mid)), STEP_RULES.functions.awaitReplication, timeline),
      }),
      resolve: createResolutionJobHandler(shared),
    });
    const processor = async (job: Job, token?: string): Promise<unknown> => {
      let delayed = false;
      try {
        return await handler(traced(job, STEP_RULES.job, timeline), token);
      } catch (err) {
        delayed = err instanceof DelayedError;
        throw err;
      } finally {
        await timeline.boundary(delayed ? GAP.other : GAP.finishJob);
        // A returning handler's run ends when BullMQ has moved the job to completed (below).
        if (delayed) handlerSettled.resolve();
      }
    };
    // BullMQ's fetch as a step of its own: not an injected dependency, so a subclass wraps it.
    class TracedWorker extends Worker {
      protected override moveToActive(token: string, name?: string): Promise<Job> {
        const { moveToActive, moveToActiveEmpty } = STEP_RULES.functions;
        // BullMQ's typings say Job; at run time it is undefined when no job was there to take.
        return timeline.step(moveToActive, () => super.moveToActive(token, name), (job: Job | undefined) => (job === undefined ? moveToActiveEmpty : moveToActive));
      }
    }
    const worker = new TracedWorker(INTENTS_QUEUE, processor, {
      connection: workerConnection,
      prefix: part.partition.prefix,
      autorun: false,
      concurrency: 1,
      limiter: FLEET_LIMITER,
      lockDuration: config.WORKER_LOCK_MS,
      stalledInterval: config.WORKER_LOCK_MS,
      maxStalledCount: Number.MAX_SAFE_INTEGER,
      removeOnFail: { count: 100_000 },
      removeOnComplete: { age: config.RETENTION_SECONDS },
    });
    worker.on('error', (err) => logger.error({ err }, 'worker error'));
    worker.on('failed', (job, err) => logger.error({ err, job_id: job?.id }, 'intent job failed'));
    // BullMQ has moved the job to completed: the end of `finish job`, and of a polled order.
    worker.on('completed', () => {
      void timeline.boundary(GAP.other).then(() => {
        handlerSettled.resolve();
        if (doneAfterStep === null) orderDone.resolve();
      });
    });
    timeline.onStepEnd((step) => {
      if (step === doneAfterStep) orderDone.resolve();
    });
    closers.push(() => worker.close());
    await worker.waitUntilReady();
    const running = worker.run();
    running.catch((err: unknown) => logger.error({ err }, 'the worker stopped taking jobs'));

    const intents = Array.from({ length: p.orders }, (_, i) => ({ merchant_order_id: `${prefix}-${i}`, item_id: 4090, quantity: 1 }));
    const stuck = async (mid: string): Promise<string> => {
      // Not through the timeline: a step that hangs holds its lock.
      const record = await workerLedger.load(mid).catch(() => null);
      return (
        `step trace (${p.mode}): order ${mid} did not finish within ${p.orderTimeoutMs} ms (phase ${record?.state.phase ?? 'none'}, ` +
        `job ${await part.intents.getJobState(`intent-${mid}`).catch(() => 'unknown')})${warnings.length > 0 ? `; last warning: ${warnings[warnings.length - 1]}` : ''}`
      );
    };
    await timeline.start();
    for (const [i, intent] of intents.entries()) {
      if (p.signal?.aborted) throw new FleetError('the step trace was interrupted');
      timeline.setOrder(i);
      handlerSettled = deferred();
      orderDone = deferred();
      await timeline.step('enqueue', () => enqueueOrders(part.intents, [intent]));
      await withTimeout(
        // The finalizer starts its bookkeeping right after the emit: a turn of the loop later, drain() sees it.
        orderDone.promise.then(() => new Promise((resolve) => setImmediate(resolve))).then(() => finalizer?.drain()),
        p.orderTimeoutMs,
        () => stuck(intent.merchant_order_id),
      );
      // Whatever is still going on for this order is its own (the rest of the gap).
      await timeline.boundary(GAP.other);
    }
    const summary = summarizeSteps(timeline.segments(), p.orders, STEP_DEFINITIONS, EXPECTED_STEPS[p.mode], { commands: timeline.wholeRun(), sent: timeline.wholeRunSent() });
    return { mode: p.mode, fulfilmentMs: p.fulfilmentMs, summary };
  } finally {
    await closeAll();
  }
}
