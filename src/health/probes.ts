import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { INTENTS_QUEUE, RESULTS_QUEUE } from '../queue/queue-names.js';
import { connectRedisForProbes } from '../redis/connect.js';

/** A process's fail-fast probe connection, with both queues on it for the gauges read at scrape time. */
export interface Probes {
  readonly redis: Redis;
  readonly intents: Queue;
  readonly results: Queue;
  /** Close the queues and drop the connection. */
  close(): Promise<void>;
}

/**
 * Open the probe connection (connectRedisForProbes) named `name` and both queues of `prefix` on it,
 * so neither /readyz nor /metrics ever waits through a Redis outage.
 */
export function openProbes(url: string, name: string, prefix: string): Probes {
  const redis = connectRedisForProbes(url, name);
  const intents = new Queue(INTENTS_QUEUE, { connection: redis, prefix });
  const results = new Queue(RESULTS_QUEUE, { connection: redis, prefix });
  // Their failures show as readiness and as gauges left out of a scrape; without a listener BullMQ
  // would throw them as unhandled 'error' events.
  for (const queue of [intents, results]) queue.on('error', () => undefined);
  return {
    redis,
    intents,
    results,
    async close() {
      await Promise.all([intents.close(), results.close()]);
      redis.disconnect();
    },
  };
}
