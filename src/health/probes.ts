import { Queue } from 'bullmq';
import type { RedisClient } from '../redis/connect.js';
import { INTENTS_QUEUE, RESULTS_QUEUE } from '../queue/queue-names.js';
import { partitionLayout } from '../redis/partitions.js';
import { needsHashTags, openRedisForProbes, type RedisTarget } from '../redis/redis-target.js';

/** A process's fail-fast probe connection, with both queues of every partition on it for the gauges read at scrape time. */
export interface Probes {
  readonly redis: RedisClient;
  /** `order-intents` of each partition, by index. */
  readonly intents: readonly Queue[];
  /** `order-results` of each partition, by index. */
  readonly results: readonly Queue[];
  /** Close the queues and drop the connection. */
  close(): Promise<void>;
}

/**
 * Open the probe connection (connectRedisForProbes) named `name` and both queues of every partition
 * of `prefix` (QUEUE_PREFIX, with `partitions` = QUEUE_PARTITIONS) on it, so neither /readyz nor
 * /metrics ever waits through a Redis outage.
 */
export function openProbes(target: RedisTarget, name: string, prefix: string, partitions = 1): Probes {
  const redis = openRedisForProbes(target, name);
  const prefixes = partitionLayout(prefix, partitions, needsHashTags(target)).partitions.map((p) => p.prefix);
  const intents = prefixes.map((partitionPrefix) => new Queue(INTENTS_QUEUE, { connection: redis, prefix: partitionPrefix }));
  const results = prefixes.map((partitionPrefix) => new Queue(RESULTS_QUEUE, { connection: redis, prefix: partitionPrefix }));
  // Their failures show as readiness and as gauges left out of a scrape; without a listener BullMQ
  // would throw them as unhandled 'error' events.
  for (const queue of [...intents, ...results]) queue.on('error', () => undefined);
  return {
    redis,
    intents,
    results,
    async close() {
      await Promise.all([...intents, ...results].map((queue) => queue.close()));
      redis.disconnect();
    },
  };
}
