import { Queue, type ConnectionOptions } from 'bullmq';
import { partitionLayout, type Partition, type PartitionLayout } from '../redis/partitions.js';
import { INTENTS_QUEUE, RESULTS_QUEUE } from './queue-names.js';

/** One partition's queues. */
export interface PartitionQueues {
  readonly partition: Partition;
  /** Its `order-intents`. */
  readonly intents: Queue;
  /** Its `order-results`. */
  readonly results: Queue;
}

/** The queues of every partition of a fleet, and the routing of an order to its partition (this package's processes and tools). */
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
  /** Hash-tag the layout even with one partition (a Redis Cluster: REDIS_CLUSTER_NODES). Default false. */
  hashTags?: boolean;
}

/** Open the `order-intents` and `order-results` queues of every partition. */
export function openFleetQueues(options: FleetQueuesOptions): FleetQueues {
  const layout = partitionLayout(options.prefix, options.partitions, options.hashTags);
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
