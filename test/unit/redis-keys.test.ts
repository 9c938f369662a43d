import { describe, expect, it } from 'vitest';
import { bullmqKey, projectKeys } from '../../src/redis/keys.js';

// These names are stored data: records, tombstones and locks written by a running fleet. A change
// here breaks every deployment that upgrades with data in Redis, so it must be a deliberate migration.
describe('Redis key names', () => {
  it('are exactly the ones every release so far has written', () => {
    const keys = projectKeys('bull');
    expect({
      order: keys.order('mo-42'),
      tombstone: keys.tombstone('mo-42'),
      legacyTombstones: keys.legacyTombstones,
      unmatchedEvents: keys.unmatchedEvents,
      legacyUnmatchedEvents: keys.legacyUnmatchedEvents,
      conflictingEvents: keys.conflictingEvents,
      eventWithoutMerchantOrderId: keys.eventWithoutMerchantOrderId('ord-7'),
      legacyEventsWithoutMerchantOrderId: keys.legacyEventsWithoutMerchantOrderId,
      balance: keys.balance,
      reservations: keys.reservations,
      spendLog: keys.spendLog,
      spendAmounts: keys.spendAmounts,
      balanceLock: keys.balanceLock,
      token: keys.token,
      tokenLock: keys.tokenLock,
      webhookAlive: keys.webhookAlive,
      keyRefused: keys.keyRefused,
      fundsWaiting: keys.fundsWaiting,
      reminders: keys.reminders,
    }).toEqual({
      order: 'bull:vf:order:mo-42',
      tombstone: 'bull:vf:done:mo-42',
      legacyTombstones: 'bull:vf:done',
      unmatchedEvents: 'bull:vf:unmatched-events-by-time',
      legacyUnmatchedEvents: 'bull:vf:unmatched-events',
      conflictingEvents: 'bull:vf:conflicting-events',
      eventWithoutMerchantOrderId: 'bull:vf:event-without-merchant-order-id:ord-7',
      legacyEventsWithoutMerchantOrderId: 'bull:vf:events-without-merchant-order-id',
      balance: 'bull:vf:balance',
      reservations: 'bull:vf:reservations',
      spendLog: 'bull:vf:spend:log',
      spendAmounts: 'bull:vf:spend:amounts',
      balanceLock: 'bull:vf:balance:lock',
      token: 'bull:vf:token',
      tokenLock: 'bull:vf:token:lock',
      webhookAlive: 'bull:vf:webhook:alive',
      keyRefused: 'bull:vf:fleet:key-refused',
      fundsWaiting: 'bull:vf:funds:waiting',
      reminders: 'bull:vf:reminders',
    });
  });

  it('pins every key the module builds (a new key gets a line above)', () => {
    expect(Object.keys(projectKeys('p')).sort()).toEqual(
      [
        'balance',
        'balanceLock',
        'conflictingEvents',
        'eventWithoutMerchantOrderId',
        'legacyEventsWithoutMerchantOrderId',
        'legacyTombstones',
        'legacyUnmatchedEvents',
        'order',
        'reservations',
        'spendAmounts',
        'spendLog',
        'token',
        'tokenLock',
        'tombstone',
        'unmatchedEvents',
        'webhookAlive',
        'keyRefused',
        'fundsWaiting',
        'reminders',
      ].sort(),
    );
  });

  it('puts each prefix in its own namespace, merchant_order_ids taken verbatim', () => {
    expect(projectKeys('fleet-1a2b').order('a:b c')).toBe('fleet-1a2b:vf:order:a:b c');
    expect(projectKeys('other').tombstone('a:b c')).toBe('other:vf:done:a:b c');
  });

  it("spells BullMQ's own keys as BullMQ does", () => {
    expect(bullmqKey('bull', 'order-intents', 'intent-mo-42')).toBe('bull:order-intents:intent-mo-42');
    expect(bullmqKey('bull', 'order-results', 'events')).toBe('bull:order-results:events');
  });
});
