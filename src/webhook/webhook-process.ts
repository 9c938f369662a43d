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
import { INTENTS_QUEUE, RESULTS_QUEUE } from '../queue/queue-names.js';
import { createResultEmitter } from '../queue/result-emitter.js';
import { connectRedis } from '../redis/connect.js';
import { startWebhookReceiver } from './webhook-receiver.js';
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
  const metrics = createPipelineMetrics();
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
  const receiver = await startWebhookReceiver({
    host: config.WEBHOOK_HOST,
    port: config.WEBHOOK_PORT,
    secret,
    bodyLimitBytes: config.WEBHOOK_BODY_LIMIT_BYTES,
    ledger,
    wake,
    finalize,
    logger,
    heartbeat: { redis, prefix },
  });
  // Logged at info whatever LOG_LEVEL says: it tells an operator where the receiver listens (the
  // process signals readiness to its parent over IPC besides; see cli/process-runner.ts).
  logger.child({}, { level: 'info' }).info({ event: LOG_EVENT.webhookListening, url: receiver.url }, 'webhook receiver listening');
  return {
    url: receiver.url,
    async close() {
      await receiver.close();
      await Promise.all([wake.close(), closeJob.close()]);
      await Promise.all([queue.close(), results.close()]);
      await redis.quit();
    },
  };
}
