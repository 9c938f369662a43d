import { LOG_EVENT } from '../logging/log-events.js';
import type { Logger } from '../logging/logger.js';
import { throttledWarning } from '../logging/repeat-throttle.js';
import type { RedisNodeAddress } from './redis-node-address.js';

/** How often a process repeats one kind of Redis connection error while it lasts, in ms. */
const REDIS_ERROR_WINDOW_MS = 60_000;

/** Where a process reports its Redis connections' errors; see {@link createRedisErrorLog}. */
export type RedisErrorLog = (err: Error, connection: string) => void;

/** Options of {@link createRedisErrorLog}. */
export interface RedisErrorLogOptions {
  /** At most one line per kind of error per this many ms. Default 60 000. */
  windowMs?: number;
  /** Clock, epoch ms (tests pass their own). */
  now?: () => number;
}

/** `host:port` of a Redis URL, without any password it carries. */
export function redisWhere(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port === '' ? '6379' : parsed.port}`;
}

/**
 * One process's report of its Redis connections' errors, shared by all of them: a Redis that is
 * away fails every connection, and each retries every 2 s, so one line says where the process
 * looked and what to check (REDIS_URL), then one per kind of error per window counts the rest.
 */
export function createRedisErrorLog(logger: Logger, url: string, options: RedisErrorLogOptions = {}): RedisErrorLog {
  return errorLogAt(logger, redisWhere(url), 'REDIS_URL', options);
}

/** {@link createRedisErrorLog} for a Redis Cluster known by its seed nodes (REDIS_CLUSTER_NODES). */
export function createRedisClusterErrorLog(logger: Logger, seeds: readonly RedisNodeAddress[], options: RedisErrorLogOptions = {}): RedisErrorLog {
  return errorLogAt(logger, `cluster ${seeds.map((n) => `${n.host}:${n.port}`).join(',')}`, 'REDIS_CLUSTER_NODES', options);
}

function errorLogAt(logger: Logger, where: string, variable: string, options: RedisErrorLogOptions): RedisErrorLog {
  const warn = throttledWarning(logger, `redis connection error at ${where}: reconnecting (is ${variable} right and Redis running?)`, {
    windowMs: options.windowMs ?? REDIS_ERROR_WINDOW_MS,
    now: options.now,
  });
  return (err, connection) => warn({ event: LOG_EVENT.redisError, err, connection, redis: where });
}
