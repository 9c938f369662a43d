import { BalanceGate } from '../balance/balance-gate.js';
import { ledgerRetention, lifecyclePolicy, requireSetting, type Config } from '../config/config.js';
import { createNoticeReporter } from '../handlers/order-effects.js';
import { createWebhookFinalizer, type WebhookFinalizer } from '../handlers/webhook-finalizer.js';
import type { Order } from '../api/order.js';
import { OrderLedger, type LedgerRecord } from '../ledger/order-ledger.js';
import { LOG_EVENT } from '../logging/log-events.js';
import type { Logger } from '../logging/logger.js';
import { logBullmqErrors } from '../queue/bullmq-error-log.js';
import { createJobCloser, createJobWaker } from '../queue/job-waker.js';
import { createPipelineMetrics } from '../metrics/pipeline-metrics.js';
import { startReadiness } from '../health/readiness.js';
import { registerHealthGauges } from '../metrics/health-gauges.js';
import { createProcessRegistry } from '../metrics/process-registry.js';
import { createWebhookCounter } from '../metrics/webhook-metrics.js';
import { openFleetQueues } from '../queue/partition-queues.js';
import { INTENTS_QUEUE, RESULTS_QUEUE } from '../queue/queue-names.js';
import { createResultEmitter } from '../queue/result-emitter.js';
import { needsHashTags, openRedis, openRedisForProbes, redisTargetOf } from '../redis/redis-target.js';
import { startWebhookReceiver, type WebhookReceiver } from './webhook-receiver.js';
import { checkRedisAtStartup } from '../redis/startup-checks.js';

/** A running webhook receiver process. */
export interface WebhookProcess {
  /** Base URL; events go to `${url}/webhooks/voodoo`. */
  readonly url: string;
  close(): Promise<void>;
}

/** Composition root of `voodoo-fulfillment webhook`. */
export async function startWebhookProcess(config: Config, logger: Logger): Promise<WebhookProcess> {
  const secret = requireSetting(config, 'VOODOO_WEBHOOK_SECRET');
  const prefix = config.QUEUE_PREFIX;
  const target = redisTargetOf(config);
  const hashTags = needsHashTags(target);
  const redis = openRedis(target, logger, 'vf-webhook');
  await checkRedisAtStartup(redis, logger).catch((err: unknown) => {
    redis.disconnect();
    throw err;
  });
  const queues = openFleetQueues({ connection: redis, prefix, partitions: config.QUEUE_PARTITIONS, hashTags });
  const globalPrefix = queues.layout.global.prefix;
  const ledger = new OrderLedger({ redis, prefix, partitions: config.QUEUE_PARTITIONS, hashTags, ...ledgerRetention(config) });
  const registry = createProcessRegistry();
  const metrics = createPipelineMetrics(registry);
  // The receiver only gives reservations back; it never reads the balance.
  const gate = new BalanceGate({ redis, prefix: globalPrefix, freshMs: config.BALANCE_CACHE_MS, logger });
  const report = createNoticeReporter({ metrics });
  // Each partition's jobs are woken, closed and their results emitted in that partition's queues.
  const routes = queues.partitions.map(({ partition, intents, results }) => {
    const where = queues.layout.count === 1 ? '' : ` ${partition.prefix}`;
    logBullmqErrors(logger, { [`queue ${INTENTS_QUEUE}${where}`]: intents, [`queue ${RESULTS_QUEUE}${where}`]: results });
    const wake = createJobWaker(intents, { logger });
    const closeJob = createJobCloser(intents, { logger });
    const finalize = createWebhookFinalizer({
      ledger,
      emitter: createResultEmitter({ queue: results, retentionSeconds: config.RETENTION_SECONDS }),
      gate,
      policy: lifecyclePolicy(config),
      closeJob,
      metrics,
      report,
      logger,
    });
    return { wake, closeJob, finalize };
  });
  const routeOf = (merchantOrderId: string): (typeof routes)[number] => routes[queues.layout.forOrder(merchantOrderId).index] as (typeof routes)[number];
  const finalize: WebhookFinalizer = Object.assign((merchantOrderId: string, order: Order, known?: LedgerRecord | null) => routeOf(merchantOrderId).finalize(merchantOrderId, order, known), {
    drain: async () => {
      await Promise.all(routes.map((route) => route.finalize.drain()));
    },
  });
  const probes = openRedisForProbes(target, 'vf-webhook-probes');
  // The receiver starts after readiness (it serves /readyz); its heartbeat tells whether Redis takes writes.
  const started: { receiver?: WebhookReceiver } = {};
  const readiness = await startReadiness({
    component: 'webhook',
    redis: probes,
    prefix: globalPrefix,
    logger,
    // Storing webhooks needs no API key: a refused key does not make the receiver unready.
    needsApiKey: false,
    own: [() => (started.receiver?.eventStoreWritable() === false ? 'redis: the event store takes no writes (the heartbeat write failed)' : null)],
  });
  registerHealthGauges(registry, readiness);
  const receiver = await startWebhookReceiver({
    host: config.WEBHOOK_HOST,
    port: config.WEBHOOK_PORT,
    secret,
    bodyLimitBytes: config.WEBHOOK_BODY_LIMIT_BYTES,
    maxConnections: config.WEBHOOK_MAX_CONNECTIONS,
    ledger,
    // A parked job is promoted; a handed-off order (its job completed) has its reminder made due now,
    // so its job runs again within a poll round and applies the stored event.
    wake: async (jobId, merchantOrderId) => {
      await Promise.all([routeOf(merchantOrderId).wake(jobId), ledger.remindNow(merchantOrderId)]);
    },
    finalize,
    logger,
    ops: { readiness, registry },
    countWebhook: createWebhookCounter(registry),
    heartbeat: { redis, prefix: globalPrefix },
  }).catch((err: unknown) => {
    readiness.close();
    probes.disconnect();
    throw err;
  });
  started.receiver = receiver;
  // Logged at info whatever LOG_LEVEL says: it tells an operator where the receiver listens (the
  // process signals readiness to its parent over IPC besides; see cli/process-runner.ts).
  logger.child({}, { level: 'info' }).info({ event: LOG_EVENT.webhookListening, url: receiver.url }, 'webhook receiver listening');
  return {
    url: receiver.url,
    async close() {
      readiness.close();
      await receiver.close();
      await Promise.all(routes.flatMap((route) => [route.wake.close(), route.closeJob.close()]));
      await queues.close();
      await redis.quit();
      probes.disconnect();
    },
  };
}
