import { createHash } from 'node:crypto';
import type { RedisClient } from './connect.js';

/**
 * A Lua script run by EVALSHA, falling back to EVAL when Redis does not have it cached (first use,
 * or after a restart). Hand-written rather than ioredis' defineCommand so the types stay honest and
 * no methods are grafted onto a shared connection.
 *
 * On a Redis Cluster the script runs on the primary serving its first key's hash slot, and every
 * key must be in that slot (give them one hash tag, `{…}`), or Redis answers CROSSSLOT. A replica
 * promoted by a failover has no cached scripts: the EVAL fallback covers that too.
 */
export class LuaScript {
  private readonly sha: string;

  constructor(private readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(redis: RedisClient, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (err instanceof Error && err.message.startsWith('NOSCRIPT')) {
        return redis.eval(this.source, keys.length, ...keys, ...args);
      }
      throw err;
    }
  }
}
