import type { Redis } from 'ioredis';
import { isClusterClient, type RedisClient } from './connect.js';
import { FulfillmentError } from '../errors/errors.js';
import type { Logger } from '../logging/logger.js';

/** Raised when the Redis a process was given cannot keep this system's promises. */
export class RedisUnsuitableError extends FulfillmentError {
  constructor(message: string) {
    super('redis_unsuitable', false, message);
  }
}

/** The oldest Redis this project runs on (BullMQ 5+ needs 6.2 commands and Lua behaviour). */
export const MIN_REDIS_VERSION = '6.2.0';

/** True when dotted version `a` is at least `b` (missing parts count as 0). */
export function versionAtLeast(a: string, b: string): boolean {
  const pa = a.split('.').map((n) => Number.parseInt(n, 10) || 0);
  const pb = b.split('.').map((n) => Number.parseInt(n, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? 0;
    const y = pb[i] ?? 0;
    if (x !== y) return x > y;
  }
  return true;
}

/** What a Redis says about itself that these checks judge. `null` where it refused to tell. */
export interface RedisFacts {
  version: string | null;
  maxmemoryPolicy: string | null;
  appendonly: string | null;
}

/**
 * Judge a Redis: the problems that must stop a process (an error message each) and the warnings it
 * should log. Pure, so every rule is unit-tested.
 * - `maxmemory-policy` other than `noeviction`: Redis may evict ledger records and tombstones under
 *   memory pressure, and an evicted tombstone lets a re-enqueued merchant_order_id get a second result.
 * - Redis older than 6.2: refused.
 * - AOF off: a restart loses what was written since the last snapshot (attempt records included).
 * - CONFIG GET refused (managed offerings): the settings cannot be checked; said once.
 */
export function judgeRedis(facts: RedisFacts): { problems: string[]; warnings: string[] } {
  const problems: string[] = [];
  const warnings: string[] = [];
  if (facts.version !== null && !versionAtLeast(facts.version, MIN_REDIS_VERSION)) {
    problems.push(`Redis ${facts.version} is older than ${MIN_REDIS_VERSION}, the oldest this system runs on`);
  }
  if (facts.maxmemoryPolicy === null) {
    warnings.push('CONFIG GET is not allowed, so maxmemory-policy and appendonly cannot be checked: make sure maxmemory-policy is noeviction and AOF is on');
  } else if (facts.maxmemoryPolicy !== 'noeviction') {
    problems.push(
      `maxmemory-policy is ${facts.maxmemoryPolicy}: Redis may evict ledger records and tombstones under memory pressure, ` +
        'and an evicted tombstone lets a re-enqueued merchant_order_id get a second result; set maxmemory-policy noeviction',
    );
  }
  if (facts.appendonly === 'no') {
    warnings.push('AOF is off (appendonly no): a Redis restart loses what was written since its last snapshot; turn appendonly on in production');
  }
  return { problems, warnings };
}

/** Read what {@link judgeRedis} needs. CONFIG GET may be refused (managed Redis): then null. */
export async function readRedisFacts(redis: Redis): Promise<RedisFacts> {
  const info = await redis.info('server');
  const version = /^redis_version:(\S+)/m.exec(info)?.[1] ?? null;
  let maxmemoryPolicy: string | null = null;
  let appendonly: string | null = null;
  try {
    const policy = (await redis.config('GET', 'maxmemory-policy')) as string[];
    const aof = (await redis.config('GET', 'appendonly')) as string[];
    maxmemoryPolicy = policy[1] ?? null;
    appendonly = aof[1] ?? null;
  } catch {
    // Refused (e.g. a managed Redis renames or forbids CONFIG): judged as unknown.
  }
  return { version, maxmemoryPolicy, appendonly };
}

/**
 * {@link judgeRedis} for a connection: the one Redis of REDIS_URL, or every primary of a Redis
 * Cluster (each holds its own slots' ledger records and must keep them), asked over the cluster's
 * own connection to it. A cluster's problems name the primary; warnings said once.
 */
export async function judgeRedisClient(redis: RedisClient): Promise<{ problems: string[]; warnings: string[] }> {
  if (!isClusterClient(redis)) return judgeRedis(await readRedisFacts(redis));
  // The cluster knows its primaries once it has read the slots: a first command waits for that.
  if (redis.nodes('master').length === 0) await redis.ping();
  const primaries = redis.nodes('master');
  if (primaries.length === 0) return { problems: ['the cluster has no primary to check'], warnings: [] };
  const judged = await Promise.all(
    primaries.map(async (node) => ({ where: `primary ${node.options.host ?? '?'}:${node.options.port ?? '?'}`, ...judgeRedis(await readRedisFacts(node)) })),
  );
  return {
    problems: judged.flatMap((j) => j.problems.map((problem) => `${j.where}: ${problem}`)),
    warnings: [...new Set(judged.flatMap((j) => j.warnings))],
  };
}

/** Check the Redis a process is given before it starts: throw on a problem, log each warning once. */
export async function checkRedisAtStartup(redis: RedisClient, logger: Logger): Promise<void> {
  const { problems, warnings } = await judgeRedisClient(redis);
  for (const warning of warnings) logger.warn({ check: 'redis' }, warning);
  const where = isClusterClient(redis) ? 'REDIS_CLUSTER_NODES' : 'REDIS_URL';
  if (problems.length > 0) throw new RedisUnsuitableError(`${where}: ${problems.join('; ')}`);
}
