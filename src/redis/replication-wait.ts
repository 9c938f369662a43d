import type { Cluster, Redis } from 'ioredis';
import { TransientError } from '../errors/errors.js';
import type { Logger } from '../logging/logger.js';
import { isClusterClient, type RedisClient } from './connect.js';
import { hashSlot } from './hash-slot.js';

/** Options of {@link createReplicationWait}. */
export interface ReplicationWaitOptions {
  /**
   * The connection that wrote the attempt record: Redis's WAIT covers the writes of the connection
   * it is sent on, so it must be the ledger's. On a Cluster, WAIT goes over the cluster's own
   * connection to the primary serving the record key's slot: the one the write went over.
   */
  redis: RedisClient;
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
export function createReplicationWait(options: ReplicationWaitOptions): (recordKey?: string) => Promise<void> {
  const cacheMs = options.replicaCountCacheMs ?? 10_000;
  const now = options.now ?? Date.now;
  /** Per primary (`host:port`, or '' for a single Redis): its connected replicas, read until when. */
  const readings = new Map<string, { connected: number; readUntilMs: number }>();
  let toldNoReplicas = false;
  return async (recordKey) => {
    if (options.replicas === 0) return;
    const { node, where } = primaryFor(options.redis, recordKey);
    let reading = readings.get(where);
    if (reading === undefined || now() >= reading.readUntilMs) {
      reading = { connected: connectedReplicas(await node.info('replication')), readUntilMs: now() + cacheMs };
      readings.set(where, reading);
    }
    const connected = reading.connected;
    if (connected === 0) {
      if (!toldNoReplicas) {
        toldNoReplicas = true;
        options.logger.info({ ...(where === '' ? {} : { redis: where }) }, 'Redis has no replica connected: attempt records are not waited for (REDIS_WAIT_REPLICAS)');
      }
      return;
    }
    toldNoReplicas = false;
    const needed = Math.min(options.replicas, connected);
    const acknowledged = Number(await node.call('WAIT', needed, options.timeoutMs));
    if (acknowledged < needed) {
      // Read the count again next time: a replica may have gone for good.
      readings.delete(where);
      throw new TransientError(
        `the attempt record was acknowledged by ${acknowledged} of ${needed} replica(s) within ${options.timeoutMs} ms (REDIS_WAIT_REPLICAS, REDIS_WAIT_TIMEOUT_MS): the create is not sent yet`,
      );
    }
  };
}

/**
 * The connection WAIT goes on: a single Redis's own, or the Cluster's connection to the primary it
 * routes `recordKey`'s slot to now (ioredis keeps one connection per node and sends a slot's commands
 * over it, so the write being awaited went over the same one). No known primary for the slot (slots
 * being refreshed in a failover): a TransientError, so the create waits for a later try.
 */
function primaryFor(redis: RedisClient, recordKey: string | undefined): { node: Redis; where: string } {
  if (!isClusterClient(redis)) return { node: redis, where: '' };
  if (recordKey === undefined) throw new TypeError('a replication wait on a Redis Cluster needs the key of the awaited write');
  const where = clusterPrimaryKey(redis, recordKey);
  const node = where === undefined ? undefined : redis.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === where);
  if (where === undefined || node === undefined) {
    throw new TransientError(`no known primary serves the attempt record's hash slot (a failover under way?): the create is not sent yet`);
  }
  return { node, where };
}

/** `host:port` of the primary the Cluster routes `key`'s slot to, if it knows one. */
function clusterPrimaryKey(cluster: Cluster, key: string): string | undefined {
  return cluster.slots[hashSlot(key)]?.[0];
}
