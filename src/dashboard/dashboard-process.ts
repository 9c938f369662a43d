import type { Config } from '../config/config.js';
import { LOG_EVENT } from '../logging/log-events.js';
import type { Logger } from '../logging/logger.js';
import { logBullmqErrors } from '../queue/bullmq-error-log.js';
import { openFleetQueues } from '../queue/partition-queues.js';
import { INTENTS_QUEUE, RESULTS_QUEUE } from '../queue/queue-names.js';
import { needsHashTags, openRedis, redisTargetOf } from '../redis/redis-target.js';
import { openProbes } from '../health/probes.js';
import { startReadiness } from '../health/readiness.js';
import { registerHealthGauges } from '../metrics/health-gauges.js';
import { createProcessRegistry } from '../metrics/process-registry.js';
import { registerQueueGauges } from '../metrics/queue-gauges.js';
import { startDashboard, type Dashboard } from './dashboard-server.js';
import { checkRedisAtStartup } from '../redis/startup-checks.js';

/** How long one Redis read of the dashboard may take before the page gets an error, in ms. */
const DASHBOARD_COMMAND_TIMEOUT_MS = 5_000;
/** Composition root of `voodoo-fulfillment dashboard`. */
export async function startDashboardProcess(config: Config, logger: Logger): Promise<Dashboard> {
  // A page must not hang through a Redis outage (nor hold up shutdown): its reads fail after 5 s.
  const target = redisTargetOf(config);
  const redis = openRedis(target, logger, 'vf-dashboard', { commandTimeoutMs: DASHBOARD_COMMAND_TIMEOUT_MS });
  await checkRedisAtStartup(redis, logger).catch((err: unknown) => {
    redis.disconnect();
    throw err;
  });
  const prefix = config.QUEUE_PREFIX;
  const partitions = config.QUEUE_PARTITIONS;
  const queues = openFleetQueues({ connection: redis, prefix, partitions, hashTags: needsHashTags(target) });
  // With partitions, each board entry is named by its partition's prefix (`{bull-0}:order-intents`).
  const label = (partitionPrefix: string): string => (partitions === 1 ? '' : `${partitionPrefix}:`);
  for (const { partition, intents, results } of queues.partitions) {
    logBullmqErrors(logger, { [`queue ${label(partition.prefix)}${INTENTS_QUEUE}`]: intents, [`queue ${label(partition.prefix)}${RESULTS_QUEUE}`]: results });
  }
  const probes = openProbes(target, 'vf-dashboard-probes', prefix, partitions);
  const readiness = await startReadiness({ component: 'dashboard', redis: probes.redis, prefix: queues.layout.global.prefix, logger, needsApiKey: false });
  const registry = createProcessRegistry();
  registerHealthGauges(registry, readiness);
  registerQueueGauges(registry, [...probes.intents, ...probes.results]);
  const closeProbes = async (): Promise<void> => {
    readiness.close();
    await probes.close();
  };
  let dashboard: Dashboard;
  try {
    dashboard = await startDashboard({
      host: config.DASHBOARD_HOST,
      port: config.DASHBOARD_PORT,
      queues: queues.partitions.flatMap(({ partition, intents, results }) => [
        { queue: intents, label: label(partition.prefix), description: 'order intents: one job drives one order (parked as delayed while it waits)' },
        { queue: results, label: label(partition.prefix), description: 'one result per merchant_order_id (codes hidden here)' },
      ]),
      logger,
      ops: { readiness, registry },
    });
  } catch (err) {
    await closeProbes();
    await queues.close();
    await redis.quit();
    throw err;
  }
  // Logged at info whatever LOG_LEVEL says: it is the line that says where to point a browser.
  logger.child({}, { level: 'info' }).info({ event: LOG_EVENT.dashboardListening, url: dashboard.url, prefix }, 'dashboard listening');
  return {
    url: dashboard.url,
    async close() {
      try {
        await dashboard.close();
      } finally {
        await closeProbes();
        await queues.close();
        await redis.quit();
      }
    },
  };
}
