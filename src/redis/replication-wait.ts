import type { Redis } from 'ioredis';
import { TransientError } from '../errors/errors.js';
import type { Logger } from '../logging/logger.js';

/** Options of {@link createReplicationWait}. */
export interface ReplicationWaitOptions {
  /**
   * The connection that wrote the attempt record: Redis's WAIT covers the writes of the connection
   * it is sent on, so it must be the ledger's.
   */
  redis: Redis;
  /** Replicas that must acknowledge (REDIS_WAIT_REPLICAS); 0 turns the wait off. */
  replicas: number;
  /** Longest wait for their acknowledgement, in ms (REDIS_WAIT_TIMEOUT_MS). */
  timeoutMs: number;
  logger: Logger;
  /** How long a reading of the primary's connected replicas is reused, in ms. Default 10 000. */
  replicaCountCacheMs?: number;
  /** Clock, epoch ms. */
  now?: () => number;
}

/** Connected replicas as `INFO replication` reports them (0 for a replica or an unreadable answer). */
export function connectedReplicas(info: string): number {
  const match = /^connected_slaves:(\d+)\s*$/m.exec(info);
  return match?.[1] === undefined ? 0 : Number(match[1]);
}

/**
 * Make the ledger's last writes survive a failover before money may move. Redis replicates
 * asynchronously: a write a primary acknowledged can be lost when its replica takes over, and a
 * lost attempt record would make the retry after a failover look like a first clean attempt, so a
 * charged order could end `rejected`. The returned function sends WAIT on the ledger's connection
 * and throws a retryable TransientError (the create is then not sent, and retried later) when too
 * few replicas acknowledged in time. With no replica connected there is nothing to wait for: it
 * returns at once (a standalone Redis without replicas, as in development).
 */
export function createReplicationWait(options: ReplicationWaitOptions): () => Promise<void> {
  const cacheMs = options.replicaCountCacheMs ?? 10_000;
  const now = options.now ?? Date.now;
  let connected = 0;
  let readUntilMs = 0;
  let toldNoReplicas = false;
  return async () => {
    if (options.replicas === 0) return;
    if (now() >= readUntilMs) {
      connected = connectedReplicas(await options.redis.info('replication'));
      readUntilMs = now() + cacheMs;
    }
    if (connected === 0) {
      if (!toldNoReplicas) {
        toldNoReplicas = true;
        options.logger.info('Redis has no replica connected: attempt records are not waited for (REDIS_WAIT_REPLICAS)');
      }
      return;
    }
    toldNoReplicas = false;
    const needed = Math.min(options.replicas, connected);
    const acknowledged = Number(await options.redis.call('WAIT', needed, options.timeoutMs));
    if (acknowledged < needed) {
      // Read the count again next time: a replica may have gone for good.
      readUntilMs = 0;
      throw new TransientError(
        `the attempt record was acknowledged by ${acknowledged} of ${needed} replica(s) within ${options.timeoutMs} ms (REDIS_WAIT_REPLICAS, REDIS_WAIT_TIMEOUT_MS): the create is not sent yet`,
      );
    }
  };
}
