import { Cluster } from 'ioredis';
import type { Config } from '../config/config.js';
import { TransientError } from '../errors/errors.js';
import type { Logger } from '../logging/logger.js';
import {
  clusterAuthOptions,
  connectRedis,
  connectRedisCluster,
  connectRedisForCommand,
  connectRedisForProbes,
  type ConnectOptions,
  type RedisClient,
  type RedisClusterAuth,
} from './connect.js';
import { createRedisClusterErrorLog, createRedisErrorLog, type RedisErrorLog } from './redis-error-log.js';
import type { RedisNodeAddress } from './redis-node-address.js';

/**
 * Where a process's Redis is: one server (REDIS_URL) or a Redis Cluster known by its seed nodes
 * (REDIS_CLUSTER_NODES, with REDIS_CLUSTER_USERNAME / REDIS_CLUSTER_PASSWORD). Every process opens
 * its connections from one target, so all of them agree on the mode.
 */
export type RedisTarget =
  | { readonly kind: 'standalone'; readonly url: string }
  | { readonly kind: 'cluster'; readonly nodes: readonly RedisNodeAddress[]; readonly auth: RedisClusterAuth };

/** The target a validated config names: the cluster when REDIS_CLUSTER_NODES is set, else REDIS_URL. */
export function redisTargetOf(config: Pick<Config, 'REDIS_URL' | 'REDIS_CLUSTER_NODES' | 'REDIS_CLUSTER_USERNAME' | 'REDIS_CLUSTER_PASSWORD'>): RedisTarget {
  if (config.REDIS_CLUSTER_NODES === undefined) return { kind: 'standalone', url: config.REDIS_URL };
  return {
    kind: 'cluster',
    nodes: config.REDIS_CLUSTER_NODES,
    auth: {
      ...(config.REDIS_CLUSTER_USERNAME === undefined ? {} : { username: config.REDIS_CLUSTER_USERNAME }),
      ...(config.REDIS_CLUSTER_PASSWORD === undefined ? {} : { password: config.REDIS_CLUSTER_PASSWORD }),
    },
  };
}

/** True when the target is a cluster, whose keys must always be hash-tagged (partitionLayout's `hashTags`). */
export function needsHashTags(target: RedisTarget): boolean {
  return target.kind === 'cluster';
}

/** One error log for all of a process's connections to `target` (see createRedisErrorLog). */
export function redisErrorLogOf(target: RedisTarget, logger: Logger): RedisErrorLog {
  return target.kind === 'standalone' ? createRedisErrorLog(logger, target.url) : createRedisClusterErrorLog(logger, target.nodes);
}

/** A long-lived connection for BullMQ and the scripts ({@link connectRedis} or {@link connectRedisCluster}). */
export function openRedis(target: RedisTarget, logger: Logger, name: string, options: ConnectOptions = {}): RedisClient {
  return target.kind === 'standalone' ? connectRedis(target.url, logger, name, options) : connectRedisCluster(target.nodes, logger, name, { ...options, auth: target.auth });
}

/** How long a probe's command waits for its answer, in ms (as connectRedisForProbes). */
const PROBE_COMMAND_TIMEOUT_MS = 1_000;

/** A fail-fast connection for readiness and scrape-time gauges ({@link connectRedisForProbes}, or its cluster twin). */
export function openRedisForProbes(target: RedisTarget, name: string): RedisClient {
  if (target.kind === 'standalone') return connectRedisForProbes(target.url, name);
  const cluster = new Cluster(
    target.nodes.map(({ host, port }) => ({ host, port })),
    {
      enableOfflineQueue: false,
      enableReadyCheck: true,
      redisOptions: {
        maxRetriesPerRequest: 0,
        commandTimeout: PROBE_COMMAND_TIMEOUT_MS,
        connectTimeout: PROBE_COMMAND_TIMEOUT_MS,
        connectionName: name,
        ...clusterAuthOptions(target.auth),
      },
      clusterRetryStrategy: (times) => Math.min(50 * times, 1_000),
    },
  );
  cluster.on('error', () => undefined);
  cluster.on('node error', () => undefined);
  return cluster;
}

/** How long a one-shot command waits for the cluster to connect, and then for each answer, in ms. */
const COMMAND_TIMEOUT_MS = 5_000;

/** A connection for a one-shot CLI command ({@link connectRedisForCommand}, or its cluster twin: fails within seconds). */
export async function openRedisForCommand(target: RedisTarget, name: string, options: { blocking?: boolean } = {}): Promise<RedisClient> {
  if (target.kind === 'standalone') return connectRedisForCommand(target.url, name, options);
  const cluster = new Cluster(
    target.nodes.map(({ host, port }) => ({ host, port })),
    {
      lazyConnect: true,
      redisOptions: {
        connectionName: name,
        connectTimeout: COMMAND_TIMEOUT_MS,
        ...(options.blocking === true ? { maxRetriesPerRequest: null } : { commandTimeout: COMMAND_TIMEOUT_MS, maxRetriesPerRequest: 1 }),
        ...clusterAuthOptions(target.auth),
      },
      clusterRetryStrategy: () => null,
    },
  );
  let lastError: Error | undefined;
  cluster.on('error', (err: Error) => {
    lastError = err;
  });
  cluster.on('node error', () => undefined);
  try {
    await cluster.connect();
  } catch (err) {
    cluster.disconnect();
    const cause = lastError ?? err;
    const why = cause instanceof Error ? cause.message : String(cause);
    const seeds = target.nodes.map((n) => `${n.host}:${n.port}`).join(',');
    throw new TransientError(`cannot reach the Redis Cluster at ${seeds} (${why}): is REDIS_CLUSTER_NODES right and the cluster running?`, { cause });
  }
  return cluster;
}
