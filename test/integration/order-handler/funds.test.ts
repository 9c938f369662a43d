import { afterEach, describe, expect, it } from 'vitest';
import { projectKeys } from '../../../src/redis/keys.js';
import { defaultSandboxCatalog } from '../../../src/sandbox/sandbox-server.js';
import type { LocalSandbox } from '../../../src/sandbox/sandbox-types.js';
import { Resources, startHandlerKit, startTestSandbox, type HandlerKit, type HandlerKitOptions } from './handler-kit.js';

/** reserve_funds, funds_short, release_funds and invalidate_balance, with 4090 × 2 costing 18. */

const resources = new Resources();
afterEach(() => resources.close());

async function setup(initialBalance: number, kitOptions: Partial<HandlerKitOptions> = {}): Promise<{ sandbox: LocalSandbox; kit: HandlerKit }> {
  const sandbox = resources.add(await startTestSandbox({ initialBalance }));
  const kit = resources.add(await startHandlerKit({ apiUrl: sandbox.url, catalog: defaultSandboxCatalog(), ...kitOptions }));
  return { sandbox, kit };
}

const intent = (mid: string) => ({ merchant_order_id: mid, item_id: 4090, quantity: 2 });
const ordersOf = (sandbox: LocalSandbox, mid: string) => sandbox.orders().filter((o) => o.merchantOrderId === mid);

describe('reserve_funds when the balance is short (funds_short)', () => {
  it('parks the order in waiting_funds without sending anything, then places it once a top-up arrives', async () => {
    const { sandbox, kit } = await setup(10);
    await kit.enqueue(intent('fs-1'));

    await kit.parked('fs-1');
    expect(await kit.state('fs-1')).toMatchObject({ phase: 'waiting_funds', fundsLimit: 'balance', attempts: 0, cost: 18 });
    expect(sandbox.stats().calls.create).toBe(0);
    expect(await kit.reservations()).toEqual({});
    expect(await kit.counter('voodoo_funds_short_total', { limit: 'balance' })).toBe(1);
    expect(await kit.allResults()).toEqual([]);
    // The fleet sees it waiting (voodoo_intents_waiting_for_funds reads this set when scraped).
    const fundsWaiting = () => kit.redis.zrange(projectKeys(kit.prefix).fundsWaiting, 0, -1);
    expect(await fundsWaiting()).toEqual(['fs-1']);

    sandbox.topUp(100);
    // The recheck is due a second later; the balance reading is stale by then.
    kit.clock.advance(1_000);
    await kit.promote('fs-1');

    const placed = await kit.waitForState('fs-1', (s) => s.phase === 'placed' || s.phase === 'done');
    expect(placed).toMatchObject({ attempts: 1, fundsWaitSinceMs: expect.any(Number) as unknown });
    // It left the set with the state write that ended its wait.
    expect(await fundsWaiting()).toEqual([]);
    const result = await kit.pollUntilResult('fs-1');
    expect(result).toMatchObject({ status: 'completed', price: 18 });
    expect(ordersOf(sandbox, 'fs-1')).toHaveLength(1);
    expect(await kit.reservations()).toEqual({});
  });

  it('rejects the order as insufficient_balance once BALANCE_WAIT_MAX_MS has passed, having sent nothing', async () => {
    const { sandbox, kit } = await setup(10);
    await kit.enqueue(intent('fs-2'));
    await kit.parked('fs-2');
    expect((await kit.state('fs-2'))?.phase).toBe('waiting_funds');

    kit.clock.advance(kit.policy.balanceWaitMaxMs);
    await kit.promote('fs-2');

    const result = await kit.result('fs-2');
    expect(result).toMatchObject({ status: 'rejected', error: 'insufficient_balance', order_id: null, source: 'worker' });
    expect(result.error_message).toContain('BALANCE_WAIT_MAX_MS');
    expect(sandbox.stats().calls.create).toBe(0);
    expect(await kit.state('fs-2')).toMatchObject({ phase: 'done', emitted: true });
    expect(await kit.redis.zcard(projectKeys(kit.prefix).fundsWaiting)).toBe(0);
    expect(await kit.reservations()).toEqual({});
  });
});

describe('release_funds and invalidate_balance when the create answers insufficient_balance', () => {
  it('gives the reservation back, forgets the stale balance reading and waits for funds; a top-up then places it', async () => {
    // A long BALANCE_CACHE_MS: the fleet keeps using the reading it took while the balance was 100.
    const { sandbox, kit } = await setup(100, { balanceCacheMs: 10 * 60_000 });
    await kit.enqueue(intent('ib-first'));
    await kit.parked('ib-first');
    expect((await kit.balanceReading()).value).toBe('100');

    // The balance drops behind the fleet's back (another system spent it).
    sandbox.setBalance(5);
    await kit.enqueue(intent('ib-1'));
    const waiting = await kit.waitForState('ib-1', 'waiting_funds');

    // The gate let it through on the stale reading; the API said no and charged nothing.
    expect(waiting).toMatchObject({ attempts: 1, fundsLimit: 'balance', maybeLanded: false, orderId: null });
    expect(sandbox.stats().calls.create).toBe(2);
    expect(ordersOf(sandbox, 'ib-1')).toEqual([]);
    // release_funds: ib-1's reservation is gone (ib-first's is still held); invalidate_balance: readAtMs 0.
    expect(Object.keys(await kit.reservations())).toEqual(['ib-first']);
    expect((await kit.balanceReading()).readAtMs).toBe('0');
    await kit.parked('ib-1');
    expect(await kit.allResults()).toEqual([]);
    // Sent back to waiting by the API's answer, it is counted as waiting like any other.
    expect(await kit.redis.zrange(projectKeys(kit.prefix).fundsWaiting, 0, -1)).toEqual(['ib-1']);

    sandbox.topUp(100);
    kit.clock.advance(1_000);
    await kit.promote('ib-1');
    expect(await kit.pollUntilResult('ib-1')).toMatchObject({ status: 'completed', price: 18 });
    expect(ordersOf(sandbox, 'ib-1')).toHaveLength(1);
  });
});
