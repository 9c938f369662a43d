import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OwnedKey } from '../../src/redis/owned-key.js';
import { connectRedis, deleteKeys, uniquePrefix } from '../support/redis.js';

describe('OwnedKey (the compare-and-delete locks and the heartbeat)', () => {
  let redis: Redis;
  let prefix: string;
  let key: string;

  beforeEach(() => {
    redis = connectRedis();
    prefix = uniquePrefix('own');
    key = `${prefix}:lock`;
  });

  afterEach(async () => {
    await deleteKeys(redis, prefix);
    await redis.quit();
  });

  it('acquires with its token and a PX lifetime; a second owner cannot while it holds the key', async () => {
    const first = new OwnedKey(redis, key, 5_000);
    const second = new OwnedKey(redis, key, 5_000);
    expect(first.token).not.toBe(second.token);
    expect(await first.acquire()).toBe(true);
    expect(await redis.get(key)).toBe(first.token);
    const ttl = await redis.pttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(5_000);
    expect(await second.acquire()).toBe(false);
    expect(await redis.get(key)).toBe(first.token);
  });

  it('releases only its own key, never one another owner took after it expired', async () => {
    const first = new OwnedKey(redis, key, 5_000);
    const second = new OwnedKey(redis, key, 5_000);
    await first.acquire();
    // The first owner's lock expired and the second took it.
    await redis.del(key);
    expect(await second.acquire()).toBe(true);
    expect(await first.release()).toBe(false);
    expect(await redis.get(key)).toBe(second.token);
    expect(await second.release()).toBe(true);
    expect(await redis.exists(key)).toBe(0);
    expect(await second.release()).toBe(false);
  });

  it('renews only while it holds the key', async () => {
    const first = new OwnedKey(redis, key, 60_000);
    await redis.set(key, first.token, 'PX', 1_000);
    expect(await first.renew()).toBe(true);
    expect(await redis.pttl(key)).toBeGreaterThan(1_000);
    await redis.set(key, 'someone-else', 'PX', 1_000);
    expect(await first.renew()).toBe(false);
    expect(await redis.pttl(key)).toBeLessThanOrEqual(1_000);
    await redis.del(key);
    expect(await first.renew()).toBe(false);
    expect(await redis.exists(key)).toBe(0);
  });

  it('claims the key whoever holds it, for another lifetime (a heartbeat beat)', async () => {
    const beat = new OwnedKey(redis, key, 3_000);
    await redis.set(key, 'another-receiver', 'PX', 100);
    await beat.claim();
    expect(await redis.get(key)).toBe(beat.token);
    expect(await redis.pttl(key)).toBeGreaterThan(100);
  });

  it('passes Redis errors on: each user decides what a failed lock command means', async () => {
    const dead = connectRedis();
    await dead.quit();
    const lock = new OwnedKey(dead, key, 1_000);
    await expect(lock.acquire()).rejects.toThrow();
    await expect(lock.release()).rejects.toThrow();
  });
});
