import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RedisTokenProvider, type AccessToken, type RedisTokenProviderOptions } from '../../src/api/token-provider.js';
import { InvalidCredentialsError, TransientError } from '../../src/errors/errors.js';
import { createLogger } from '../../src/logging/logger.js';
import { projectKeys } from '../../src/redis/keys.js';
import { connectRedis, deleteKeys, uniquePrefix } from '../support/redis.js';

const logger = createLogger({ level: 'silent', destination: { write: () => undefined } });

/** A counting stand-in for the API's token exchange (the provider's injected dependency). */
function fakeExchange(options: { delayMs?: number; ttlMs?: number; now?: () => number } = {}) {
  let count = 0;
  const exchange = async (): Promise<AccessToken> => {
    count += 1;
    const n = count;
    if (options.delayMs !== undefined) await new Promise((r) => setTimeout(r, options.delayMs));
    return { token: `token-${n}`, expiresAtMs: (options.now ?? Date.now)() + (options.ttlMs ?? 60_000) };
  };
  return { exchange, count: () => count };
}

/**
 * `redis` for a provider, counting its attempts to take the exchange lock (SET … NX) that found the
 * lock held by someone else.
 */
function lockAttempts(redis: Redis): { redis: Redis; readonly refused: number } {
  let refused = 0;
  const set = async (...args: unknown[]): Promise<unknown> => {
    const answer = await (redis.set as (...a: unknown[]) => Promise<unknown>).apply(redis, args);
    if (args.includes('NX') && answer === null) refused += 1;
    return answer;
  };
  const watched = new Proxy(redis, {
    get: (target, property, receiver) => (property === 'set' ? set : (Reflect.get(target, property, receiver) as unknown)),
  });
  return {
    redis: watched,
    get refused() {
      return refused;
    },
  };
}

describe('RedisTokenProvider', () => {
  let redis: Redis;
  let prefix: string;
  const extraConnections: Redis[] = [];

  beforeEach(() => {
    redis = connectRedis();
    prefix = uniquePrefix('tok');
  });

  afterEach(async () => {
    await deleteKeys(redis, prefix);
    await Promise.all([redis, ...extraConnections.splice(0)].map((r) => r.quit()));
  });

  function provider(overrides: Partial<RedisTokenProviderOptions> & Pick<RedisTokenProviderOptions, 'exchange'>): RedisTokenProvider {
    return new RedisTokenProvider({ redis, keyPrefix: prefix, refreshMarginMs: 1_000, logger, ...overrides });
  }

  it('exchanges once and serves later calls from its cache', async () => {
    const ex = fakeExchange();
    const tokens = provider({ exchange: ex.exchange });
    expect(await tokens.getToken()).toBe('token-1');
    expect(await tokens.getToken()).toBe('token-1');
    expect(ex.count()).toBe(1);
  });

  it('shares one exchange between 20 concurrent callers of a cold provider', async () => {
    const ex = fakeExchange({ delayMs: 50 });
    const tokens = provider({ exchange: ex.exchange });
    const results = await Promise.all(Array.from({ length: 20 }, () => tokens.getToken()));
    expect(new Set(results)).toEqual(new Set(['token-1']));
    expect(ex.count()).toBe(1);
  });

  it('stores the token in Redis as JSON that expires with the token', async () => {
    const ex = fakeExchange({ ttlMs: 30_000 });
    await provider({ exchange: ex.exchange }).getToken();
    const raw = await redis.get(projectKeys(prefix).token);
    expect(JSON.parse(raw ?? 'null')).toMatchObject({ token: 'token-1', expiresAtMs: expect.any(Number) as number, refreshAtMs: expect.any(Number) as number });
    const pttl = await redis.pttl(projectKeys(prefix).token);
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(30_000);
  });

  it('exchanges again once the token is within the refresh margin of its expiry', async () => {
    let clock = Date.now();
    const now = (): number => clock;
    const ex = fakeExchange({ ttlMs: 10_000, now });
    const tokens = provider({ exchange: ex.exchange, refreshMarginMs: 2_000, now });
    expect(await tokens.getToken()).toBe('token-1');
    clock += 7_999;
    expect(await tokens.getToken()).toBe('token-1');
    clock += 1;
    expect(await tokens.getToken()).toBe('token-2');
    expect(ex.count()).toBe(2);
  });

  it('keeps a token for half its life when the margin is longer than the lifetime', async () => {
    let clock = Date.now();
    const now = (): number => clock;
    const ex = fakeExchange({ ttlMs: 10_000, now });
    const tokens = provider({ exchange: ex.exchange, refreshMarginMs: 60_000, now });
    expect(await tokens.getToken()).toBe('token-1');
    clock += 4_999;
    expect(await tokens.getToken()).toBe('token-1');
    clock += 1;
    expect(await tokens.getToken()).toBe('token-2');
    expect(ex.count()).toBe(2);
  });

  it('accepts a shared token stored without refreshAtMs', async () => {
    const ex = fakeExchange();
    await redis.set(projectKeys(prefix).token, JSON.stringify({ token: 'plain', expiresAtMs: Date.now() + 60_000 }), 'PX', 60_000);
    expect(await provider({ exchange: ex.exchange }).getToken()).toBe('plain');
    expect(ex.count()).toBe(0);
  });

  it('lets a second process reuse the token the first one exchanged', async () => {
    const ex = fakeExchange();
    const other = connectRedis();
    extraConnections.push(other);
    expect(await provider({ exchange: ex.exchange }).getToken()).toBe('token-1');
    expect(await provider({ exchange: ex.exchange, redis: other }).getToken()).toBe('token-1');
    expect(ex.count()).toBe(1);
  });

  it('makes a cold fleet of five providers exchange exactly once', async () => {
    const ex = fakeExchange({ delayMs: 100 });
    const fleet = Array.from({ length: 5 }, () => {
      const connection = connectRedis();
      extraConnections.push(connection);
      return provider({ exchange: ex.exchange, redis: connection });
    });
    const results = await Promise.all(fleet.flatMap((p) => [p.getToken(), p.getToken()]));
    expect(new Set(results)).toEqual(new Set(['token-1']));
    expect(ex.count()).toBe(1);
  });

  describe('when a token is invalidated', () => {
    it('re-exchanges exactly once although two processes report the same rejected token', async () => {
      const ex = fakeExchange({ delayMs: 20 });
      const a = provider({ exchange: ex.exchange });
      const b = provider({ exchange: ex.exchange });
      expect(await a.getToken()).toBe('token-1');
      expect(await b.getToken()).toBe('token-1');

      await Promise.all([a.invalidate('token-1'), b.invalidate('token-1')]);
      const [fromA, fromB] = await Promise.all([a.getToken(), b.getToken()]);
      expect([fromA, fromB]).toEqual(['token-2', 'token-2']);
      expect(ex.count()).toBe(2);
    });

    it('leaves a newer token in Redis alone when a late report names the old one', async () => {
      const ex = fakeExchange();
      const a = provider({ exchange: ex.exchange });
      const b = provider({ exchange: ex.exchange });
      await b.getToken();
      await a.invalidate('token-1');
      expect(await a.getToken()).toBe('token-2');

      // b learns late that token-1 was rejected; token-2 must survive in Redis.
      await b.invalidate('token-1');
      expect(JSON.parse((await redis.get(projectKeys(prefix).token)) ?? 'null')).toMatchObject({ token: 'token-2' });
      expect(await b.getToken()).toBe('token-2');
      expect(ex.count()).toBe(2);
    });

    it('does not serve the rejected token from an exchange that was already in flight', async () => {
      const ex = fakeExchange({ delayMs: 50 });
      const tokens = provider({ exchange: ex.exchange });
      const inFlight = tokens.getToken();
      await tokens.invalidate('token-1');
      const after = tokens.getToken();
      expect(await inFlight).toBe('token-1');
      expect(await after).toBe('token-2');
    });
  });

  describe('when the exchange fails', () => {
    it('rejects with the typed error, caches nothing and frees the lock for the next try', async () => {
      let calls = 0;
      let clock = 1_000_000;
      const tokens = provider({
        now: () => clock,
        exchange: () => {
          calls += 1;
          if (calls === 1) return Promise.reject(new InvalidCredentialsError('API key rejected', { status: 401 }));
          return Promise.resolve({ token: 'token-ok', expiresAtMs: clock + 60_000 });
        },
      });
      await expect(tokens.getToken()).rejects.toBeInstanceOf(InvalidCredentialsError);
      expect(await redis.exists(projectKeys(prefix).token, projectKeys(prefix).tokenLock)).toBe(0);
      clock += 1_000;
      expect(await tokens.getToken()).toBe('token-ok');
      expect(calls).toBe(2);
    });
  });

  describe('when the API refuses the key', () => {
    it('answers callers with the same refusal for refusalMemoMs without exchanging again, then tries once more', async () => {
      let calls = 0;
      let clock = 1_000_000;
      const refusal = new InvalidCredentialsError('API key rejected', { status: 401 });
      const tokens = provider({
        now: () => clock,
        refusalMemoMs: 500,
        exchange: () => {
          calls += 1;
          return Promise.reject(refusal);
        },
      });
      await expect(tokens.getToken()).rejects.toBe(refusal);
      // Twenty jobs resuming one after another inside the memo: not one more exchange.
      for (let i = 0; i < 20; i++) {
        clock += 20;
        await expect(tokens.getToken()).rejects.toBe(refusal);
      }
      expect(calls).toBe(1);
      clock += 500;
      await expect(tokens.getToken()).rejects.toBe(refusal);
      expect(calls).toBe(2);
    });

    it('does not remember a failure worth retrying (503 on the exchange)', async () => {
      let calls = 0;
      const tokens = provider({
        exchange: () => {
          calls += 1;
          if (calls === 1) return Promise.reject(new TransientError('token answered 503', { status: 503 }));
          return Promise.resolve({ token: 'token-after-503', expiresAtMs: Date.now() + 60_000 });
        },
      });
      await expect(tokens.getToken()).rejects.toBeInstanceOf(TransientError);
      expect(await tokens.getToken()).toBe('token-after-503');
      expect(calls).toBe(2);
    });
  });

  describe('when another process holds the exchange lock', () => {
    it('waits for the token that process stores instead of exchanging itself', async () => {
      const ex = fakeExchange();
      await redis.set(projectKeys(prefix).tokenLock, 'someone-else', 'PX', 5_000);
      const lines: string[] = [];
      const debug = createLogger({ level: 'debug', destination: { write: (line: string) => void lines.push(line) } });
      const attempts = lockAttempts(redis);
      const waiting = provider({ exchange: ex.exchange, redis: attempts.redis, logger: debug }).getToken();
      // Only once it has found the lock taken is the provider waiting; a token stored before that
      // would be picked up on its first read and the wait never run.
      await expect.poll(() => attempts.refused, { timeout: 10_000 }).toBeGreaterThan(0);
      await redis.set(projectKeys(prefix).token, JSON.stringify({ token: 'from-elsewhere', expiresAtMs: Date.now() + 60_000 }), 'PX', 60_000);
      expect(await waiting).toBe('from-elsewhere');
      expect(ex.count()).toBe(0);
      expect(lines.some((line) => line.includes('access token received from another process'))).toBe(true);
    });

    it('exchanges itself once the lock of a crashed holder expires', async () => {
      const ex = fakeExchange();
      await redis.set(projectKeys(prefix).tokenLock, 'crashed', 'PX', 300);
      // The provider waits up to 2 × its lockTtlMs: ample time for the 300 ms lock to run out.
      expect(await provider({ exchange: ex.exchange, lockTtlMs: 2_000 }).getToken()).toBe('token-1');
      expect(ex.count()).toBe(1);
    });

    it('gives up with a transient error when the lock never frees and no token appears', async () => {
      const ex = fakeExchange();
      // A lock that outlives the provider's whole wait (twice its lockTtlMs).
      await redis.set(projectKeys(prefix).tokenLock, 'stuck', 'PX', 5_000);
      await expect(provider({ exchange: ex.exchange, lockTtlMs: 100 }).getToken()).rejects.toBeInstanceOf(TransientError);
      expect(ex.count()).toBe(0);
    });
  });
});
