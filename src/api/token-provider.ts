import { setTimeout as sleep } from 'node:timers/promises';
import type { RedisClient } from '../redis/connect.js';
import { FulfillmentError, TransientError } from '../errors/errors.js';
import { projectKeys } from '../redis/keys.js';
import { LuaScript } from '../redis/lua-script.js';
import { OwnedKey } from '../redis/owned-key.js';
import type { Logger } from '../logging/logger.js';

/** An access token and when it stops working. */
export interface AccessToken {
  /** The bearer token. A credential: never log it. */
  token: string;
  /** Expiry, epoch ms. */
  expiresAtMs: number;
}

/** Exchanges the API key for a new access token (one `POST /auth/token/client`). */
export type TokenExchange = () => Promise<AccessToken>;

/** Hands out a valid access token, exchanging the API key only when needed. */
export interface TokenProvider {
  /** A token believed valid for at least the refresh margin. Exchange failures reject with the client's typed errors. */
  getToken(): Promise<string>;
  /**
   * Report that the API answered 401 to `token`. Forgets it here and in the shared store, but only
   * if the store still holds that very token, so a fleet that sees one token rejected exchanges once.
   */
  invalidate(token: string): Promise<void>;
}

/** Options of {@link RedisTokenProvider}. */
export interface RedisTokenProviderOptions {
  /** Shared store; the caller owns (and closes) the connection. */
  redis: RedisClient;
  /** Prefix of this project's Redis keys; the token lives at `projectKeys(keyPrefix).token` as JSON `{token, expiresAtMs, refreshAtMs}`. */
  keyPrefix: string;
  /** Performs the actual exchange. */
  exchange: TokenExchange;
  /** Exchange again this long before expiry, in ms (at most half the token's lifetime is given up). */
  refreshMarginMs: number;
  /** Clock, epoch ms. Default `Date.now`. */
  now?: () => number;
  logger: Logger;
  /** How long the exchange lock is held at most, in ms (a crashed holder frees it after this). Default 15000. */
  lockTtlMs?: number;
  /** How often a process waiting for another's exchange looks for the result, in ms. Default 50. */
  pollIntervalMs?: number;
  /**
   * After the API refused the key (a non-retryable exchange error: invalid key, 403), callers get
   * that same error for this long, in ms, without another exchange. Default 1000. Keep it under the
   * fleet's pause after a refusal (AUTH_FAILURE_PAUSE_MS), so each pause round tries the key once.
   */
  refusalMemoMs?: number;
}

/** Compare-and-delete of the shared token: only when the stored JSON still holds ARGV[1]. */
const DELETE_IF_TOKEN = new LuaScript(`
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local ok, value = pcall(cjson.decode, raw)
if (not ok) or type(value) ~= 'table' or value.token == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`);

// Enough to recognise the few tokens rejected recently; older ones have expired anyway.
const REMEMBERED_REJECTIONS = 16;

/** A token as cached and shared: `refreshAtMs` is when to exchange again, epoch ms. */
interface HeldToken extends AccessToken {
  refreshAtMs: number;
}

/** Reads a shared token; one without `refreshAtMs` refreshes `refreshMarginMs` before expiry. */
function readHeldToken(value: unknown, refreshMarginMs: number): HeldToken | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { token, expiresAtMs, refreshAtMs } = value as Record<string, unknown>;
  const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  if (typeof token !== 'string' || token === '' || !finite(expiresAtMs)) return undefined;
  return { token, expiresAtMs, refreshAtMs: finite(refreshAtMs) ? refreshAtMs : expiresAtMs - refreshMarginMs };
}


/**
 * A token provider shared by every process on one Redis: one in-process cache, one in-flight
 * exchange per process (concurrent callers share it), and across processes one shared token
 * guarded by a lock, so a fleet of N workers exchanges the key once.
 */
export class RedisTokenProvider implements TokenProvider {
  private readonly redis: RedisClient;
  private readonly tokenKey: string;
  private readonly lockKey: string;
  private readonly exchange: TokenExchange;
  private readonly refreshMarginMs: number;
  private readonly now: () => number;
  private readonly logger: Logger;
  private readonly lockTtlMs: number;
  private readonly pollIntervalMs: number;

  private cached: HeldToken | undefined;
  /** Bumped by invalidate(): a load started before it must not serve or cache its result. */
  private generation = 0;
  private inFlight: { generation: number; promise: Promise<HeldToken> } | undefined;
  private readonly rejected: string[] = [];
  private readonly refusalMemoMs: number;
  /** The last refusal of the key and until when it is answered from memory (epoch ms). */
  private refusal: { error: FulfillmentError; untilMs: number } | undefined;

  constructor(options: RedisTokenProviderOptions) {
    this.redis = options.redis;
    const keys = projectKeys(options.keyPrefix);
    this.tokenKey = keys.token;
    this.lockKey = keys.tokenLock;
    this.exchange = options.exchange;
    this.refreshMarginMs = options.refreshMarginMs;
    this.now = options.now ?? Date.now;
    this.logger = options.logger;
    this.lockTtlMs = options.lockTtlMs ?? 15_000;
    this.pollIntervalMs = options.pollIntervalMs ?? 50;
    this.refusalMemoMs = options.refusalMemoMs ?? 1_000;
  }

  async getToken(): Promise<string> {
    const cached = this.cached;
    if (cached !== undefined && this.isFresh(cached)) return cached.token;
    // Jobs resuming after a refusal arrive one by one, each too late to share the failed exchange:
    // without this each would send the refused key again.
    if (this.refusal !== undefined && this.now() < this.refusal.untilMs) throw this.refusal.error;
    let flight = this.inFlight;
    if (flight === undefined || flight.generation !== this.generation) {
      const generation = this.generation;
      const promise = this.load(generation).finally(() => {
        if (this.inFlight?.promise === promise) this.inFlight = undefined;
      });
      flight = { generation, promise };
      this.inFlight = flight;
    }
    return (await flight.promise).token;
  }

  async invalidate(token: string): Promise<void> {
    this.rememberRejected(token);
    // Drop the shared copy before the local one: a concurrent getToken() in this process must not
    // re-read the rejected token from Redis after the cache is cleared.
    try {
      await DELETE_IF_TOKEN.run(this.redis, [this.tokenKey], [token]);
    } catch (err) {
      throw new TransientError('token store unavailable', { cause: err });
    }
    if (this.cached?.token === token) this.cached = undefined;
    this.generation += 1;
  }

  private isFresh(token: HeldToken): boolean {
    return this.now() < token.refreshAtMs && !this.rejected.includes(token.token);
  }

  /**
   * Exchange again `refreshMarginMs` before expiry, but never before half the token's life has
   * passed: with a margin longer than the lifetime every call would otherwise exchange.
   */
  private withRefreshAt(token: AccessToken): HeldToken {
    const now = this.now();
    const halfLife = now + (token.expiresAtMs - now) / 2;
    return { ...token, refreshAtMs: Math.max(token.expiresAtMs - this.refreshMarginMs, halfLife) };
  }

  private rememberRejected(token: string): void {
    if (this.rejected.includes(token)) return;
    this.rejected.push(token);
    if (this.rejected.length > REMEMBERED_REJECTIONS) this.rejected.shift();
  }

  /** Cache `token` unless invalidate() ran since the load that found it began; return it either way. */
  private cacheIfCurrent(token: HeldToken, generation: number): HeldToken {
    if (generation === this.generation) this.cached = token;
    return token;
  }

  /** Shared token if fresh; else win the lock and exchange; else wait for the winner's result. */
  private async load(generation: number): Promise<HeldToken> {
    // The lock holder may need up to lockTtlMs; waiting a little longer lets the lock expire and be taken.
    // Real time on purpose: the injected clock may be frozen in tests.
    const gaveUp = AbortSignal.timeout(this.lockTtlMs * 2);
    let waited = false;
    for (;;) {
      const shared = await this.readShared();
      if (shared !== undefined) {
        if (waited) this.logger.debug('access token received from another process');
        return this.cacheIfCurrent(shared, generation);
      }
      const lock = new OwnedKey(this.redis, this.lockKey, this.lockTtlMs);
      if (await this.tryLock(lock)) {
        try {
          // Another process may have stored a token between our read and our lock.
          const again = await this.readShared();
          if (again !== undefined) return this.cacheIfCurrent(again, generation);
          const fresh = this.withRefreshAt(await this.exchangeRememberingRefusal());
          await this.writeShared(fresh);
          this.logger.debug({ expiresInMs: fresh.expiresAtMs - this.now() }, 'access token exchanged');
          return this.cacheIfCurrent(fresh, generation);
        } finally {
          await this.releaseLock(lock);
        }
      }
      if (gaveUp.aborted) {
        throw new TransientError('timed out waiting for another process to exchange the API key');
      }
      waited = true;
      await sleep(this.pollIntervalMs);
    }
  }

  /** Exchange, remembering a refusal of the key (see refusalMemoMs). */
  private async exchangeRememberingRefusal(): Promise<AccessToken> {
    try {
      const token = await this.exchange();
      this.refusal = undefined;
      return token;
    } catch (err) {
      if (err instanceof FulfillmentError && !err.retryable) {
        this.refusal = { error: err, untilMs: this.now() + this.refusalMemoMs };
      }
      throw err;
    }
  }

  private async readShared(): Promise<HeldToken | undefined> {
    let raw: string | null;
    try {
      raw = await this.redis.get(this.tokenKey);
    } catch (err) {
      throw new TransientError('token store unavailable', { cause: err });
    }
    if (raw === null) return undefined;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      return undefined;
    }
    const held = readHeldToken(value, this.refreshMarginMs);
    return held !== undefined && this.isFresh(held) ? held : undefined;
  }

  private async writeShared(token: HeldToken): Promise<void> {
    const ttlMs = Math.floor(token.expiresAtMs - this.now());
    if (ttlMs <= 0) return;
    try {
      await this.redis.set(this.tokenKey, JSON.stringify(token), 'PX', ttlMs);
    } catch (err) {
      // The exchange succeeded; failing to share it only costs other processes an exchange.
      this.logger.warn({ err }, 'could not store the access token in Redis');
    }
  }

  private async tryLock(lock: OwnedKey): Promise<boolean> {
    try {
      return await lock.acquire();
    } catch (err) {
      throw new TransientError('token store unavailable', { cause: err });
    }
  }

  private async releaseLock(lock: OwnedKey): Promise<void> {
    try {
      await lock.release();
    } catch (err) {
      // The lock expires on its own after lockTtlMs.
      this.logger.warn({ err }, 'could not release the token exchange lock');
    }
  }
}
