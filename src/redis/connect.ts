import { Redis } from 'ioredis';
import type { Logger } from '../logging/logger.js';

/**
 * A connection for BullMQ and our own scripts. `maxRetriesPerRequest: null` makes commands wait
 * through a Redis restart instead of failing, which is what lets workers ride one out.
 */
export function connectRedis(url: string, logger: Logger, name: string): Redis {
  const redis = new Redis(url, {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    connectionName: name,
    // Reconnect quickly at first, then settle at 2 s while Redis is away.
    retryStrategy: (times) => Math.min(50 * times, 2_000),
  });
  let down = false;
  redis.on('error', (err: Error) => {
    if (!down) logger.warn({ err, connection: name }, 'redis connection error: reconnecting');
    down = true;
  });
  redis.on('ready', () => {
    if (down) logger.info({ connection: name }, 'redis connection restored');
    down = false;
  });
  return redis;
}
