import type { Job, Worker, WorkerOptions } from 'bullmq';
import type { OrderResult } from '../lifecycle/order-state.js';
import { partitionLayout } from '../redis/partitions.js';
import { RESULTS_QUEUE } from './queue-names.js';

/**
 * The BullMQ prefixes of a fleet's queue pairs (`order-intents` and `order-results`), in partition
 * order, for QUEUE_PREFIX `queuePrefix` and QUEUE_PARTITIONS `partitions` (default 1):
 * `[queuePrefix]` with one partition, else `{<queuePrefix>-0}` … `{<queuePrefix>-<K-1>}`. Producers
 * open `order-intents` under each and route by `partitionOf`; consumers read `order-results` under
 * every one. `hashTags` (a fleet on a Redis Cluster) gives `{<queuePrefix>-0}` with one partition too.
 */
export function partitionPrefixes(queuePrefix: string, partitions = 1, hashTags = false): string[] {
  return partitionLayout(queuePrefix, partitions, hashTags).partitions.map((p) => p.prefix);
}

/** Options of {@link consumeResults}: BullMQ worker options (`concurrency` is per partition) besides these. */
export interface ConsumeResultsOptions extends Omit<WorkerOptions, 'prefix'> {
  /** QUEUE_PREFIX of the fleet. */
  prefix: string;
  /** QUEUE_PARTITIONS of the fleet; default 1. */
  partitions?: number;
  /** True when the fleet runs on a Redis Cluster (REDIS_CLUSTER_NODES set): its prefixes are hash-tagged even with one partition. */
  hashTags?: boolean;
}

/**
 * Consume `order-results` of every partition: one BullMQ Worker per partition, each running
 * `handle` on its results (`options.concurrency` at once per partition). A result may be handed
 * over more than once (a consumer that dies mid-job gets it again): make `handle` idempotent by
 * merchant_order_id. Loads bullmq when called (the package root loads no queue library at import).
 * Close every returned worker to stop.
 */
export async function consumeResults(handle: (result: OrderResult, job: Job<OrderResult>) => Promise<void>, options: ConsumeResultsOptions): Promise<Worker<OrderResult>[]> {
  const { Worker: BullWorker } = await import('bullmq');
  const { prefix, partitions, hashTags, ...workerOptions } = options;
  return partitionPrefixes(prefix, partitions, hashTags).map(
    (partitionPrefix) => new BullWorker<OrderResult>(RESULTS_QUEUE, (job) => handle(job.data, job), { ...workerOptions, prefix: partitionPrefix }),
  );
}
