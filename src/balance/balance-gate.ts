import type { Redis } from 'ioredis';
import type { Logger } from '../logging/logger.js';
import { DELETE_IF_VALUE, LuaScript } from '../redis/lua-script.js';
import { RELEASE, REFRESH, RESERVE } from './balance-scripts.js';

/** Answer of {@link BalanceGate.reserve}. */
export type ReserveOutcome = 'ok' | 'short';

/** Options of {@link BalanceGate}. */
export interface BalanceGateOptions {
  redis: Redis;
  /** Key prefix (QUEUE_PREFIX). */
  prefix: string;
  /** Reads the spendable balance from the API. */
  readBalance: () => Promise<number>;
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
  private readonly now: () => number;
  private readonly balanceKey: string;
  private readonly reservationsKey: string;
  private readonly lockKey: string;

  constructor(private readonly options: BalanceGateOptions) {
    this.now = options.now ?? Date.now;
    this.balanceKey = `${options.prefix}:vf:balance`;
    this.reservationsKey = `${options.prefix}:vf:reservations`;
    this.lockKey = `${options.prefix}:vf:balance:lock`;
  }

  /**
   * Reserve `cost` (major units; null = unknown, then only a positive balance is required) for
   * this merchant_order_id. Idempotent per id.
   */
  async reserve(merchantOrderId: string, cost: number | null): Promise<ReserveOutcome> {
    for (let i = 0; i < 40; i++) {
      const outcome = (await this.reserveScript.run(this.options.redis, [this.balanceKey, this.reservationsKey], [
        merchantOrderId,
        cost ?? -1,
        this.now(),
        this.options.freshMs,
      ])) as string;
      if (outcome === 'ok' || outcome === 'short') return outcome;
      await this.refresh();
    }
    // The reading keeps going stale faster than we can use it (freshMs far too small): let the API decide.
    return 'ok';
  }

  /** Give a reservation back: all of it (order never placed) or `amount` (a refund). */
  async release(merchantOrderId: string, amount?: number): Promise<void> {
    await this.releaseScript.run(this.options.redis, [this.balanceKey, this.reservationsKey], [merchantOrderId, amount ?? -1]);
  }

  /** Forget the current reading (the API said the balance is short, or funds may have arrived). */
  async invalidate(): Promise<void> {
    await this.options.redis.hset(this.balanceKey, 'readAtMs', 0);
  }

  /** One process reads the balance for the fleet; the others wait briefly for its reading. */
  private async refresh(): Promise<void> {
    const token = `${process.pid}-${this.now()}-${Math.random()}`;
    const locked = await this.options.redis.set(this.lockKey, token, 'PX', 5_000, 'NX');
    if (locked === null) {
      await new Promise((r) => setTimeout(r, 25));
      return;
    }
    try {
      this.options.onRead?.();
      const balance = await this.options.readBalance();
      await this.refreshScript.run(this.options.redis, [this.balanceKey], [balance, this.now()]);
      this.options.logger.debug({ balance }, 'balance read for the fleet');
    } finally {
      // Release only our own lock (compare-and-delete) so a slow read never frees someone else's.
      await DELETE_IF_VALUE.run(this.options.redis, [this.lockKey], [token]);
    }
  }
}
