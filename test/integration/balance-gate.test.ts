import { afterAll, describe, expect, it } from 'vitest';
import { BalanceGate, type SpendLimit } from '../../src/balance/balance-gate.js';
import { hasCode } from '../../src/errors/errors.js';
import { createLogger } from '../../src/logging/logger.js';
import { projectKeys } from '../../src/redis/keys.js';
import { connectRedis, deleteKeys, uniquePrefix } from '../support/redis.js';

const logger = createLogger({ level: 'silent' });
const redis = connectRedis();
const prefixes: string[] = [];
afterAll(async () => {
  for (const prefix of prefixes) await deleteKeys(redis, prefix);
  await redis.quit();
});

/** A gate on a fresh prefix with a clock the test moves; `balance` is what every read answers. */
function gate(options: { balance?: number; spendLimit?: SpendLimit; readBalance?: () => Promise<number> } = {}) {
  const prefix = uniquePrefix('gate');
  prefixes.push(prefix);
  const clock = { ms: 1_000_000 };
  const g = new BalanceGate({
    redis,
    prefix,
    readBalance: options.readBalance ?? (() => Promise.resolve(options.balance ?? 1_000)),
    freshMs: 1_000,
    logger,
    now: () => clock.ms,
    ...(options.spendLimit === undefined ? {} : { spendLimit: options.spendLimit }),
  });
  return { gate: g, clock, keys: projectKeys(prefix) };
}

describe('the spend limit', () => {
  it('still checks and counts the limit when no fresh balance reading can be had', async () => {
    const { gate: g, clock, keys } = gate({ spendLimit: { limit: 100, windowMs: 60_000 } });
    expect(await g.reserve('a', 10)).toBe('ok');
    // The reading goes stale and another process holds the read lock for longer than the gate waits.
    clock.ms += 5_000;
    await redis.set(keys.balanceLock, 'someone-else', 'PX', 60_000);
    expect(await g.reserve('b', 60)).toBe('ok');
    expect(await g.reserve('c', 60)).toBe('capped');
    expect(Number(await redis.hget(keys.balance, 'windowSpent'))).toBe(70);
    await redis.del(keys.balanceLock);
  });

  it('sends nothing when there is no balance reading at all to reserve against', async () => {
    const { gate: g, keys } = gate({ spendLimit: { limit: 100, windowMs: 60_000 } });
    await redis.set(keys.balanceLock, 'someone-else', 'PX', 60_000);
    const failure = await g.reserve('a', 10).catch((err: unknown) => err);
    expect(hasCode(failure, 'transient')).toBe(true);
    expect(await redis.hlen(keys.reservations)).toBe(0);
    await redis.del(keys.balanceLock);
  });

  it('keeps an order counted past the window while it still holds its reservation (it may not be sent yet)', async () => {
    const { gate: g, clock } = gate({ spendLimit: { limit: 100, windowMs: 60_000 } });
    expect(await g.reserve('slow', 60)).toBe('ok');
    clock.ms += 120_000;
    expect(await g.reserve('next', 60)).toBe('capped');
    // Once its result gives the reservation back (charged, no refund), it leaves with the window.
    await g.release('slow', 0, 0);
    clock.ms += 120_000;
    expect(await g.reserve('next', 60)).toBe('ok');
  });

  it('gives back a release once, however often it is repeated', async () => {
    const { gate: g, keys } = gate({ spendLimit: { limit: 100, windowMs: 60_000 } });
    expect(await g.reserve('a', 60)).toBe('ok');
    await g.release('a', 20, 20);
    await g.release('a', 20, 20);
    expect(Number(await redis.hget(keys.balance, 'windowSpent'))).toBe(40);
    expect(Number(await redis.hget(keys.balance, 'spent'))).toBe(40);
  });

  it('counts what the API charged when a process without the limit records it (the receiver)', async () => {
    const { gate: worker, keys } = gate({ spendLimit: { limit: 100, windowMs: 60_000 } });
    const receiver = new BalanceGate({ redis, prefix: keys.balance.replace(/:vf:balance$/, ''), freshMs: 1_000, logger });
    expect(await worker.reserve('a', 20)).toBe('ok');
    await receiver.recordCharge('a', 90);
    expect(Number(await redis.hget(keys.balance, 'windowSpent'))).toBe(90);
    await receiver.release('a', 90, 90);
    expect(Number(await redis.hget(keys.balance, 'windowSpent'))).toBe(0);
  });
});
