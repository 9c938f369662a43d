import { setTimeout as sleep } from 'node:timers/promises';
import type { RedisClient } from '../redis/connect.js';
import { TransientError } from '../errors/errors.js';
import type { Logger } from '../logging/logger.js';
import { projectKeys, type ProjectKeys } from '../redis/keys.js';
import { LuaScript } from '../redis/lua-script.js';
import { OwnedKey } from '../redis/owned-key.js';
import { RECORD_CHARGE, RELEASE, REFRESH, RESERVE } from './balance-scripts.js';

/** How long the balance-read lock is held at most, in ms (a crashed reader frees it after this). */
const BALANCE_LOCK_TTL_MS = 5_000;
/** How long a process that did not get the lock waits before it looks at the reading again, in ms. */
const BALANCE_WAIT_STEP_MS = 25;

/** Answer of {@link BalanceGate.reserve}: reserved, the balance is short, or the spend limit is reached. */
export type ReserveOutcome = 'ok' | 'short' | 'capped';

/** A cap on what the fleet may charge within a sliding window. */
export interface SpendLimit {
  /** The most the fleet may charge within `windowMs`, major currency units (SPEND_LIMIT). */
  limit: number;
  /** Length of the sliding window, in ms (SPEND_WINDOW_MS). */
  windowMs: number;
}

/** Options of {@link BalanceGate}. */
export interface BalanceGateOptions {
  redis: RedisClient;
  /** Prefix of the fleet-wide keys: QUEUE_PREFIX, or with QUEUE_PARTITIONS > 1 the global area's (`partitionLayout(…).global.prefix`). */
  prefix: string;
  /**
   * Reads the spendable balance from the API. Only `reserve` needs it: a process that only releases
   * (the webhook receiver) passes none.
   */
  readBalance?: () => Promise<number>;
  /** The fleet's spend limit; none when omitted. Every process of a fleet must pass the same. */
  spendLimit?: SpendLimit;
  /** How long one balance reading serves the whole fleet, in ms. */
  freshMs: number;
  logger: Logger;
  /** Clock, epoch ms (tests may pass their own). */
  now?: () => number;
  /** Called once per balance read (metrics). */
  onRead?: () => void;
}

/**
 * "Balance first", shared by the fleet: one balance read per freshness window for all processes,
 * and each order's cost reserved atomically against that reading, so no order is sent that the
 * balance is known not to cover. The API stays the authority: a reading can be a little stale,
 * and an `insufficient_balance` answer sends the order back to waiting.
 */
export class BalanceGate {
  private readonly reserveScript = new LuaScript(RESERVE);
  private readonly refreshScript = new LuaScript(REFRESH);
  private readonly releaseScript = new LuaScript(RELEASE);
  private readonly recordChargeScript = new LuaScript(RECORD_CHARGE);
  private readonly now: () => number;
  private readonly balanceKey: string;
  private readonly lockKey: string;
  /** balance, reservations, spend log, spend amounts: the keys every funds script is given. */
  private readonly keys: readonly string[];

  constructor(private readonly options: BalanceGateOptions) {
    this.now = options.now ?? Date.now;
    const keys = projectKeys(options.prefix);
    this.balanceKey = keys.balance;
    this.lockKey = keys.balanceLock;
    this.keys = fundsScriptKeys(keys);
  }

  /**
   * Reserve `cost` (major units; null = unknown, then only a positive balance is required) for
   * this merchant_order_id, against the balance and the spend limit. Idempotent per id.
   */
  async reserve(merchantOrderId: string, cost: number | null): Promise<ReserveOutcome> {
    const { spendLimit } = this.options;
    const run = async (freshMs: number): Promise<string> =>
      (await this.reserveScript.run(this.options.redis, this.keys, [
        merchantOrderId,
        cost ?? -1,
        this.now(),
        freshMs,
        spendLimit?.limit ?? -1,
        spendLimit?.windowMs ?? 0,
      ])) as string;
    for (let i = 0; i < 40; i++) {
      const outcome = await run(this.options.freshMs);
      if (outcome === 'ok' || outcome === 'short' || outcome === 'capped') return outcome;
      await this.refresh();
    }
    // No fresh reading could be had (another process's read is slow, or freshMs is far too small).
    // Reserve against the last reading there is, so the spend limit is still checked and counted;
    // with no reading at all, nothing is sent (the order backs off like any failed call).
    const outcome = await run(-1);
    if (outcome === 'ok' || outcome === 'short' || outcome === 'capped') return outcome;
    throw new TransientError('balance: no reading of the balance could be had to reserve against');
  }

  /**
   * Give back what is held for this merchant_order_id: of the balance reservation and of what counts
   * against the spend limit, each 'all' (nothing was charged) or an amount (a refund; 0 keeps the charge).
   */
  async release(merchantOrderId: string, balance: number | 'all', spend: number | 'all'): Promise<void> {
    await this.releaseScript.run(this.options.redis, this.keys, [merchantOrderId, balance === 'all' ? -1 : balance, spend === 'all' ? -1 : spend]);
  }

  /** The API charged `amount` for this merchant_order_id, not the reserved cost: count what it charged. */
  async recordCharge(merchantOrderId: string, amount: number): Promise<void> {
    await this.recordChargeScript.run(this.options.redis, this.keys, [merchantOrderId, amount]);
  }

  /** Forget the current reading (the API said the balance is short, or funds may have arrived). */
  async invalidate(): Promise<void> {
    await this.options.redis.hset(this.balanceKey, 'readAtMs', 0);
  }

  /** One process reads the balance for the fleet; the others wait briefly for its reading. */
  private async refresh(): Promise<void> {
    const lock = new OwnedKey(this.options.redis, this.lockKey, BALANCE_LOCK_TTL_MS);
    if (!(await lock.acquire())) {
      await sleep(BALANCE_WAIT_STEP_MS);
      return;
    }
    try {
      const { readBalance } = this.options;
      if (readBalance === undefined) throw new Error('this BalanceGate was built without readBalance, so it cannot reserve');
      this.options.onRead?.();
      const balance = await readBalance();
      await this.refreshScript.run(this.options.redis, [this.balanceKey], [balance, this.now()]);
      this.options.logger.debug({ balance }, 'balance read for the fleet');
    } finally {
      // Release only our own lock (compare-and-delete) so a slow read never frees someone else's.
      await lock.release();
    }
  }
}

/**
 * The keys every funds script (RESERVE, RELEASE, RECORD_CHARGE) is given, in order: balance,
 * reservations, spend log, spend amounts. All fleet-wide: with partitions, all in the global area.
 */
export function fundsScriptKeys(keys: ProjectKeys): string[] {
  return [keys.balance, keys.reservations, keys.spendLog, keys.spendAmounts];
}
