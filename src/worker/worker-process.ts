import type { FleetPauseReason } from '../lifecycle/order-state.js';
import { Worker } from 'bullmq';
import { RedisTokenProvider } from '../api/token-provider.js';
import { createVoodooClient } from '../api/voodoo-client.js';
import { BalanceGate } from '../balance/balance-gate.js';
import type { Catalog } from '../catalog/catalog.js';
import { checkWorkerConfig, ledgerRetention, lifecyclePolicy, requireSetting, spendLimit, type Config } from '../config/config.js';
import { createNoticeReporter } from '../handlers/order-effects.js';
import { createIntentsQueueHandler } from '../handlers/intents-queue-handler.js';
import { createOrderJobHandler } from '../handlers/order-job-handler.js';
import { createResolutionJobHandler } from '../handlers/resolution-job-handler.js';
import { OrderLedger } from '../ledger/order-ledger.js';
import { LOG_EVENT } from '../logging/log-events.js';
import type { Logger } from '../logging/logger.js';
import { startOpsServer, type OpsServer } from '../health/ops-server.js';
import { openProbes } from '../health/probes.js';
import { startReadiness, type Readiness } from '../health/readiness.js';
import { registerFleetGauges } from '../metrics/fleet-gauges.js';
import { registerHealthGauges } from '../metrics/health-gauges.js';
import { createPipelineMetrics, type PipelineMetrics } from '../metrics/pipeline-metrics.js';
import { createProcessRegistry } from '../metrics/process-registry.js';
import { registerQueueGauges } from '../metrics/queue-gauges.js';
import { FLEET_LIMITER, pauseFleet } from '../queue/fleet-pause.js';
import { logBullmqErrors } from '../queue/bullmq-error-log.js';
import { startFinishedJobCleanup } from '../queue/finished-job-cleanup.js';
import { openFleetQueues } from '../queue/partition-queues.js';
import { concurrencyPerPartition } from './partition-concurrency.js';
import { INTENTS_QUEUE, RESULTS_QUEUE } from '../queue/queue-names.js';
import { startReminderPoller } from '../queue/reminder-poller.js';
import { createResultEmitter } from '../queue/result-emitter.js';
import { needsHashTags, openRedis, redisErrorLogOf, redisTargetOf } from '../redis/redis-target.js';
import { createReplicationWait } from '../redis/replication-wait.js';
import { checkRedisAtStartup } from '../redis/startup-checks.js';

/** A running worker process's pieces, for shutdown and metrics. */
export interface WorkerProcess {
  readonly metrics: PipelineMetrics;
  readonly readiness: Readiness;
  /** Base URL of its ops endpoints (/healthz, /readyz, /metrics). */
  readonly opsUrl: string;
  /**
   * Settles when the worker stops taking jobs: resolves once close() stopped it, rejects if BullMQ's
   * main loop failed on its own (logged here at fatal; the process should then exit).
   */
  readonly stopped: Promise<void>;
  /** Stop taking jobs, let active ones finish (or hand them back), then close every connection. */
  close(): Promise<void>;
}

/** How long a "is a webhook receiver alive?" answer is reused, in ms. */
const WEBHOOK_ALIVE_CACHE_MS = 1_000;

/**
 * Composition root of `voodoo-fulfillment worker`: builds connections, the API client, ledger,
 * balance gate and one BullMQ worker per partition (QUEUE_PARTITIONS) from a validated config, then
 * starts consuming once every listener is on and the workers' connections are ready.
 */
export async function startWorkerProcess(config: Config, logger: Logger): Promise<WorkerProcess> {
  const apiKey = requireSetting(config, 'VOODOO_API_KEY');
  checkWorkerConfig(config);
  const prefix = config.QUEUE_PREFIX;
  const partitions = config.QUEUE_PARTITIONS;
  let catalog: Catalog | null = null;
  if (config.CATALOG_PATH !== undefined) {
    // The snapshot reader (LMDB, zstd) is loaded only by a worker that has a catalog.
    const { readCatalogFile } = await import('../catalog/catalog-file.js');
    catalog = await readCatalogFile(config.CATALOG_PATH);
  }
  const registry = createProcessRegistry();
  const metrics = createPipelineMetrics(registry);

  // One log for the three connections: an outage is one line, not three.
  const target = redisTargetOf(config);
  const hashTags = needsHashTags(target);
  const errorLog = redisErrorLogOf(target, logger);
  const redis = openRedis(target, logger, 'vf-worker-state', { errorLog });
  const queueConnection = openRedis(target, logger, 'vf-worker-queues', { errorLog });
  const workerConnection = openRedis(target, logger, 'vf-worker', { errorLog });
  await checkRedisAtStartup(redis, logger).catch((err: unknown) => {
    for (const connection of [redis, queueConnection, workerConnection]) connection.disconnect();
    throw err;
  });

  const queues = openFleetQueues({ connection: queueConnection, prefix, partitions, hashTags });
  const globalPrefix = queues.layout.global.prefix;
  const client = createVoodooClient({
    baseUrl: config.VOODOO_API_URL,
    apiKey,
    timeoutMs: config.HTTP_TIMEOUT_MS,
    tokenTtlMs: config.TOKEN_TTL_MS,
    logger,
    onCall: (call) => metrics.apiCall(call),
    tokens: (exchange) =>
      new RedisTokenProvider({
        redis,
        keyPrefix: queues.layout.global.prefix,
        exchange,
        refreshMarginMs: config.TOKEN_REFRESH_MARGIN_MS,
        // Half the fleet's pause: the jobs of one pause round share one refused exchange per process.
        refusalMemoMs: Math.floor(config.AUTH_FAILURE_PAUSE_MS / 2),
        logger,
      }),
  });
  const ledger = new OrderLedger({ redis, prefix, partitions, hashTags, ...ledgerRetention(config) });
  const gate = new BalanceGate({
    redis,
    prefix: globalPrefix,
    readBalance: () => client.getBalance(),
    freshMs: config.BALANCE_CACHE_MS,
    logger,
    ...spendLimit(config),
  });
  const allIntents = queues.partitions.map((p) => p.intents);
  const webhookAliveKey = queues.layout.global.keys.webhookAlive;
  let aliveUntil = 0;
  let alive = false;
  const webhookAlive = async (): Promise<boolean> => {
    if (Date.now() < aliveUntil) return alive;
    alive = (await redis.exists(webhookAliveKey)) === 1;
    aliveUntil = Date.now() + WEBHOOK_ALIVE_CACHE_MS;
    return alive;
  };

  // WORKER_PARTITIONS pins this process to some partitions; the rest is other processes' to consume.
  const pinned = config.WORKER_PARTITIONS;
  const consumed = pinned === undefined ? queues.partitions : queues.partitions.filter(({ partition }) => pinned.includes(partition.index));
  const concurrency = concurrencyPerPartition(config.WORKER_CONCURRENCY, consumed.length);
  // Shared by every partition: one process logs one loud line per notice, whatever partition met it.
  const processWide = {
    ledger,
    client,
    gate,
    policy: lifecyclePolicy(config),
    webhookAlive,
    // A 429 or a refused key pauses every partition: the API's limits are the account's.
    pauseFleet: (ms: number, reason: FleetPauseReason) => pauseFleet(allIntents, redis, globalPrefix, ms, reason),
    metrics,
    report: createNoticeReporter({ metrics }),
    logger,
  };
  // The ledger writes on `redis`: WAIT covers that connection's writes, the attempt record included
  // (on a cluster, over its connection to the record's primary).
  const waitFor = createReplicationWait({ redis, replicas: config.REDIS_WAIT_REPLICAS, timeoutMs: config.REDIS_WAIT_TIMEOUT_MS, logger });
  const awaitReplication = (merchantOrderId: string): Promise<void> => waitFor(queues.layout.forOrder(merchantOrderId).keys.order(merchantOrderId));
  // One BullMQ worker per partition; an order's result goes to its own partition's results queue.
  const workers = consumed.map(({ partition, intents, results }) => {
    const shared = { ...processWide, emitter: createResultEmitter({ queue: results, retentionSeconds: config.RETENTION_SECONDS }) };
    const handler = createIntentsQueueHandler({
      order: createOrderJobHandler({ ...shared, catalog, awaitReplication }),
      resolve: createResolutionJobHandler(shared),
    });
    const worker = new Worker(INTENTS_QUEUE, handler, {
      connection: workerConnection,
      prefix: partition.prefix,
      // Started below with run(), after its listeners are on and the process is ready.
      autorun: false,
      concurrency,
      limiter: FLEET_LIMITER,
      lockDuration: config.WORKER_LOCK_MS,
      stalledInterval: config.WORKER_LOCK_MS,
      // Handlers are idempotent against the ledger, so a job may stall (its worker killed) any
      // number of times and still end with one result.
      maxStalledCount: Number.MAX_SAFE_INTEGER,
      // A garbage intent's failed job stays for inspection.
      removeOnFail: { count: 100_000 },
      removeOnComplete: { age: config.RETENTION_SECONDS },
    });
    worker.on('failed', (job, err) => {
      logger.error({ err, job_id: job?.id, ...(partitions === 1 ? {} : { partition: partition.index }) }, 'intent job failed');
    });
    const where = partitions === 1 ? '' : ` ${partition.prefix}`;
    logBullmqErrors(logger, { [`queue ${INTENTS_QUEUE}${where}`]: intents, [`queue ${RESULTS_QUEUE}${where}`]: results, [`worker${where}`]: worker });
    return worker;
  });
  await Promise.all(workers.map((worker) => worker.waitUntilReady()));
  const probes = openProbes(target, 'vf-worker-probes', prefix, partitions);
  const readiness = await startReadiness({ component: 'worker', redis: probes.redis, prefix: globalPrefix, logger, needsApiKey: true });
  registerHealthGauges(registry, readiness);
  registerQueueGauges(registry, [...probes.intents, ...probes.results]);
  registerFleetGauges(registry, { redis: probes.redis, prefix, partitions, hashTags, intents: probes.intents });
  const closeProbes = async (): Promise<void> => {
    readiness.close();
    await probes.close();
  };
  let opsServer: OpsServer;
  try {
    opsServer = await startOpsServer({ readiness, registry }, config.METRICS_HOST, config.METRICS_PORT);
  } catch (err) {
    await closeProbes();
    throw err;
  }
  // Completed intents and consumed results past RETENTION_SECONDS go even while no job completes.
  const cleanup = startFinishedJobCleanup({
    queues: queues.partitions.flatMap((p) => [p.intents, p.results]),
    connection: queueConnection,
    retentionSeconds: config.RETENTION_SECONDS,
    logger,
  });
  // Handed-off orders whose webhook did not settle them in time: their jobs run again (the safety-net poll).
  const reminders = startReminderPoller({
    ledger,
    intents: consumed.map(({ partition, intents }) => ({ partition: partition.index, queue: intents })),
    logger,
  });
  // run() settles only when a worker stops taking jobs (close(), or a failure of its main loop),
  // so it is not awaited here; a failure is logged, and callers learn of it through `stopped`.
  const stopped = Promise.all(workers.map((worker) => worker.run())).then(() => undefined);
  stopped.catch((err: unknown) => {
    logger.fatal({ err }, 'the worker stopped taking jobs');
  });
  // Logged at info whatever LOG_LEVEL says: it tells an operator the worker is up (the process
  // signals readiness to its parent over IPC besides; see cli/process-runner.ts).
  logger
    .child({}, { level: 'info' })
    .info({ event: LOG_EVENT.workerStarted, concurrency: config.WORKER_CONCURRENCY, partitions, prefix, catalog: catalog?.size ?? null, ops_address: opsServer.address, ops_url: opsServer.url }, 'worker started');

  return {
    metrics,
    readiness,
    opsUrl: opsServer.url,
    stopped,
    async close() {
      await reminders.close();
      await Promise.all(workers.map((worker) => worker.close()));
      await cleanup.close();
      await opsServer.close();
      await closeProbes();
      await queues.close();
      client.close();
      await Promise.all([redis.quit(), queueConnection.quit(), workerConnection.quit()]);
      logger.info('worker stopped');
    },
  };
}
