import { afterAll, describe, expect, it } from 'vitest';
import { OrderLedger } from '../../src/ledger/order-ledger.js';
import { projectKeys } from '../../src/redis/keys.js';
import { apiOrder, driveLedger } from '../support/lifecycle.js';
import { connectRedis, deleteKeys, uniquePrefix } from '../support/redis.js';

const redis = connectRedis();
const prefix = uniquePrefix('ledger');
const ledger = new OrderLedger({ redis, prefix, retentionSeconds: 600 });
afterAll(async () => {
  await deleteKeys(redis, prefix);
  await redis.quit();
});

const placing = (mid: string) =>
  driveLedger(ledger, { merchantOrderId: mid, itemId: 4090, quantity: 2 }, [
    { type: 'job_started', atMs: Date.now(), check: { kind: 'unpriced' } },
    { type: 'funds_reserved', atMs: Date.now() },
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
