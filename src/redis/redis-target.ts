import { Cluster } from 'ioredis';
import type { Config } from '../config/config.js';
import { TransientError } from '../errors/errors.js';
import type { Logger } from '../logging/logger.js';
import {
  clusterAuthOptions,
  clusterTlsOptions,
  connectRedis,
  connectRedisCluster,
  connectRedisForCommand,
  connectRedisForProbes,
  type ConnectOptions,
  type RedisClient,
  type RedisClusterAuth,
  type RedisClusterTls,
} from './connect.js';
import { createRedisClusterErrorLog, createRedisErrorLog, type RedisErrorLog } from './redis-error-log.js';
import type { RedisNodeAddress } from './redis-node-address.js';
import { diagnoseTlsHandshake } from './tls-diagnosis.js';

/**
 * Where a process's Redis is: one server (REDIS_URL) or a Redis Cluster known by its seed nodes
 * (REDIS_CLUSTER_NODES, with REDIS_CLUSTER_USERNAME / REDIS_CLUSTER_PASSWORD, and TLS when
 * REDIS_CLUSTER_TLS is on: `tls` present). Every process opens
 * its connections from one target, so all of them agree on the mode.
 */
export type RedisTarget =
  | { readonly kind: 'standalone'; readonly url: string }
  | { readonly kind: 'cluster'; readonly nodes: readonly RedisNodeAddress[]; readonly auth: RedisClusterAuth; readonly tls?: RedisClusterTls };

/** The target a validated config names: the cluster when REDIS_CLUSTER_NODES is set, else REDIS_URL. */
export function redisTargetOf(config: Pick<Config, 'REDIS_URL' | 'REDIS_CLUSTER_NODES' | 'REDIS_CLUSTER_USERNAME' | 'REDIS_CLUSTER_PASSWORD' | 'REDIS_CLUSTER_TLS' | 'REDIS_CLUSTER_TLS_CA_FILE'>): RedisTarget {
  if (config.REDIS_CLUSTER_NODES === undefined) return { kind: 'standalone', url: config.REDIS_URL };
  return {
    kind: 'cluster',
    nodes: config.REDIS_CLUSTER_NODES,
    auth: {
      ...(config.REDIS_CLUSTER_USERNAME === undefined ? {} : { username: config.REDIS_CLUSTER_USERNAME }),
      ...(config.REDIS_CLUSTER_PASSWORD === undefined ? {} : { password: config.REDIS_CLUSTER_PASSWORD }),
    },
    ...(config.REDIS_CLUSTER_TLS ? { tls: config.REDIS_CLUSTER_TLS_CA_FILE === undefined ? {} : { ca: config.REDIS_CLUSTER_TLS_CA_FILE.pem } } : {}),
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
  return target.kind === 'standalone' ? connectRedis(target.url, logger, name, options) : connectRedisCluster(target.nodes, logger, name, { ...options, auth: target.auth, ...(target.tls === undefined ? {} : { tls: target.tls }) });
}

/** How long a probe's command waits for its answer, in ms (as connectRedisForProbes). */
const PROBE_COMMAND_TIMEOUT_MS = 1_000;

/** A fail-fast connection for readiness and scrape-time gauges ({@link connectRedisForProbes}, or its cluster twin). */
export function openRedisForProbes(target: RedisTarget, name: string): RedisClient {
  if (target.kind === 'standalone') return connectRedisForProbes(target.url, name);
  const tls = clusterTlsOptions(target.tls);
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
        ...tls.redisOptions,
      },
      ...tls.cluster,
      clusterRetryStrategy: (times) => Math.min(50 * times, 1_000),
    },
  );
  cluster.on('error', () => undefined);
  cluster.on('node error', () => undefined);
  return cluster;
}

/** How long a one-shot command waits for the cluster to connect, and then for each answer, in ms. */
const COMMAND_TIMEOUT_MS = 5_000;

/** How many distinct node error messages a failed one-shot connect reports. */
const NODE_ERRORS_KEPT = 4;

/** A connection for a one-shot CLI command ({@link connectRedisForCommand}, or its cluster twin: fails within seconds). */
export async function openRedisForCommand(target: RedisTarget, name: string, options: { blocking?: boolean } = {}): Promise<RedisClient> {
  if (target.kind === 'standalone') return connectRedisForCommand(target.url, name, options);
  const tls = clusterTlsOptions(target.tls);
  const cluster = new Cluster(
    target.nodes.map(({ host, port }) => ({ host, port })),
    {
      lazyConnect: true,
      redisOptions: {
        connectionName: name,
        connectTimeout: COMMAND_TIMEOUT_MS,
        ...(options.blocking === true ? { maxRetriesPerRequest: null } : { commandTimeout: COMMAND_TIMEOUT_MS, maxRetriesPerRequest: 1 }),
        ...clusterAuthOptions(target.auth),
        ...tls.redisOptions,
      },
      ...tls.cluster,
      clusterRetryStrategy: () => null,
    },
  );
  let lastError: Error | undefined;
  // The cluster's own error is only "Failed to refresh slots cache."; a node's says why (refused,
  // reset by a TLS port, certificate not trusted).
  // A refused certificate comes first, then "Connection is closed." for the command it failed: keep
  // each distinct message (a handful: one per node and kind at most).
  const nodeErrors = new Map<string, Error>();
  cluster.on('error', (err: Error) => {
    lastError = err;
  });
  cluster.on('node error', (err: Error) => {
    if (nodeErrors.size < NODE_ERRORS_KEPT && !nodeErrors.has(err.message)) nodeErrors.set(err.message, err);
  });
  try {
    await cluster.connect();
  } catch (err) {
    cluster.disconnect();
    const first = [...nodeErrors.values()][0];
    const cause = first ?? lastError ?? err;
    const seed = target.nodes[0];
    const tlsWhy = target.tls === undefined || seed === undefined ? undefined : await diagnoseTlsHandshake(seed, target.tls);
    const why = [lastError instanceof Error ? lastError.message : String(err), ...nodeErrors.keys(), ...(tlsWhy === undefined ? [] : [tlsWhy])].join(' ');
    const seeds = target.nodes.map((n) => `${n.host}:${n.port}`).join(',');
    const tls = target.tls === undefined ? 'REDIS_CLUSTER_TLS off' : 'REDIS_CLUSTER_TLS on';
    throw new TransientError(`cannot reach the Redis Cluster at ${seeds} (${why}): is REDIS_CLUSTER_NODES right (${tls}: do the nodes agree?) and the cluster running?`, { cause });
  }
  return cluster;
}
