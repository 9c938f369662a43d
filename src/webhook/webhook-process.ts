import { Queue } from 'bullmq';
import { BalanceGate } from '../balance/balance-gate.js';
import { ledgerRetention, lifecyclePolicy, requireSetting, type Config } from '../config/config.js';
import { createNoticeReporter } from '../handlers/order-effects.js';
import { createWebhookFinalizer } from '../handlers/webhook-finalizer.js';
import { OrderLedger } from '../ledger/order-ledger.js';
import { LOG_EVENT } from '../logging/log-events.js';
import type { Logger } from '../logging/logger.js';
import { logBullmqErrors } from '../queue/bullmq-error-log.js';
import { createJobCloser, createJobWaker } from '../queue/job-waker.js';
import { createPipelineMetrics } from '../metrics/pipeline-metrics.js';
import { startReadiness } from '../health/readiness.js';
import { registerHealthGauges } from '../metrics/health-gauges.js';
import { createProcessRegistry } from '../metrics/process-registry.js';
import { createWebhookCounter } from '../metrics/webhook-metrics.js';
import { INTENTS_QUEUE, RESULTS_QUEUE } from '../queue/queue-names.js';
import { createResultEmitter } from '../queue/result-emitter.js';
import { connectRedis, connectRedisForProbes } from '../redis/connect.js';
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
  const redis = connectRedis(config.REDIS_URL, logger, 'vf-webhook');
  await checkRedisAtStartup(redis, logger).catch((err: unknown) => {
    redis.disconnect();
    throw err;
  });
  const queue = new Queue(INTENTS_QUEUE, { connection: redis, prefix });
  const results = new Queue(RESULTS_QUEUE, { connection: redis, prefix });
  logBullmqErrors(logger, { [`queue ${INTENTS_QUEUE}`]: queue, [`queue ${RESULTS_QUEUE}`]: results });
  const wake = createJobWaker(queue, { logger });
  const closeJob = createJobCloser(queue, { logger });
  const ledger = new OrderLedger({ redis, prefix, ...ledgerRetention(config) });
  const registry = createProcessRegistry();
  const metrics = createPipelineMetrics(registry);
  const finalize = createWebhookFinalizer({
    ledger,
    emitter: createResultEmitter({ queue: results, retentionSeconds: config.RETENTION_SECONDS }),
    // The receiver only gives reservations back; it never reads the balance.
    gate: new BalanceGate({ redis, prefix, freshMs: config.BALANCE_CACHE_MS, logger }),
    policy: lifecyclePolicy(config),
    closeJob,
    metrics,
    report: createNoticeReporter({ metrics }),
    logger,
  });
  const probes = connectRedisForProbes(config.REDIS_URL, 'vf-webhook-probes');
  // The receiver starts after readiness (it serves /readyz); its heartbeat tells whether Redis takes writes.
  const started: { receiver?: WebhookReceiver } = {};
  const readiness = await startReadiness({
    component: 'webhook',
    redis: probes,
    prefix,
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
    wake,
    finalize,
    logger,
    ops: { readiness, registry },
    countWebhook: createWebhookCounter(registry),
    heartbeat: { redis, prefix },
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
      await Promise.all([wake.close(), closeJob.close()]);
      await Promise.all([queue.close(), results.close()]);
      await redis.quit();
      probes.disconnect();
    },
  };
}
