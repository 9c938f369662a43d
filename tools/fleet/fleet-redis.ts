import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { FleetError } from './fleet-error.js';
import { hasRedisServer, startPrivateRedis, type PrivateRedis } from './private-redis.js';

/** How the fleet finds its Redis. */
export interface FleetRedisOptions {
  /** A Redis to use when it answers PING (e.g. `process.env.REDIS_URL`). */
  url?: string;
  /**
   * `auto` (default): `url` when it answers, else a private redis-server. `url`: only `url` (fail
   * when it does not answer). `private`: always a private redis-server (chaos runs that restart Redis).
   */
  mode?: 'auto' | 'url' | 'private';
  /** Persist the private redis-server with AOF so a restart keeps the data. Default false. */
  appendOnly?: boolean;
  /** How long `url` has to answer PING, in ms. Default 1000. */
  pingTimeoutMs?: number;
}

/** The Redis a fleet runs on. */
export interface FleetRedis {
  url: string;
  /** The redis-server the fleet started (and destroys on close), or null when `url` was reused. */
  server: PrivateRedis | null;
}

const INSTALL_HINT =
  'install redis-server (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis) or set REDIS_URL to a running Redis';

/** `redis://host:port/db` without user or password, fit for messages. */
export function redisUrlForDisplay(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return '(unparsable Redis URL)';
  }
}

/** True when a Redis at `url` answers PING within `timeoutMs`. Never throws. */
export async function redisAnswers(url: string, timeoutMs: number): Promise<boolean> {
  let redis: Redis;
  try {
    redis = new Redis(url, {
      lazyConnect: true,
      connectTimeout: timeoutMs,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    });
  } catch {
    return false;
  }
  // A refused connection is the answer we are asking for, not something to report.
  redis.on('error', () => {});
  const settled = new AbortController();
  const timeout = sleep(timeoutMs, false, { signal: settled.signal });
  const ping = (async () => {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  })().catch(() => false);
  try {
    return await Promise.race([ping, timeout]);
  } finally {
    // Ends the timer; the race has already settled, so the rejection it causes goes nowhere.
    settled.abort();
    redis.disconnect();
  }
}

/** Reuse the given Redis when it answers, else start a private one; fail saying what to install. */
export async function resolveFleetRedis(options: FleetRedisOptions = {}): Promise<FleetRedis> {
  const mode = options.mode ?? 'auto';
  const url = options.url;
  if (mode !== 'private' && url !== undefined && url !== '') {
    if (await redisAnswers(url, options.pingTimeoutMs ?? 1_000)) return { url, server: null };
    if (mode === 'url') throw new FleetError(`Redis at ${redisUrlForDisplay(url)} does not answer PING`);
  } else if (mode === 'url') {
    throw new FleetError('no Redis URL given');
  }
  if (!hasRedisServer()) {
    const tried = url === undefined || url === '' ? 'no REDIS_URL is set' : `REDIS_URL (${redisUrlForDisplay(url)}) does not answer`;
    throw new FleetError(`No Redis for the fleet: ${tried} and redis-server is not on PATH: ${INSTALL_HINT}`);
  }
  const server = await startPrivateRedis({ appendOnly: options.appendOnly ?? false });
  return { url: server.url, server };
}

/** Delete every key under `${prefix}:` (BullMQ's queues and this project's own keys). */
export async function deletePrefixKeys(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}
