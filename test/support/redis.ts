import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { inject } from 'vitest';

/** URL of the run's shared real Redis (see global-redis.ts). */
export function redisUrl(): string {
  return inject('redisUrl');
}

/** A prefix no other test uses, so queues and keys never collide. */
export function uniquePrefix(label = 't'): string {
  return `${label}-${randomUUID().slice(0, 8)}`;
}

/** A fresh ioredis connection to the shared test Redis. The caller must `quit()` it. */
export function connectRedis(url = redisUrl()): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, lazyConnect: false });
}

/** Delete every key under `prefix` (tests call this in afterEach/afterAll). */
export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
}
