import { Queue, Worker, type ConnectionOptions, type Job, type WorkerOptions } from 'bullmq';
import type { OrderResult } from '../lifecycle/order-state.js';
import { partitionLayout, type Partition, type PartitionLayout } from '../redis/partitions.js';
import { INTENTS_QUEUE, RESULTS_QUEUE } from './queue-names.js';

/**
 * The BullMQ prefixes of the `order-intents`/`order-results` queue pairs of a fleet with
 * QUEUE_PREFIX `queuePrefix` and QUEUE_PARTITIONS `partitions` (default 1): `[queuePrefix]` with one
 * partition, else `{<queuePrefix>-0}` … `{<queuePrefix>-<K-1>}`. A consumer of results reads
 * `order-results` under every one of them.
 */
export function partitionPrefixes(queuePrefix: string, partitions = 1): string[] {
  return partitionLayout(queuePrefix, partitions).partitions.map((p) => p.prefix);
}

/** One partition's queues. */
export interface PartitionQueues {
  readonly partition: Partition;
  /** Its `order-intents`. */
  readonly intents: Queue;
  /** Its `order-results`. */
  readonly results: Queue;
}

/** The queues of every partition of a fleet, and the routing of an order to its partition. */
export interface FleetQueues {
  readonly layout: PartitionLayout;
  /** Every partition's queues, by partition index. */
  readonly partitions: readonly PartitionQueues[];
  /** The queues of the partition `merchantOrderId` routes to (`crc32(utf8(id)) mod K`). */
  forOrder(merchantOrderId: string): PartitionQueues;
  /** Close every queue (not a connection passed in). */
  close(): Promise<void>;
}

/** Options of {@link openFleetQueues}. */
export interface FleetQueuesOptions {
  /** A connection (shared by every queue) or connection options, as BullMQ's `connection`. */
  connection: ConnectionOptions;
  /** QUEUE_PREFIX. */
  prefix: string;
  /** QUEUE_PARTITIONS; default 1. */
  partitions?: number;
}

/** Open the `order-intents` and `order-results` queues of every partition. */
export function openFleetQueues(options: FleetQueuesOptions): FleetQueues {
  const layout = partitionLayout(options.prefix, options.partitions);
  const partitions = layout.partitions.map((partition) => ({
    partition,
    intents: new Queue(INTENTS_QUEUE, { connection: options.connection, prefix: partition.prefix }),
    results: new Queue(RESULTS_QUEUE, { connection: options.connection, prefix: partition.prefix }),
  }));
  return {
    layout,
    partitions,
    forOrder: (merchantOrderId) => partitions[layout.forOrder(merchantOrderId).index] as PartitionQueues,
    async close() {
      await Promise.all(partitions.flatMap((p) => [p.intents.close(), p.results.close()]));
    },
  };
}

/** Options of {@link consumeResults}: BullMQ worker options (concurrency is per partition) besides these. */
export interface ConsumeResultsOptions extends Omit<WorkerOptions, 'prefix'> {
  /** QUEUE_PREFIX. */
  prefix: string;
  /** QUEUE_PARTITIONS; default 1. */
  partitions?: number;
}

/**
 * Consume `order-results` of every partition: one BullMQ Worker per partition, each running
 * `handle` for its results (`options.concurrency` at once per partition). Each result is delivered
 * at least once (a consumer that dies mid-job gets it again): make `handle` idempotent by
 * merchant_order_id. Close every returned worker to stop.
 */
export function consumeResults(handle: (result: OrderResult, job: Job<OrderResult>) => Promise<void>, options: ConsumeResultsOptions): Worker<OrderResult>[] {
  const { prefix, partitions, ...workerOptions } = options;
  return partitionPrefixes(prefix, partitions).map(
    (partitionPrefix) => new Worker<OrderResult>(RESULTS_QUEUE, (job) => handle(job.data, job), { ...workerOptions, prefix: partitionPrefix }),
  );
}
