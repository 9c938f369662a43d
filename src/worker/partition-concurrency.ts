/**
 * Jobs each partition's BullMQ Worker runs at once: ceil(WORKER_CONCURRENCY / QUEUE_PARTITIONS), at
 * least 1. A process may thus run up to `partitions - 1` jobs more than WORKER_CONCURRENCY when every
 * partition is busy; a backlog in one partition alone gets only its share.
 */
export function concurrencyPerPartition(concurrency: number, partitions: number): number {
  return Math.max(1, Math.ceil(concurrency / Math.max(1, partitions)));
}
