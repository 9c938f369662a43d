import { randomUUID } from 'node:crypto';
import type { RedisClient } from './connect.js';
import { LuaScript } from './lua-script.js';

/** Delete KEYS[1] only while it still holds ARGV[1]. */
const DELETE_IF_VALUE = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);

/** Set KEYS[1]'s lifetime to ARGV[2] ms only while it still holds ARGV[1]. */
const PEXPIRE_IF_VALUE = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`);

/**
 * A Redis string key held by one owner: it holds the owner's random token and expires after
 * `ttlMs`, so an owner that crashes frees it by itself. The owner lets go (or extends it) only
 * while the key still holds its token, so it never frees or keeps alive one that someone else took
 * after its own expired. The locks of the token exchange and the balance read, and the webhook
 * receiver's heartbeat, are each one of these.
 *
 * Redis errors are passed on: each user decides what a failed lock command means to it.
 */
export class OwnedKey {
  /** This owner's value of the key. */
  readonly token: string;

  constructor(
    private readonly redis: RedisClient,
    readonly key: string,
    private readonly ttlMs: number,
    token: string = randomUUID(),
  ) {
    this.token = token;
  }

  /** Take the key if nobody holds it (`SET NX PX`). True when this owner now holds it. */
  async acquire(): Promise<boolean> {
    return (await this.redis.set(this.key, this.token, 'PX', this.ttlMs, 'NX')) === 'OK';
  }

  /** Take the key whoever holds it, for another `ttlMs` (`SET PX`): a heartbeat's beat. */
  async claim(): Promise<void> {
    await this.redis.set(this.key, this.token, 'PX', this.ttlMs);
  }

  /** Give the key another `ttlMs`, only while this owner holds it. True when it did. */
  async renew(): Promise<boolean> {
    return (await PEXPIRE_IF_VALUE.run(this.redis, [this.key], [this.token, this.ttlMs])) === 1;
  }

  /** Delete the key, only while this owner holds it. True when it did. */
  async release(): Promise<boolean> {
    return (await DELETE_IF_VALUE.run(this.redis, [this.key], [this.token])) === 1;
  }
}
