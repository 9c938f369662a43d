import { Cluster, Redis } from 'ioredis';
import { TransientError } from '../errors/errors.js';
import { LOG_EVENT } from '../logging/log-events.js';
import type { Logger } from '../logging/logger.js';
import { createRedisClusterErrorLog, createRedisErrorLog, redisWhere, type RedisErrorLog } from './redis-error-log.js';
import type { RedisNodeAddress } from './redis-node-address.js';

/** A connection to one Redis server or to a Redis Cluster: what BullMQ and {@link LuaScript} take. */
export type RedisClient = Redis | Cluster;

/** True when `client` is a Redis Cluster connection (ioredis' own `isCluster` flag does not narrow the type). */
export function isClusterClient(client: RedisClient): client is Cluster {
  return client instanceof Cluster;
}

/** Options of {@link connectRedis}. */
export interface ConnectOptions {
  /**
   * Fail a command that gets no answer within this many ms (and after one reconnect try) instead
   * of waiting through the outage. For processes that serve people (the dashboard); workers and the
   * receiver leave it unset so their commands ride out a Redis restart.
   */
  commandTimeoutMs?: number;
  /**
   * Where connection errors go; pass one log to all of a process's connections so an outage is one
   * line, not one per connection. Default: a log of this connection's own.
   */
  errorLog?: RedisErrorLog;
  /** Credentials sent to every node of a cluster (REDIS_CLUSTER_USERNAME, REDIS_CLUSTER_PASSWORD); a single Redis takes them from its URL. */
  auth?: RedisClusterAuth;
  /** TLS to every node of a cluster (REDIS_CLUSTER_TLS, REDIS_CLUSTER_TLS_CA_FILE); unset: plain TCP. A single Redis takes it from a `rediss://` URL. */
  tls?: RedisClusterTls;
}

/** TLS to every node of a Redis Cluster. */
export interface RedisClusterTls {
  /** PEM CA bundle the nodes' certificates chain to; unset: Node's built-in public CAs. */
  ca?: string;
}

/** ACL credentials for every node of a Redis Cluster. */
export interface RedisClusterAuth {
  /** ACL user; unset: the default user. */
  username?: string;
  /** Password; unset: none. */
  password?: string;
}

/** ioredis options carrying `auth` (nothing when unset, so no empty AUTH is sent). */
export function clusterAuthOptions(auth: RedisClusterAuth | undefined): { username?: string; password?: string } {
  return {
    ...(auth?.username === undefined ? {} : { username: auth.username }),
    ...(auth?.password === undefined ? {} : { password: auth.password }),
  };
}

/**
 * Cluster options for `tls` (nothing when unset). Each node's certificate is checked against the
 * host it is reached by (Node's default). No SNI is sent: ioredis shares one `tls` object across
 * all nodes and passes no `servername`; managed services verify without it.
 * ioredis would resolve seed host names to IPs first and then check the certificate against the
 * IP, which fails for a certificate issued to names (managed services): `dnsLookup` hands the
 * name through and lets the TLS connection resolve it.
 */
export function clusterTlsOptions(tls: RedisClusterTls | undefined): {
  redisOptions: { tls?: { ca?: string } };
  cluster: { dnsLookup?: (address: string, callback: (err: Error | null, address: string) => void) => void };
} {
  if (tls === undefined) return { redisOptions: {}, cluster: {} };
  return {
    redisOptions: { tls: tls.ca === undefined ? {} : { ca: tls.ca } },
    cluster: { dnsLookup: (address, callback) => callback(null, address) },
  };
}

/**
 * A connection for BullMQ and our own scripts. `maxRetriesPerRequest: null` makes commands wait
 * through a Redis restart instead of failing, which is what lets workers ride one out.
 */
export function connectRedis(url: string, logger: Logger, name: string, options: ConnectOptions = {}): Redis {
  const failFast = options.commandTimeoutMs !== undefined;
  const redis = new Redis(url, {
    maxRetriesPerRequest: failFast ? 1 : null,
    ...(failFast ? { commandTimeout: options.commandTimeoutMs } : {}),
    enableReadyCheck: true,
    connectionName: name,
    // Reconnect quickly at first, then settle at 2 s while Redis is away.
    retryStrategy: (times) => Math.min(50 * times, 2_000),
  });
  const errorLog = options.errorLog ?? createRedisErrorLog(logger, url);
  let down = false;
  redis.on('error', (err: Error) => {
    errorLog(err, name);
    down = true;
  });
  redis.on('ready', () => {
    if (down) logger.info({ event: LOG_EVENT.redisRestored, connection: name }, 'redis connection restored');
    down = false;
  });
  return redis;
}

/** Delay between two tries of a command whose slot has no reachable primary (failover under way), in ms. */
const CLUSTER_RETRY_DELAY_MS = 100;
/**
 * How long a worker's command waits for a failover to end (a replica promoted after its primary
 * died), in ms: the primary is declared failed after the cluster's `cluster-node-timeout` (15 s by
 * default) and the election takes a little more. Past this the command fails, and BullMQ retries the job.
 */
const CLUSTER_FAILOVER_RIDE_OUT_MS = 30_000;

/**
 * A Redis Cluster connection for BullMQ and our own scripts, from its seed nodes (it learns the
 * rest). Like {@link connectRedis}: `maxRetriesPerRequest: null` on every node, no ioredis
 * `keyPrefix` (BullMQ refuses one). A command meant for a primary that died is tried again every
 * 100 ms until a replica has taken over, for up to about 30 s (ioredis' default gives up after
 * about 1.6 s, which a failover never fits in); with `commandTimeoutMs` it gives up after ioredis'
 * default 16 tries instead.
 *
 * Every key a script or transaction touches must share one hash slot: the partition layout's hash
 * tags (src/redis/partitions.ts) see to that.
 */
export function connectRedisCluster(nodes: readonly RedisNodeAddress[], logger: Logger, name: string, options: ConnectOptions = {}): Cluster {
  const failFast = options.commandTimeoutMs !== undefined;
  const tls = clusterTlsOptions(options.tls);
  const cluster = new Cluster(
    nodes.map(({ host, port }) => ({ host, port })),
    {
      redisOptions: {
        maxRetriesPerRequest: failFast ? 1 : null,
        ...(failFast ? { commandTimeout: options.commandTimeoutMs } : {}),
        enableReadyCheck: true,
        connectionName: name,
        ...clusterAuthOptions(options.auth),
        ...tls.redisOptions,
      },
      ...tls.cluster,
      enableReadyCheck: true,
      retryDelayOnFailover: CLUSTER_RETRY_DELAY_MS,
      retryDelayOnClusterDown: CLUSTER_RETRY_DELAY_MS,
      retryDelayOnTryAgain: CLUSTER_RETRY_DELAY_MS,
      ...(failFast ? {} : { maxRedirections: Math.ceil(CLUSTER_FAILOVER_RIDE_OUT_MS / CLUSTER_RETRY_DELAY_MS) }),
      // Reconnect to the seeds quickly at first, then every 2 s while the whole cluster is away.
      clusterRetryStrategy: (times) => Math.min(50 * times, 2_000),
    },
  );
  const errorLog = options.errorLog ?? createRedisClusterErrorLog(logger, nodes);
  let down = false;
  // 'node error': one node's connection failed (a dead primary, while its replica takes over); the
  // cluster stays ready. 'error': the cluster's own (no node answers); 'ready' follows its return.
  cluster.on('node error', (err: Error) => errorLog(err, name));
  cluster.on('error', (err: Error) => {
    errorLog(err, name);
    down = true;
  });
  cluster.on('ready', () => {
    if (down) logger.info({ event: LOG_EVENT.redisRestored, connection: name }, 'redis connection restored');
    down = false;
  });
  return cluster;
}

/** How long a probe's command (health, scrape-time gauges) waits for its answer, in ms. */
const PROBE_COMMAND_TIMEOUT_MS = 1_000;

/**
 * A connection for probes: readiness PINGs and the gauges read at scrape time. Unlike a worker's
 * connections it never waits through an outage: with Redis away a command fails at once (no offline
 * queue) or within a second (no answer), which is what lets readiness turn false within seconds.
 * Its connection errors are left to the process's other connections to report.
 */
export function connectRedisForProbes(url: string, name: string): Redis {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: PROBE_COMMAND_TIMEOUT_MS,
    connectTimeout: PROBE_COMMAND_TIMEOUT_MS,
    enableReadyCheck: true,
    connectionName: name,
    retryStrategy: (times) => Math.min(50 * times, 1_000),
  });
  redis.on('error', () => undefined);
  return redis;
}

/** How long a one-shot command waits for Redis to connect, and then for each answer, in ms. */
const COMMAND_TIMEOUT_MS = 5_000;

/**
 * A connection for a one-shot CLI command (enqueue, status). Unlike a worker's, it does not wait
 * through an outage: a Redis that does not answer within a few seconds fails the command with a
 * message naming where it looked, instead of leaving an operator's terminal hanging.
 */
export async function connectRedisForCommand(url: string, name: string, options: { blocking?: boolean } = {}): Promise<Redis> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectionName: name,
    connectTimeout: COMMAND_TIMEOUT_MS,
    // A blocking reader (BullMQ's QueueEvents, bounded by the command's own timeout) waits longer
    // than one answer may take, and BullMQ requires it to retry without limit.
    ...(options.blocking === true ? { maxRetriesPerRequest: null } : { commandTimeout: COMMAND_TIMEOUT_MS, maxRetriesPerRequest: 1 }),
    retryStrategy: () => null,
  });
  // Kept for the message below (connect() itself rejects with a bare "Connection is closed.");
  // without a listener ioredis would also print every error raw.
  let lastError: Error | undefined;
  redis.on('error', (err: Error) => {
    lastError = err;
  });
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    const cause = lastError ?? err;
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new TransientError(`cannot reach Redis at ${redisWhere(url)} (${why}): is REDIS_URL right and Redis running?`, { cause });
  }
  return redis;
}

/** Close a command's connection; when Redis is already gone, drop it rather than hide the command's own error. */
export async function closeCommandConnection(redis: RedisClient): Promise<void> {
  try {
    await redis.quit();
  } catch {
    redis.disconnect();
  }
}
