import { afterAll, describe, expect, it } from 'vitest';
import { OrderLedger } from '../../src/ledger/order-ledger.js';
import { initialState } from '../../src/lifecycle/order-machine.js';
import { projectKeys } from '../../src/redis/keys.js';
import { apiOrder, driveLedger } from '../support/lifecycle.js';
import { connectRedis, deleteKeys, uniquePrefix } from '../support/redis.js';

const redis = connectRedis();
const prefix = uniquePrefix('ledger');
const RETENTION_S = 600;
const TOMBSTONE_S = 1_200;
const UNMATCHED_S = 300;
const ledger = new OrderLedger({ redis, prefix, retentionSeconds: RETENTION_S, tombstoneTtlSeconds: TOMBSTONE_S, unmatchedEventTtlSeconds: UNMATCHED_S });
const keys = projectKeys(prefix);
afterAll(async () => {
  await deleteKeys(redis, prefix);
  await redis.quit();
});

const placing = (mid: string) =>
  driveLedger(ledger, { merchantOrderId: mid, itemId: 4090, quantity: 2 }, [
    { type: 'job_started', atMs: Date.now(), check: { kind: 'unpriced' } },
    { type: 'funds_reserved', atMs: Date.now(), cost: null },
  ]);

describe('storing a webhook event', () => {
  it('moves the record on, so a writer that loaded it before cannot decide over the event unseen', async () => {
    await placing('le-1');
    const before = await ledger.load('le-1');
    if (before === null) throw new Error('no record');
    const stored = await ledger.recordEvent('le-1', apiOrder('le-1', 'ord-1', 'completed'));
    expect(stored.outcome).toBe('stored');
    expect(stored.record?.version).toBe(before.version + 1);
    // The stale writer's compare-and-set fails; reloading shows it the event.
    expect(await ledger.save('le-1', before.version, { ...before.state, phase: 'ambiguous' }, before.owner)).toBeNull();
    expect((await ledger.load('le-1'))?.webhookOrder?.id).toBe('ord-1');
  });

  it('recognises a redelivery of an event stored by an older fleet (no eventOrderId field)', async () => {
    await placing('le-2');
    const key = projectKeys(prefix).order('le-2');
    await redis.hset(key, 'event', JSON.stringify(apiOrder('le-2', 'ord-2', 'completed')), 'eventTerminal', '1');
    expect((await ledger.recordEvent('le-2', apiOrder('le-2', 'ord-2', 'completed'))).outcome).toBe('duplicate');
    expect(await redis.llen(projectKeys(prefix).conflictingEvents)).toBe(0);
  });
});

const finished = (mid: string) =>
  driveLedger(ledger, { merchantOrderId: mid, itemId: 4090, quantity: 2 }, [
    { type: 'job_started', atMs: Date.now(), check: { kind: 'invalid', code: 'invalid_intent', message: 'quantity: expected 1-10' } },
  ]);

const claimAgain = (mid: string) => ledger.claim(mid, `job-again-${mid}`, initialState({ merchantOrderId: mid, itemId: 4090, quantity: 2 }, Date.now()));

/** A TTL Redis set for `key`, in seconds, checked to be within (0, max]. */
async function ttlWithin(key: string, max: number): Promise<number> {
  const ttl = await redis.ttl(key);
  expect(ttl, key).toBeGreaterThan(0);
  expect(ttl, key).toBeLessThanOrEqual(max);
  return ttl;
}

describe('when an order finishes', () => {
  it('writes its tombstone as a key of its own, expiring after TOMBSTONE_TTL_SECONDS, and the record after RETENTION_SECONDS', async () => {
    const state = await finished('tb-1');
    expect(state.phase).toBe('done');
    expect(await redis.get(keys.tombstone('tb-1'))).toBe('rejected');
    expect(await ttlWithin(keys.tombstone('tb-1'), TOMBSTONE_S)).toBeGreaterThan(RETENTION_S);
    await ttlWithin(keys.order('tb-1'), RETENTION_S);
    expect(await redis.hexists(keys.legacyTombstones, 'tb-1')).toBe(0);
  });

  it('gives a duplicate intent within the horizon no second run, also once the record expired', async () => {
    await finished('tb-2');
    expect(await claimAgain('tb-2')).toEqual({ kind: 'duplicate', owner: 'job-tb-2' });
    await redis.del(keys.order('tb-2'));
    expect(await claimAgain('tb-2')).toEqual({ kind: 'finished', status: 'rejected' });
    expect(await redis.exists(keys.order('tb-2'))).toBe(0);
    expect((await ledger.view('tb-2')).finishedStatus).toBe('rejected');
  });
});

describe('when an id was finished by an older release (tombstone in the legacy hash)', () => {
  it('is still recognised as finished by a claim and by the status view, and the hash is left as it was', async () => {
    await redis.hset(keys.legacyTombstones, 'tb-old', 'completed');
    expect(await claimAgain('tb-old')).toEqual({ kind: 'finished', status: 'completed' });
    expect(await redis.exists(keys.order('tb-old'))).toBe(0);
    expect(await ledger.view('tb-old')).toEqual({ state: null, owner: '', webhookOrder: null, finishedStatus: 'completed' });
    expect(await redis.hgetall(keys.legacyTombstones)).toEqual({ 'tb-old': 'completed' });
    expect(await redis.ttl(keys.legacyTombstones)).toBe(-1);
  });
});

describe('when a webhook event arrives for an id no intent claimed', () => {
  it('keeps the event and its index entry no longer than UNMATCHED_EVENT_TTL_SECONDS', async () => {
    const stored = await ledger.recordEvent('um-1', apiOrder('um-1', 'ord-um-1', 'completed'));
    expect(stored).toMatchObject({ outcome: 'stored', known: false });
    await ttlWithin(keys.order('um-1'), UNMATCHED_S);
    await ttlWithin(keys.unmatchedEvents, UNMATCHED_S);
    const score = Number(await redis.zscore(keys.unmatchedEvents, 'um-1'));
    expect(Math.abs(score - Date.now())).toBeLessThan(60_000);
  });

  it('prunes index entries older than the TTL when it adds one', async () => {
    const old = Date.now() - UNMATCHED_S * 1000 - 5_000;
    await redis.zadd(keys.unmatchedEvents, old, 'um-stale');
    await ledger.recordEvent('um-2', apiOrder('um-2', 'ord-um-2', 'failed'));
    expect(await redis.zscore(keys.unmatchedEvents, 'um-stale')).toBeNull();
    expect(await redis.zscore(keys.unmatchedEvents, 'um-2')).not.toBeNull();
  });

  it('a later claim makes the record permanent until its result and drops it from the index', async () => {
    await ledger.recordEvent('um-3', apiOrder('um-3', 'ord-um-3', 'completed'));
    expect((await claimAgain('um-3')).kind).toBe('claimed');
    expect(await redis.ttl(keys.order('um-3'))).toBe(-1);
    expect(await redis.zscore(keys.unmatchedEvents, 'um-3')).toBeNull();
  });
});

describe('when a webhook event carries no merchant_order_id', () => {
  it('stores the raw event under its order id for UNMATCHED_EVENT_TTL_SECONDS, a redelivery as a duplicate', async () => {
    const raw = JSON.stringify({ order_id: 'ord-nomid', status: 'completed', codes: ['CODE-1'] });
    expect(await ledger.recordEventWithoutMerchantOrderId('ord-nomid', raw)).toBe('stored');
    expect(await redis.get(keys.eventWithoutMerchantOrderId('ord-nomid'))).toBe(raw);
    await ttlWithin(keys.eventWithoutMerchantOrderId('ord-nomid'), UNMATCHED_S);
    expect(await ledger.recordEventWithoutMerchantOrderId('ord-nomid', raw)).toBe('duplicate');
    await ttlWithin(keys.eventWithoutMerchantOrderId('ord-nomid'), UNMATCHED_S);
    expect(await redis.exists(keys.legacyEventsWithoutMerchantOrderId)).toBe(0);
  });
});

describe('the retention of a done order', () => {
  it('starts when the order becomes done, is not restarted by recording the emission, and is by a change of its resolution', async () => {
    await finished('le-ret');
    const record = await ledger.load('le-ret');
    if (record === null) throw new Error('no record');
    const key = keys.order('le-ret');
    const tombstone = keys.tombstone('le-ret');
    await ttlWithin(key, RETENTION_S);
    // Time passes (shortened here); the emission is recorded: no new retention.
    await redis.expire(key, 50);
    await redis.expire(tombstone, 50);
    const emitted = await ledger.save('le-ret', record.version, { ...record.state, emitted: true }, record.owner, record.state);
    if (emitted === null) throw new Error('save lost');
    expect(await redis.ttl(key)).toBeLessThanOrEqual(50);
    // An operator's resolution request moves the resolution: the record (and tombstone) are kept again.
    const requested = { ...emitted.state, resolution: { kind: 'requested' as const, orderId: 'ord-x', requestedAtMs: Date.now(), failures: 0 } };
    expect(await ledger.save('le-ret', emitted.version, requested, record.owner, emitted.state)).not.toBeNull();
    expect(await redis.ttl(key)).toBeGreaterThan(50);
    expect(await redis.ttl(tombstone)).toBeGreaterThan(50);
  });
});
