import { createRequire } from 'node:module';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { fundsScriptKeys } from '../../src/balance/balance-gate.js';
import { OrderLedger } from '../../src/ledger/order-ledger.js';
import { partitionPrefixes } from '../../src/queue/consume-results.js';
import { intentsQueueFor } from '../../src/queue/enqueue-order.js';
import { projectKeys } from '../../src/redis/keys.js';
import { partitionLayout, partitionOf } from '../../src/redis/partitions.js';
import { concurrencyPerPartition } from '../../src/worker/partition-concurrency.js';

// The slot function Redis Cluster uses (CRC16 of the hash tag), as ioredis computes it.
const slotOf = createRequire(import.meta.url)('cluster-key-slot') as (key: string) => number;

// Never connected: scriptKeys only computes names.
const ledgerOf = (partitions: number): OrderLedger =>
  new OrderLedger({ redis: {} as Redis, prefix: 'bull', partitions, retentionSeconds: 60, tombstoneTtlSeconds: 60, unmatchedEventTtlSeconds: 60 });

describe('the routing function', () => {
  it('is zlib CRC-32 of the UTF-8 merchant_order_id, modulo the partition count', () => {
    // The contract's test vector: crc32("hx-1") = 4106249165.
    expect(partitionOf('hx-1', 2 ** 32)).toBe(4106249165);
    expect(partitionOf('hx-1', 4)).toBe(4106249165 % 4);
    expect(partitionOf('hx-1', 7)).toBe(4106249165 % 7);
  });

  it('hashes the UTF-8 bytes, not UTF-16 code units', () => {
    // crc32 of the two UTF-8 bytes of "é" (0xc3 0xa9), as Python's binascii.crc32(b"\xc3\xa9").
    expect(partitionOf('é', 2 ** 32)).toBe(0x0e048d3e);
  });

  it('sends everything to partition 0 with one partition', () => {
    expect(partitionOf('hx-1', 1)).toBe(0);
  });

  it('spreads ids over every partition', () => {
    const seen = new Set(Array.from({ length: 400 }, (_, i) => partitionOf(`mo-${i}`, 4)));
    expect([...seen].sort()).toEqual([0, 1, 2, 3]);
  });
});

describe('the partition layout', () => {
  it('with one partition, keeps every name exactly as before', () => {
    const layout = partitionLayout('bull', 1);
    expect(layout.partitions.map((p) => p.prefix)).toEqual(['bull']);
    expect(layout.global.prefix).toBe('bull');
    expect(layout.forOrder('mo-42').keys.order('mo-42')).toBe(projectKeys('bull').order('mo-42'));
    expect(ledgerOf(1).scriptKeys('mo-42').save).toEqual(['bull:vf:order:mo-42', 'bull:vf:done:mo-42', 'bull:vf:funds:waiting', 'bull:vf:reminders']);
  });

  it('with four, gives each partition and the fleet-wide keys a hash-tagged prefix', () => {
    const layout = partitionLayout('bull', 4);
    expect(layout.partitions.map((p) => p.prefix)).toEqual(['{bull-0}', '{bull-1}', '{bull-2}', '{bull-3}']);
    expect(layout.global.prefix).toBe('{bull-global}');
    const p = 4106249165 % 4;
    expect(layout.forOrder('hx-1').index).toBe(p);
    expect(ledgerOf(4).scriptKeys('hx-1')).toEqual({
      claim: [`{bull-${p}}:vf:order:hx-1`, `{bull-${p}}:vf:done:hx-1`, `{bull-${p}}:vf:unmatched-events-by-time`, `{bull-${p}}:vf:done`],
      load: [`{bull-${p}}:vf:order:hx-1`],
      save: [`{bull-${p}}:vf:order:hx-1`, `{bull-${p}}:vf:done:hx-1`, `{bull-${p}}:vf:funds:waiting`, `{bull-${p}}:vf:reminders`],
      recordEvent: [`{bull-${p}}:vf:order:hx-1`, `{bull-${p}}:vf:unmatched-events-by-time`, `{bull-${p}}:vf:conflicting-events`],
      view: [`{bull-${p}}:vf:order:hx-1`, `{bull-${p}}:vf:done:hx-1`, `{bull-${p}}:vf:done`],
    });
    expect(layout.global.keys.balance).toBe('{bull-global}:vf:balance');
  });

  it('refuses a partition count below one', () => {
    expect(() => partitionLayout('bull', 0)).toThrow(RangeError);
  });
});

describe('when the keys are partitioned', () => {
  const ids = ['hx-1', 'mo-42', 'a:b c', '{x}', 'é-1', ...Array.from({ length: 50 }, (_, i) => `order-${i}`)];

  it("puts every key of each per-order script in one hash slot, the order's partition's", () => {
    const ledger = ledgerOf(4);
    const layout = partitionLayout('bull', 4);
    for (const id of ids) {
      const partitionSlot = slotOf(`${layout.forOrder(id).prefix}:order-intents:x`);
      for (const [script, keys] of Object.entries(ledger.scriptKeys(id))) {
        expect({ id, script, slots: [...new Set(keys.map(slotOf))] }).toEqual({ id, script, slots: [partitionSlot] });
      }
    }
  });

  it('puts the funds scripts, the token, locks and fleet marks in the one global slot', () => {
    const keys = partitionLayout('bull', 4).global.keys;
    const fleetWide = [...fundsScriptKeys(keys), keys.balanceLock, keys.token, keys.tokenLock, keys.webhookAlive, keys.keyRefused, keys.eventWithoutMerchantOrderId('ord-1')];
    expect(new Set(fleetWide.map(slotOf)).size).toBe(1);
  });
});

describe('when a producer passes one order-intents queue per partition', () => {
  it('adds each intent to the queue of its partition, in partition order', () => {
    // Stand-ins carrying only their position: intentsQueueFor picks, it never calls them.
    const queues = [0, 1, 2, 3].map((index) => ({ index }) as unknown as Queue);
    expect(intentsQueueFor(queues, 'hx-1')).toBe(queues[4106249165 % 4]);
    for (const id of ['mo-1', 'mo-2', 'a:b c']) expect(intentsQueueFor(queues, id)).toBe(queues[partitionOf(id, 4)]);
  });

  it('names the prefixes to open them under, as the layout does', () => {
    expect(partitionPrefixes('shop', 1)).toEqual(['shop']);
    expect(partitionPrefixes('shop', 3)).toEqual(['{shop-0}', '{shop-1}', '{shop-2}']);
  });
});

describe("a worker process's concurrency per partition", () => {
  it('is WORKER_CONCURRENCY with one partition, its share rounded up with more, never below one', () => {
    expect(concurrencyPerPartition(32, 1)).toBe(32);
    expect(concurrencyPerPartition(32, 4)).toBe(8);
    expect(concurrencyPerPartition(10, 4)).toBe(3);
    expect(concurrencyPerPartition(2, 8)).toBe(1);
  });
});
